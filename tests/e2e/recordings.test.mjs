// The recording pipeline, happy paths: /recording-callback -> fetch from the (fake) Twilio media
// URL with Basic auth -> upload to S3 (loopback Swift). One Swift for the file; every test starts
// its own service (fresh DATA_DIR) with its own S3_PREFIX, so tests never see each other's objects.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { account, hex, recordingParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { swiftForSuite, serviceEnv } from './lib/swift.mjs';
import { startFakeTwilio, expectedKey } from './lib/fake-twilio.mjs';
import { listRecordingKeys as listKeys, headObject, getBytes, listUploads, waitForListing } from './lib/s3.mjs';

const BUCKET = `pl-rec-${hex(8)}`;
const MiB = 1024 * 1024;

describe('recordings: fetch from Twilio, store in S3', () => {
  const suite = swiftForSuite({ buckets: [BUCKET] });
  const { cleanups } = suite;

  /** A fake Twilio and a service wired to it and to Swift, with a fresh prefix. */
  async function setup(name, extra = {}, { dataDir } = {}) {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    cleanups.push(() => fake.stop());
    const prefix = `${name}-${hex(8)}/`;
    const env = serviceEnv({ acct, fake, s3Endpoint: suite.swift.endpoint, bucket: BUCKET, prefix, extra });
    const srv = await startServer({ env, dataDir });
    cleanups.push(() => srv.stop());
    return { acct, fake, prefix, env, srv };
  }

  /** Register a recording of `size` random bytes with the fake; the callback params for it. */
  function newRecording({ acct, fake, prefix }, size, extra = {}) {
    const body = randomBytes(size);
    const p = recordingParams(acct.accountSid, extra);
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
    return { p, body, sid: p.RecordingSid, key: expectedKey(prefix, p.RecordingSid) };
  }

  const logsFor = (srv, evt, pred = () => true) => srv.logs.filter((l) => l.evt === evt && pred(l));
  /** The recording keys under `prefix` once all of `expected` are listed (the listing lags a store). */
  const listedKeys = (prefix, expected) => waitForListing(() => listKeys(suite.swift.client, BUCKET, prefix),
    (keys) => expected.every((k) => keys.includes(k)), { what: `${expected.join(', ')} listed` });
  /** The recording.stored line of `sid`: every line of its job comes before it. */
  const storedLine = (srv, sid) =>
    srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === sid, `recording.stored of ${sid}`);
  const post = (srv, p) => signedPost(srv, '/recording-callback', p);

  it('1 MiB: 200 once stored; exact key, identical bytes, Content-Type and metadata; log lines', async () => {
    const ctx = await setup('t1');
    const { srv, fake, prefix, acct } = ctx;
    const { p, body, sid, key } = newRecording(ctx, MiB);
    assert.equal(key, `${prefix}2025-10-25T19-17-43Z-${sid}.mp3`);

    const r = await post(srv, p);
    assert.equal(r.status, 200, r.body);

    // Stored before the answer: the object is there right away (its listing may follow later).
    assert.deepStrictEqual(await listedKeys(prefix, [key]), [key]);
    const h = await headObject(suite.swift.client, BUCKET, key);
    assert.ok(h, `HeadObject ${key}`);
    assert.equal(h.ContentType, 'audio/mpeg');
    assert.equal(h.ContentLength, body.length);
    assert.equal(h.Metadata?.['recording-sid'], sid, JSON.stringify(h.Metadata));
    assert.equal(h.Metadata?.duration, p.RecordingDuration, JSON.stringify(h.Metadata));
    assert.equal(h.Metadata?.['conference-sid'], p.ConferenceSid, JSON.stringify(h.Metadata));
    assert.equal(h.Metadata?.['start-time'], '2025-10-25T19:17:43Z', JSON.stringify(h.Metadata));
    const got = await getBytes(suite.swift.client, BUCKET, key);
    assert.ok(got.equals(body), `stored bytes differ (got ${got.length}, want ${body.length})`);

    // One media GET, of <RecordingUrl>.mp3, with Basic AC:token.
    const gets = fake.mediaGets(sid);
    assert.equal(gets.length, 1, JSON.stringify(gets.map((g) => [g.path, g.status])));
    assert.equal(gets[0].path, new URL(`${p.RecordingUrl}.mp3`).pathname);
    assert.equal(gets[0].headers.authorization,
      'Basic ' + Buffer.from(`${acct.accountSid}:${acct.authToken}`).toString('base64'));
    assert.equal(gets[0].status, 200);

    const ready = await srv.waitForLog((l) => l.evt === 'recording.ready' && l.RecordingSid === sid, 'recording.ready');
    assert.equal(ready.key, key);
    const fetched = await srv.waitForLog((l) => l.evt === 'recording.fetch.ok' && l.RecordingSid === sid, 'recording.fetch.ok');
    assert.equal(Number(fetched.bytes), body.length);
    assert.equal(typeof fetched.ms, 'number');
    await srv.waitForLog((l) => l.evt === 's3.put.begin' && l.key === key, 's3.put.begin');
    const put = await srv.waitForLog((l) => l.evt === 's3.put.ok' && l.key === key, 's3.put.ok');
    assert.equal(Number(put.bytes), body.length);
    assert.equal(typeof put.ms, 'number');
    assert.equal(logsFor(srv, 's3.put.error').length, 0, 'no s3.put.error');
    assert.equal(logsFor(srv, 'recording.fetch.error').length, 0, 'no recording.fetch.error');

    await stopAndCheck(srv);
  });

  it('key and start-time metadata come from RecordingStartTime (zero-padded, UTC)', async () => {
    const ctx = await setup('t1b');
    const { p, body, sid } = newRecording(ctx, 1000, { RecordingStartTime: 'Mon, 05 Jan 2026 03:04:05 +0000' });
    const key = expectedKey(ctx.prefix, sid, '2026-01-05T03-04-05Z');
    const r = await post(ctx.srv, p);
    assert.equal(r.status, 200, r.body);
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [key]), [key]);
    const h = await headObject(suite.swift.client, BUCKET, key);
    assert.equal(h.Metadata?.['start-time'], '2026-01-05T03:04:05Z', JSON.stringify(h.Metadata));
    assert.ok((await getBytes(suite.swift.client, BUCKET, key)).equals(body));
    await stopAndCheck(ctx.srv);
  });

  it('13 MiB over S3_MULTIPART_THRESHOLD=6MiB, S3_PART_SIZE=5MiB: stored in 3 parts, identical', async () => {
    const ctx = await setup('t2', { S3_MULTIPART_THRESHOLD: '6MiB', S3_PART_SIZE: '5MiB' });
    const { p, body, key } = newRecording(ctx, 13 * MiB);
    const r = await post(ctx.srv, p);
    assert.equal(r.status, 200, r.body);
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [key]), [key]);
    const h = await headObject(suite.swift.client, BUCKET, key);
    assert.equal(h.ContentLength, body.length);
    assert.equal(h.ContentType, 'audio/mpeg');
    assert.equal(h.Metadata?.['recording-sid'], p.RecordingSid, JSON.stringify(h.Metadata));
    // A multipart object's ETag is "<md5 of the part md5s>-<number of parts>": 5 + 5 + 3 MiB.
    assert.match(h.ETag, /-3"$/, `ETag ${h.ETag} is not that of a 3-part upload`);
    const got = await getBytes(suite.swift.client, BUCKET, key);
    assert.ok(got.equals(body), `stored bytes differ (got ${got.length}, want ${body.length})`);
    const put = await ctx.srv.waitForLog((l) => l.evt === 's3.put.ok' && l.key === key, 's3.put.ok');
    assert.equal(Number(put.bytes), body.length);
    await storedLine(ctx.srv, p.RecordingSid);
    // The upload started while the media was still arriving, not after it.
    const at = (evt) => ctx.srv.logs.findIndex((l) => l.evt === evt && (l.key === key || l.RecordingSid === p.RecordingSid));
    assert.ok(at('s3.put.begin') >= 0 && at('s3.put.begin') < at('recording.fetch.ok'),
      's3.put.begin is not logged before recording.fetch.ok');
    assert.equal(ctx.srv.logs[at('s3.put.begin')].while_fetching, true);
    await stopAndCheck(ctx.srv);
  });

  it('13 MiB in parts, the media cut off at 7 MiB once: no object and no open upload left; the retry stores it', async () => {
    const ctx = await setup('t2cut', { S3_MULTIPART_THRESHOLD: '6MiB', S3_PART_SIZE: '5MiB',
      RECORDING_RETRY_MIN: '200ms', RECORDING_RETRY_MAX: '500ms', RECORDING_CALLBACK_WAIT: '10s' });
    const body = randomBytes(13 * MiB);
    const p = recordingParams(ctx.acct.accountSid);
    p.RecordingUrl = ctx.fake.addRecording(p.RecordingSid, body, { cutShort: { times: 1, after: 7 * MiB } });
    const key = expectedKey(ctx.prefix, p.RecordingSid);
    const r = await post(ctx.srv, p);
    assert.equal(r.status, 200, r.body);
    await storedLine(ctx.srv, p.RecordingSid);
    const failed = logsFor(ctx.srv, 'recording.fetch.error', (l) => l.RecordingSid === p.RecordingSid);
    assert.equal(failed.length, 1, JSON.stringify(failed));
    const begins = logsFor(ctx.srv, 's3.put.begin', (l) => l.key === key);
    assert.equal(begins.length, 2, 'one upload per attempt');
    assert.ok(begins.every((l) => l.while_fetching === true && Number(l.bytes) === body.length), JSON.stringify(begins));
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [key]), [key]);
    const got = await getBytes(suite.swift.client, BUCKET, key);
    assert.ok(got.equals(body), `stored bytes differ (got ${got.length}, want ${body.length})`);
    assert.deepStrictEqual(await listUploads(suite.swift.client, BUCKET, ctx.prefix), [],
      'the cut attempt left its multipart upload open');
    assert.equal(ctx.fake.requests.filter((q) => q.path.endsWith('.mp3')).length, 2);
    await stopAndCheck(ctx.srv);
  });

  it('the same callback twice, then five at once: one object each, media fetched once', async () => {
    const ctx = await setup('t3');
    const { srv, fake, prefix } = ctx;

    // Sequential: the second is answered from the stored state.
    const a = newRecording(ctx, 200 * 1024);
    assert.equal((await post(srv, a.p)).status, 200);
    const t0 = Date.now();
    const again = await post(srv, a.p);
    assert.equal(again.status, 200, again.body);
    assert.ok(Date.now() - t0 < 2000, `duplicate answered after ${Date.now() - t0} ms`);
    const dup = await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === a.sid, 'recording.duplicate');
    assert.equal(dup.key, a.key);
    assert.equal(fake.mediaGets(a.sid).length, 1, 'media GETs for the sequential pair');
    assert.deepStrictEqual(await listedKeys(prefix, [a.key]), [a.key]);

    // Concurrent: all five are answered 200, one fetch, one upload.
    const b = newRecording(ctx, 512 * 1024);
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(srv, b.p)));
    assert.deepStrictEqual(answers.map((x) => x.status), [200, 200, 200, 200, 200]);
    assert.equal(fake.mediaGets(b.sid).length, 1, 'media GETs for the five concurrent callbacks');
    assert.deepStrictEqual((await listedKeys(prefix, [a.key, b.key])).sort(), [a.key, b.key].sort());
    assert.ok((await getBytes(suite.swift.client, BUCKET, b.key)).equals(b.body));
    await storedLine(srv, b.sid);
    assert.equal(logsFor(srv, 's3.put.begin', (l) => l.key === b.key).length, 1, 'one s3.put.begin');
    assert.equal(logsFor(srv, 's3.put.ok', (l) => l.key === b.key).length, 1, 'one s3.put.ok');

    // And one more after they are done: a duplicate, no new fetch.
    assert.equal((await post(srv, b.p)).status, 200);
    await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === b.sid, 'recording.duplicate (b)');
    assert.equal(fake.mediaGets(b.sid).length, 1);
    assert.equal(logsFor(srv, 's3.put.begin').length, 2, 's3.put.begin lines in all');
    await stopAndCheck(srv);
  });

  it('the same RecordingSid a second later, and again after a restart: 200 at once, same single object', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const ctx = await setup('t10', {}, { dataDir });
    const { srv, fake, prefix } = ctx;
    const { p, body, sid, key } = newRecording(ctx, 64 * 1024);
    assert.equal((await post(srv, p)).status, 200);
    const tStored = Date.now();
    // Not a synchronisation wait: the scenario is a redelivery at least a wall-clock second later
    // (a key built from the time of the upload instead of RecordingStartTime would differ).
    await waitFor(() => Date.now() - tStored > 1100, { timeout: 3000, what: 'a second to pass' });

    const t0 = Date.now();
    const r = await post(srv, p);
    assert.equal(r.status, 200, r.body);
    assert.ok(Date.now() - t0 < 1000, `answered after ${Date.now() - t0} ms`);
    const dup = await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === sid, 'recording.duplicate');
    assert.equal(dup.key, key);
    assert.equal(fake.mediaGets(sid).length, 1);
    assert.deepStrictEqual(await listedKeys(prefix, [key]), [key]);
    assert.equal(logsFor(srv, 's3.put.begin').length, 1);

    // The stored state survives a restart on the same DATA_DIR.
    await stopAndCheck(srv);
    const srv2 = await startServer({ env: ctx.env, dataDir });
    cleanups.push(() => srv2.stop());
    const t1 = Date.now();
    const r2 = await post(srv2, p);
    assert.equal(r2.status, 200, r2.body);
    assert.ok(Date.now() - t1 < 1000, `answered after ${Date.now() - t1} ms after the restart`);
    await srv2.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === sid, 'recording.duplicate after restart');
    assert.equal(fake.mediaGets(sid).length, 1, 'no new media GET after the restart');
    assert.equal(logsFor(srv2, 's3.put.begin').length, 0, 'no upload after the restart');
    assert.deepStrictEqual(await listKeys(suite.swift.client, BUCKET, prefix), [key]);
    assert.ok((await getBytes(suite.swift.client, BUCKET, key)).equals(body));
    await stopAndCheck(srv2);
  });

  it('media 404 twice, then ready: retried, stored; three GETs', async () => {
    const ctx = await setup('t7');
    const { srv, fake } = ctx;
    const body = randomBytes(300 * 1024);
    const p = recordingParams(ctx.acct.accountSid);
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body, { notReady: 2 });
    const key = expectedKey(ctx.prefix, p.RecordingSid);
    const r = await post(srv, p);
    // (The status is asserted last, so that a wrong answer does not hide the rest.)
    await waitFor(async () => (await listKeys(suite.swift.client, BUCKET, ctx.prefix)).length > 0,
      { timeout: 15000, interval: 100, what: 'the object' });
    assert.deepStrictEqual(fake.mediaGets(p.RecordingSid).map((g) => g.status), [404, 404, 200]);
    assert.deepStrictEqual(await listKeys(suite.swift.client, BUCKET, ctx.prefix), [key]);
    assert.ok((await getBytes(suite.swift.client, BUCKET, key)).equals(body));
    await storedLine(srv, p.RecordingSid);
    const errors = logsFor(srv, 'recording.fetch.error', (l) => l.RecordingSid === p.RecordingSid);
    assert.equal(errors.length, 2, JSON.stringify(errors));
    for (const e of errors) assert.match(String(e.reason), /404/, JSON.stringify(e));
    assert.equal(logsFor(srv, 'recording.dead').length, 0);
    await stopAndCheck(srv);
    assert.equal(r.status, 200, `answer ${r.status} ${r.body}: expected 200 once stored (within RECORDING_CALLBACK_WAIT, 10 s)`);
  });

  it('media redirect to another host: followed, stored; Basic credentials not sent there', async () => {
    const ctx = await setup('t8');
    const { srv, fake, acct } = ctx;
    const cdn = await startFakeTwilio({ requireAuth: false });
    cleanups.push(() => cdn.stop());
    const body = randomBytes(256 * 1024);
    const p = recordingParams(acct.accountSid);
    const cdnPath = `/v1/media/${hex(16)}/${p.RecordingSid}.mp3`;
    cdn.addFile(cdnPath, body);
    // 127.0.0.1:<fake> -> localhost:<cdn>: another host name, so no Authorization may follow.
    p.RecordingUrl = fake.addRecording(p.RecordingSid, Buffer.alloc(0), { redirect: `http://localhost:${cdn.port}${cdnPath}` });
    const key = expectedKey(ctx.prefix, p.RecordingSid);

    const r = await post(srv, p);
    assert.equal(r.status, 200, r.body);
    const gets = fake.mediaGets(p.RecordingSid);
    assert.equal(gets.length, 1);
    assert.equal(gets[0].status, 302, 'the fake Twilio answered with the redirect (credentials were right)');
    const cdnGets = cdn.requestsFor(cdnPath);
    assert.equal(cdnGets.length, 1, 'the redirect target was fetched once');
    for (const g of cdn.requests) {
      assert.equal(g.headers.authorization, undefined, `Authorization sent to the redirect target: ${g.headers.authorization}`);
    }
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [key]), [key]);
    const got = await getBytes(suite.swift.client, BUCKET, key);
    assert.ok(got.equals(body), `stored bytes are not the redirected content (got ${got.length} bytes)`);
    await stopAndCheck(srv);
  });

  it('RecordingUrl on another origin -> 400, and that origin receives no request', async () => {
    const ctx = await setup('t9');
    const { srv, fake, acct } = ctx;
    // Another server that would happily serve the media (and checks the same credentials).
    const other = await startFakeTwilio(acct);
    cleanups.push(() => other.stop());
    const bad = [];
    {
      const p = recordingParams(acct.accountSid);
      other.addRecording(p.RecordingSid, randomBytes(1000));
      p.RecordingUrl = other.recordingUrl(p.RecordingSid); // 127.0.0.1, another port
      bad.push(p);
    }
    {
      const p = recordingParams(acct.accountSid);
      fake.addRecording(p.RecordingSid, randomBytes(1000));
      p.RecordingUrl = fake.recordingUrl(p.RecordingSid).replace('127.0.0.1', 'localhost'); // same server, other host
      bad.push(p);
    }
    for (const p of bad) {
      const r = await post(srv, p);
      assert.equal(r.status, 400, `${p.RecordingUrl}: ${r.status} ${r.body}`);
    }
    // Then a valid recording through the same service: once it is stored, any background work
    // for the rejected ones would have had its chance.
    const ok = newRecording(ctx, 1000);
    assert.equal((await post(srv, ok.p)).status, 200);
    await storedLine(srv, ok.sid); // and every log line before it
    assert.equal(other.requests.length, 0, JSON.stringify(other.requests.map((x) => x.path)));
    for (const p of bad) assert.equal(fake.mediaGets(p.RecordingSid).length, 0, `fetched ${p.RecordingUrl}`);
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [ok.key]), [ok.key]);
    for (const p of bad) {
      assert.equal(logsFor(srv, 'recording.ready', (l) => l.RecordingSid === p.RecordingSid).length, 0);
    }
    await stopAndCheck(srv);
  });

  it('RecordingStatus absent (with ErrorCode) -> 200, recording.failed, nothing fetched or stored', async () => {
    const ctx = await setup('tfail');
    const { srv, fake } = ctx;
    const a = newRecording(ctx, 1000, { RecordingStatus: 'absent', ErrorCode: '13617', RecordingDuration: '0' });
    const r = await post(srv, a.p);
    assert.equal(r.status, 200, r.body);
    const line = await srv.waitForLog((l) => l.evt === 'recording.failed' && l.RecordingSid === a.sid, 'recording.failed');
    assert.ok(line);
    const ok = newRecording(ctx, 1000);
    assert.equal((await post(srv, ok.p)).status, 200);
    assert.equal(fake.mediaGets(a.sid).length, 0, 'media of the absent recording was fetched');
    assert.deepStrictEqual(await listedKeys(ctx.prefix, [ok.key]), [ok.key]);
    await stopAndCheck(srv);
  });
});
