// The loopback S3 server (Swift + s3api, scripts/swift-s3.sh) on free ports, with a fresh ROOT.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from './server.mjs';
import { createBucket, s3Client } from './s3.mjs';

const run = promisify(execFile);
export const SWIFT_SCRIPT = join(REPO, 'scripts', 'swift-s3.sh');

/** The unpacked Swift packages: $SWIFT_PKGS, default <repo>/build/swift-pkgs. */
export function swiftPkgs() {
  const dir = process.env.SWIFT_PKGS || join(REPO, 'build', 'swift-pkgs');
  if (!existsSync(join(dir, 'usr', 'lib', 'python3', 'dist-packages', 'swift'))) {
    throw new Error(`Swift packages not found in ${dir}: run \`sh scripts/swift-s3.sh fetch ${dir}\` ` +
      '(or set SWIFT_PKGS to a directory where it has been run)');
  }
  return dir;
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port such that base..base+4 are free on 127.0.0.1 right now. */
async function freePortBlock() {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 8000) * 5;
    let ok = true;
    for (let p = base; p < base + 5 && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error('no block of 5 free ports found');
}

/**
 * Start Swift and create `buckets`. Returns { port, endpoint, root, client, stop() }.
 */
export async function startSwift({ buckets = [] } = {}) {
  const pkgs = swiftPkgs();
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'partyline-swift-'));
    const port = await freePortBlock();
    try {
      await run('sh', [SWIFT_SCRIPT, 'start', pkgs, root, String(port)], { timeout: 60000 });
    } catch (e) {
      lastErr = e;
      await run('sh', [SWIFT_SCRIPT, 'stop', root]).catch(() => {});
      rmSync(root, { recursive: true, force: true });
      continue;
    }
    const endpoint = `http://127.0.0.1:${port}`;
    const client = s3Client(endpoint);
    const sw = {
      port,
      endpoint,
      root,
      client,
      async stop() {
        client.destroy();
        await run('sh', [SWIFT_SCRIPT, 'stop', root]).catch(() => {});
        rmSync(root, { recursive: true, force: true });
      },
    };
    try {
      for (const b of buckets) await createBucket(client, b);
    } catch (e) {
      await sw.stop();
      throw e;
    }
    return sw;
  }
  throw new Error(`Swift did not start: ${lastErr?.message}\n${lastErr?.stderr ?? ''}`);
}

/**
 * For a describe() block that needs S3: starts Swift with `buckets` before its tests; after them,
 * runs the suite's cleanups (last registered first) and stops Swift. Returns { swift, cleanups }
 * (swift is set once the suite's before() hook has run).
 */
export function swiftForSuite({ buckets = [] } = {}) {
  const suite = { swift: undefined, cleanups: [] };
  before(async () => { suite.swift = await startSwift({ buckets }); });
  after(async () => {
    for (const f of suite.cleanups.reverse()) await f().catch(() => {});
    await suite.swift?.stop();
  });
  return suite;
}

/**
 * The environment of a production-mode service that copies recordings from `fake` (the fake
 * Twilio) to `bucket` at `s3Endpoint` (Swift or a proxy in front of it). Retries are quick.
 */
export function serviceEnv({ acct, fake, s3Endpoint, bucket, prefix, extra = {} }) {
  return {
    TWILIO_ACCOUNT_SID: acct.accountSid,
    TWILIO_AUTH_TOKEN: acct.authToken,
    TWILIO_API_BASE: fake.origin,
    S3_BUCKET: bucket,
    S3_ENDPOINT: s3Endpoint,
    S3_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: 'test:tester',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    RECORDING_RETRY_MIN: '200ms',
    RECORDING_RETRY_MAX: '1s',
    ...extra,
  };
}
