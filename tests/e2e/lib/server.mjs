// Start/stop the Partyline binary and collect its JSON-lines stdout.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { account, PUBLIC_BASE } from './ids.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..', '..');
export const BIN = process.env.PARTYLINE_BIN || join(REPO, 'build', 'partyline');

export const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Poll `fn` until it returns a truthy value or the deadline passes. */
export async function waitFor(fn, { timeout = 10000, interval = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

function assertBinary() {
  if (!existsSync(BIN)) throw new Error(`Partyline binary not found at ${BIN} (build it, or set PARTYLINE_BIN)`);
}

/**
 * Build the child's environment from scratch (nothing inherited but PATH).
 * mode 'prod': Twilio credentials set; mode 'local': no TWILIO_* / AWS_* at all.
 * Overrides whose value is undefined remove the variable.
 */
function buildEnv(dataDir, { local = false, env = {} } = {}) {
  const acct = account();
  const base = {
    PATH: process.env.PATH || '/usr/bin:/bin',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // production's default (127.0.0.1:9464) would collide between servers run side by side
    METRICS_LISTEN: '127.0.0.1:0',
  };
  if (!local) {
    base.TWILIO_ACCOUNT_SID = acct.accountSid;
    base.TWILIO_AUTH_TOKEN = acct.authToken;
    base.PUBLIC_BASE_URL = PUBLIC_BASE;
  }
  const out = { ...base, ...env };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

function spawnBinary(childEnv, cwd) {
  assertBinary();
  return spawn(BIN, ['serve'], { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Start a server and wait for its http.listen line.
 * Returns { port, publicBaseUrl, authToken, accountSid, env, dataDir, logs, badLines, stderr(),
 *           waitForLog(pred), stop(), sentSignatures, exited }.
 */
export async function startServer(opts = {}) {
  // opts.dataDir: use this directory (owned by the caller: not removed on stop), e.g. to restart
  // a service on the same state. Otherwise a fresh one, removed on stop.
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
  const env = buildEnv(dataDir, opts);
  const proc = spawnBinary(env, dataDir);
  const srv = {
    proc,
    env,
    dataDir,
    logs: [],        // parsed stdout lines
    rawLines: [],    // raw stdout lines
    badLines: [],    // stdout lines that are not JSON objects with ts + evt
    stderrText: '',
    sentSignatures: new Set(),
    exit: null,      // { code, signal } once exited
    authToken: env.TWILIO_AUTH_TOKEN,
    accountSid: env.TWILIO_ACCOUNT_SID,
    publicBaseUrl: env.PUBLIC_BASE_URL,
  };
  const lines = createInterface({ input: proc.stdout });
  // 'exit' can come before the last lines are read from the pipe: `exited` waits for both, so
  // that logs read after stop() or kill() are all there.
  const stdoutEnded = new Promise((res) => lines.on('close', res));
  srv.exited = new Promise((res) => proc.on('exit', (code, signal) => {
    srv.exit = { code, signal };
    stdoutEnded.then(() => res(srv.exit));
  }));
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { srv.stderrText += d; });
  lines.on('line', (line) => {
    srv.rawLines.push(line);
    let obj;
    try { obj = JSON.parse(line); } catch { srv.badLines.push(line); return; }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj) || typeof obj.evt !== 'string' ||
        typeof obj.ts !== 'string' || !TS_RE.test(obj.ts)) srv.badLines.push(line);
    if (obj && typeof obj === 'object') srv.logs.push(obj);
  });

  srv.findLog = (pred) => srv.logs.find(pred);
  srv.waitForLog = (pred, what = 'log line', timeout = 5000) =>
    waitFor(() => srv.logs.find(pred), { timeout, what });
  srv.stop = async (timeout = 5000) => {
    if (!srv.exit) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!srv.exit) proc.kill('SIGKILL'); }, timeout);
      await srv.exited;
      clearTimeout(t);
    }
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    return srv.exit;
  };
  /** SIGKILL (no clean shutdown); the data directory is kept. */
  srv.kill = async () => {
    if (!srv.exit) proc.kill('SIGKILL');
    return srv.exited;
  };

  let listen;
  try {
    listen = await waitFor(() => srv.exit || srv.logs.find((l) => l.evt === 'http.listen'), {
      timeout: 10000, what: 'http.listen line',
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\nstdout:\n${srv.rawLines.join('\n')}\nstderr:\n${srv.stderrText}`);
  }
  if (srv.exit) {
    await srv.exited; // its last lines, for the message
    throw new Error(`partyline exited early (${JSON.stringify(srv.exit)})\nstdout:\n${srv.rawLines.join('\n')}\nstderr:\n${srv.stderrText}`);
  }
  srv.port = Number(listen.port);
  // logged before http.listen, so already read when there is one
  const metricsListen = srv.logs.find((l) => l.evt === 'metrics.listen');
  srv.metricsPort = metricsListen ? Number(metricsListen.port) : undefined;
  srv.listen = listen;
  return srv;
}

/**
 * Run the binary with a configuration expected to be rejected.
 * Resolves { code, signal, stdout, stderr, listened } once it exits (or kills it after `timeout`).
 */
export async function runExpectExit(opts = {}, timeout = 10000) {
  const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
  const env = buildEnv(dataDir, opts);
  const proc = spawnBinary(env, dataDir);
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const t = setTimeout(() => proc.kill('SIGKILL'), timeout);
  const { code, signal } = await new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  clearTimeout(t);
  rmSync(dataDir, { recursive: true, force: true });
  return { code, signal, stdout, stderr, listened: stdout.includes('"http.listen"') };
}

/**
 * Run the binary with other arguments (e.g. `simulate`) and an explicit environment; `stdin`, when
 * given, is written to its standard input (otherwise that is /dev/null).
 * Resolves { code, signal, stdout, stderr, timedOut } once it exits (SIGKILL after `timeout`).
 */
export async function runCommand(args, env, { timeout = 30000, cwd, stdin } = {}) {
  assertBinary();
  const proc = spawn(BIN, args, { env, cwd, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (stdin !== undefined) {
    proc.stdin.on('error', () => {}); // a command that exits before reading it (EPIPE)
    proc.stdin.end(stdin);
  }
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const t = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, timeout);
  const { code, signal } = await new Promise((res) => proc.on('exit', (c, s) => res({ code: c, signal: s })));
  clearTimeout(t);
  return { code, signal, stdout, stderr, timedOut };
}

/**
 * A free loopback port, for a service that must know its own address before it starts (it
 * refuses state-changing requests from any origin but PUBLIC_BASE_URL's).
 */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}
