// Time from process start to the first `GET /health` 200, for bench/run.
//   node start-time.mjs PORT LOG_FILE COMMAND [ARGS…]      (environment passed to the child as is)
// Spawns COMMAND (its stdout and stderr appended to LOG_FILE), polls http://127.0.0.1:PORT/health
// every millisecond from an already-running process (a curl per poll would cost more than the
// resolution we want), prints the milliseconds from spawn() to the first 200, then SIGTERMs the
// child and waits for it. Exit 1 if no 200 within 10 s.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import http from 'node:http';

const [port, logFile, cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: node start-time.mjs PORT LOG_FILE COMMAND [ARGS…]');
  process.exit(2);
}
const out = openSync(logFile, 'a');
const agent = new http.Agent({ keepAlive: false });

function probe() {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/health', agent }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

const t0 = process.hrtime.bigint();
const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
let exited = false;
const done = new Promise((r) => child.on('exit', () => { exited = true; r(); }));
let ms = null;
while (!exited && process.hrtime.bigint() - t0 < 10_000_000_000n) {
  if (await probe()) {
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
    break;
  }
  await new Promise((r) => setTimeout(r, 1));
}
child.kill('SIGTERM');
const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
await done;
clearTimeout(killer);
if (ms === null) {
  console.error(`no 200 from /health within 10 s (child ${exited ? 'exited' : 'still running'}); see ${logFile}`);
  process.exit(1);
}
console.log(ms.toFixed(1));
