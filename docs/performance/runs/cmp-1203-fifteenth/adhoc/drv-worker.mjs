import { Worker } from 'node:worker_threads';
const w = new Worker('/tmp/wexp/driver.js', { argv: process.argv.slice(2) });
w.on('error', (e) => { console.error(e); process.exitCode = 1; });
w.on('exit', (c) => { if (c) process.exitCode = c; });
