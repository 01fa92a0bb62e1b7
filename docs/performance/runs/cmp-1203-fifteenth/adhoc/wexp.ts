// Run from the repository root after bundling the driver:
//   node -e "require('./node_modules/.pnpm/esbuild@0.28.2/node_modules/esbuild').buildSync({entryPoints:['scripts/plain-ws-driver.ts'],outfile:'/tmp/wexp/driver.js',bundle:true,platform:'node',format:'cjs'})"
//   cp docs/performance/runs/cmp-1203-fifteenth/adhoc/drv-worker.mjs /tmp/wexp/ && npx tsx docs/performance/runs/cmp-1203-fifteenth/adhoc/wexp.ts
// (as run on 2026-12-03 05:06-05:11 from the repository root; output in ../worker-thread-driver.txt)
import { spawnSync } from 'node:child_process';
import { spawnRelay } from '../../../../../runner/relay-process';
async function main() {
  const relay = await spawnRelay({ repoRoot: process.cwd(), entry: 'dist/backend/src/main.js', statsMode: 'batched', logFile: '/tmp/wexp/relay.log' });
  try {
    for (let rep = 1; rep <= 3; rep++) {
      for (const mode of rep % 2 ? ['main', 'worker'] : ['worker', 'main']) {
        const args = mode === 'main' ? ['/tmp/wexp/driver.js'] : ['/tmp/wexp/drv-worker.mjs'];
        const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args, '--target', relay.target, '--api-key', relay.apiKey, '--rate', '5000', '--seconds', '20'], { encoding: 'utf8' });
        const out = r.stdout; const j = JSON.parse(out.slice(out.indexOf('{')));
        console.log(mode, rep, 'p95', j.latencyFromIntendedMs?.p95, 'cpu', j.driverCpuPct, 'time', r.stderr.trim().split('\n').pop());
      }
    }
  } finally { await relay.stop(); }
}
main();
