// PM2 process file. Two apps:
//   relay          one process (fork mode): `pm2 start ecosystem.config.js --only relay`
//   relay-cluster  RELAY_INSTANCES workers on one port (cluster mode), acting as one relay over
//                  Redis (REDIS_URL): `pnpm start:cluster` (pm2-runtime, stays in the foreground).
// Settings below fall back to the environment PM2 is started with, so one file serves every host.
const env = {
  NODE_ENV: process.env.NODE_ENV || 'production',
  PORT: process.env.PORT || 8080,
  STATS_MODE: process.env.STATS_MODE || 'batched',
  LOG_LEVEL: process.env.LOG_LEVEL || 'info',
};
const shared = {
  script: 'dist/backend/src/main.js',
  // Heap headroom for 500+ sockets and batching queues; PM2 restarts the process past it.
  node_args: '--max-old-space-size=1024',
  max_memory_restart: '1200M',
  kill_timeout: 12000, // above SHUTDOWN_TIMEOUT_MS (10 s) so pending stats are flushed
  // A worker that keeps crashing is restarted after 100 ms, 150 ms, ... up to 15 s, not in a loop.
  exp_backoff_restart_delay: 100,
};

module.exports = {
  apps: [
    { name: 'relay', ...shared, instances: 1, exec_mode: 'fork', env },
    {
      name: 'relay-cluster',
      ...shared,
      // A number, or 'max' for one per core. Each worker needs REDIS_URL: without it, clients of
      // one endpoint on different workers would not see each other's frames, so with more than one
      // instance a worker refuses to start without it (pm2Instances in backend/src/config.ts).
      instances: process.env.RELAY_INSTANCES || 'max',
      exec_mode: 'cluster',
      // Each worker sends 'ready' once migrations ran and it listens (backend/src/main.ts);
      // workers start one after another, so the first migrates and the rest find it done.
      wait_ready: true,
      // Above the 60 s a worker may wait for another's migration lock.
      listen_timeout: 70000,
      env,
    },
  ],
};
