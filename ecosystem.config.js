// PM2 process file for production: `pm2 start ecosystem.config.js`.
// One process: this relay's endpoints live in one process's memory, so a PM2 cluster of
// several instances would split an endpoint's clients across processes that cannot see each
// other. Until the cross-process message bus lands, run one instance per host (one core
// forwards well past the spec's 500 msg/s; see docs/performance/) and scale by host.
module.exports = {
  apps: [
    {
      name: 'relay',
      script: 'dist/backend/src/main.js',
      instances: 1,
      exec_mode: 'fork',
      // Heap headroom for 500+ sockets and batching queues; PM2 restarts the process past it.
      node_args: '--max-old-space-size=1024',
      max_memory_restart: '1200M',
      kill_timeout: 12000, // above SHUTDOWN_TIMEOUT_MS so pending stats are flushed
      env: {
        NODE_ENV: 'production',
        PORT: 8080,
        STATS_MODE: 'batched',
        LOG_LEVEL: 'info',
      },
    },
  ],
};
