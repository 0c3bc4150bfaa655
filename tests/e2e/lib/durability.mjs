// Helpers for the durability tests: a small tmpfs to fill, a process's CPU time, a fixed free
// port (a service restarted on the same DATA_DIR keeps its address), local-mode start-up.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitFor } from './server.mjs';

/** A fresh tmpfs of `size` (e.g. '8m') mounted on a new directory; null when mounting is not allowed. */
export function mountTmpfs(size) {
  const dir = mkdtempSync(join(tmpdir(), 'partyline-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount() {
      try { execFileSync('umount', [dir], { stdio: 'pipe' }); } catch { execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `file` until the file system is full (ENOSPC); returns the bytes written. */
export function fillDisk(file) {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (e) {
          if (e.code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** User + system CPU seconds the process has used (/proc/PID/stat, 100 ticks a second on Linux). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line; 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Start a local-mode service and sign with its generated credentials (as simulate.test.mjs). */
export async function startLocal(opts = {}) {
  const srv = await startServer({ local: true, ...opts });
  const file = join(srv.dataDir, 'local-credentials.json');
  await waitFor(() => existsSync(file), { timeout: 5000, what: file });
  const creds = JSON.parse(readFileSync(file, 'utf8'));
  srv.launchEnv = { ...srv.env }; // what `simulate` gets: the service's own environment
  srv.authToken = creds.auth_token;
  srv.env.TWILIO_AUTH_TOKEN = creds.auth_token; // so that stopAndCheck looks for it in stdout
  srv.accountSid = creds.account_sid;
  srv.publicBaseUrl = creds.public_base_url;
  return srv;
}

/** Every file under `dir` (relative paths), recursively; [] when it does not exist. */
export function filesUnder(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), join(prefix, e.name)) : [join(prefix, e.name)]);
}

/** The local store's temp files: ".<name>.tmp-<16 hex>". */
export const TEMP_FILE_RE = /(^|\/)\.[^/]+\.tmp-[0-9a-f]{16}$/;
