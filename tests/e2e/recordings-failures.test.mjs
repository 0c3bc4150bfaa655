// The recording pipeline when S3 fails: S3 down (a TCP proxy switched off), wrong credentials,
// a restart with unfinished jobs, kill -9 in the middle of an upload. One Swift for the file;
// each test has its own proxy, service (fresh DATA_DIR) and S3_PREFIX.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { account, hex, recordingParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { assertWellFormedLogs, stopAndCheck } from './lib/logcheck.mjs';
import { swiftForSuite, serviceEnv } from './lib/swift.mjs';
import { startFakeTwilio, expectedKey } from './lib/fake-twilio.mjs';
import { startTcpProxy } from './lib/tcp-proxy.mjs';
import { listRecordingKeys as listKeys, headObject, getBytes } from './lib/s3.mjs';

const BUCKET = `pl-recf-${hex(8)}`;
const KiB = 1024;
const MiB = 1024 * KiB;

describe('recordings: S3 failures, restarts, crashes', () => {
  const suite = swiftForSuite({ buckets: [BUCKET] });
  const { cleanups } = suite;

  async function fixture(name, { size = 256 * KiB, direct = false } = {}) {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    cleanups.push(() => fake.stop());
    const proxy = await startTcpProxy(suite.swift.port);
    cleanups.push(() => proxy.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const prefix = `${name}-${hex(8)}/`;
    const body = randomBytes(size);
    const p = recordingParams(acct.accountSid);
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
    const key = expectedKey(prefix, p.RecordingSid);
    const envFor = (extra = {}) => serviceEnv({
      acct, fake, s3Endpoint: direct ? suite.swift.endpoint : proxy.endpoint, bucket: BUCKET, prefix,
      extra: { RECORDING_CALLBACK_WAIT: '2s', ...extra },
    });
    const start = async (extra) => {
      const srv = await startServer({ env: envFor(extra), dataDir });
      cleanups.push(() => srv.stop());
      return srv;
    };
    return { acct, fake, proxy, dataDir, prefix, body, p, key, sid: p.RecordingSid, start };
  }

  const post = (srv, p) => signedPost(srv, '/recording-callback', p);
  const keys = (prefix) => listKeys(suite.swift.client, BUCKET, prefix);
  const waitForKeys = (prefix, what, timeout = 20000) =>
    waitFor(async () => (await keys(prefix)).length > 0, { timeout, interval: 100, what });
  async function assertStoredOnce(f) {
    assert.deepStrictEqual(await keys(f.prefix), [f.key]);
    const h = await headObject(suite.swift.client, BUCKET, f.key);
    assert.equal(h.ContentLength, f.body.length);
    const got = await getBytes(suite.swift.client, BUCKET, f.key);
    assert.ok(got.equals(f.body), `stored bytes differ (got ${got.length}, want ${f.body.length})`);
  }

  it('S3 down: 503 after RECORDING_CALLBACK_WAIT=2s; S3 back: stored in the background, once', async () => {
    const f = await fixture('t4');
    f.proxy.down();
    const srv = await f.start();
    const t0 = Date.now();
    const r = await post(srv, f.p);
    const ms = Date.now() - t0;
    assert.equal(r.status, 503, r.body);
    await srv.waitForLog((l) => l.evt === 's3.put.error' && l.key === f.key, 's3.put.error while S3 is down');
    assert.deepStrictEqual(await keys(f.prefix), []);

    f.proxy.up();
    await waitForKeys(f.prefix, 'the object after S3 came back');
    await srv.waitForLog((l) => l.evt === 's3.put.ok' && l.key === f.key, 's3.put.ok', 10000);
    await assertStoredOnce(f);
    // Now it is stored: a redelivery is answered 200 at once.
    const again = await post(srv, f.p);
    assert.equal(again.status, 200, again.body);
    await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === f.sid, 'recording.duplicate');
    assert.equal(srv.logs.filter((l) => l.evt === 's3.put.ok' && l.key === f.key).length, 1);
    await assertStoredOnce(f);
    await stopAndCheck(srv);
    // Checked last so that a wrong wait does not hide the rest: the answer waits for the job.
    assert.ok(ms >= 1800 && ms < 8000, `503 after ${ms} ms, expected after RECORDING_CALLBACK_WAIT (2000 ms)`);
  });

  it('wrong S3 secret: 503 and s3.put.error with 403 in its reason; nothing stored', async () => {
    const f = await fixture('t4b', { direct: true });
    const srv = await f.start({ AWS_SECRET_ACCESS_KEY: 'wrong' });
    const t0 = Date.now();
    const r = await post(srv, f.p);
    const ms = Date.now() - t0;
    assert.equal(r.status, 503, r.body);
    const err = await srv.waitForLog((l) => l.evt === 's3.put.error' && l.key === f.key, 's3.put.error');
    assert.match(String(err.reason), /403/, JSON.stringify(err));
    assert.deepStrictEqual(await keys(f.prefix), []);
    assert.ok(!srv.rawLines.join('\n').includes('"wrong"'), 'the S3 secret appears in stdout');
    await stopAndCheck(srv);
    assert.ok(ms >= 1800 && ms < 8000, `503 after ${ms} ms, expected after RECORDING_CALLBACK_WAIT (2000 ms)`);
  });

  it('S3 down, SIGTERM, start again with S3 up and no new callback: stored', async () => {
    const f = await fixture('t5');
    f.proxy.down();
    const a = await f.start();
    const r = await post(a, f.p);
    assert.equal(r.status, 503, r.body);
    await stopAndCheck(a); // exit 0 on SIGTERM with the job unfinished; DATA_DIR is kept
    assert.deepStrictEqual(await keys(f.prefix), []);

    f.proxy.up();
    const b = await f.start();
    await waitForKeys(f.prefix, 'the object after the restart');
    await b.waitForLog((l) => l.evt === 's3.put.ok' && l.key === f.key, 's3.put.ok after the restart', 10000);
    await assertStoredOnce(f);
    assert.equal(b.logs.filter((l) => l.evt === 'http.request' && l.path === '/recording-callback').length, 0,
      'no callback reached the restarted service');
    await stopAndCheck(b);
  });

  it('kill -9 during a throttled upload; restart unthrottled: one complete object, identical', async () => {
    const f = await fixture('t6', { size: 8 * MiB });
    f.proxy.throttle(256 * KiB);
    const a = await f.start({ RECORDING_CALLBACK_WAIT: '10s' });
    const pending = post(a, f.p).catch((e) => e); // cut by the kill
    await waitFor(() => a.logs.some((l) => l.evt === 's3.put.begin' && l.key === f.key) && f.proxy.bytesUp >= 384 * KiB,
      { timeout: 20000, interval: 20, what: 's3.put.begin and 384 KiB through the proxy' });
    const exit = await a.kill();
    assert.equal(exit.signal, 'SIGKILL');
    f.proxy.resetAll(); // the dead process's connections are gone
    await pending;
    assertWellFormedLogs(a);
    assert.ok(f.proxy.bytesUp < 4 * MiB, `the upload was not cut in the middle (${f.proxy.bytesUp} bytes through)`);
    assert.deepStrictEqual(await keys(f.prefix), [], 'a partial object is visible after the kill');

    f.proxy.throttle(null);
    const b = await f.start();
    await waitForKeys(f.prefix, 'the object after the restart', 30000);
    await b.waitForLog((l) => l.evt === 's3.put.ok' && l.key === f.key, 's3.put.ok after the restart', 10000);
    await assertStoredOnce(f);
    await stopAndCheck(b);
  });

  it('never ready within RECORDING_MAX_AGE: dead-lettered with an error line, nothing stored', async () => {
    const f = await fixture('dead');
    f.p.RecordingUrl = f.fake.addRecording(f.sid, f.body, { notReady: 1e9 });
    const srv = await f.start({ RECORDING_MAX_AGE: '2s', RECORDING_RETRY_MIN: '100ms', RECORDING_RETRY_MAX: '300ms' });
    const r = await post(srv, f.p);
    assert.equal(r.status, 503);
    const dead = await srv.waitForLog((l) => l.evt === 'recording.dead' && l.RecordingSid === f.sid, 'recording.dead', 15000);
    assert.equal(dead.level, 'error');
    assert.match(dead.reason, /404/);
    assert.ok(srv.logs.filter((l) => l.evt === 'recording.fetch.error' && l.RecordingSid === f.sid).length >= 2);
    assert.deepStrictEqual(await keys(f.prefix), []);
    await stopAndCheck(srv);
  });
});
