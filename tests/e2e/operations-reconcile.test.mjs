// Operations (issue 6), Twilio's side: the reconciler finds recordings whose callback never came
// (`partyline reconcile` against a running service, and the periodic one), and
// TWILIO_DELETE_AFTER_COPY deletes Twilio's copy only once the stored object is verified.
// One Swift for the file; every test has its own fake Twilio, service, DATA_DIR and S3_PREFIX.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { account, hex, recordingParams, sid } from './lib/ids.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { swiftForSuite, serviceEnv } from './lib/swift.mjs';
import { startFakeTwilio, expectedKey } from './lib/fake-twilio.mjs';
import { startTcpProxy } from './lib/tcp-proxy.mjs';
import { startHttpProxy } from './lib/http-proxy.mjs';
import { listKeys, headObject, getBytes } from './lib/s3.mjs';

const BUCKET = `pl-ops-rec-${hex(8)}`;
const HOUR = 3600 * 1000;

// RFC 2822 as Twilio writes it, and the key stamp the contract derives from it.
const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const stampOf = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
const isoOf = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('operations: reconciler and delete-after-copy', () => {
  const suite = swiftForSuite({ buckets: [BUCKET] });
  const { cleanups } = suite;

  /** A fake Twilio (opts.pageSize) and a service wired to it and to S3 (opts.s3Endpoint). */
  async function setup(name, extra = {}, { pageSize, s3Endpoint } = {}) {
    const acct = account();
    const fake = await startFakeTwilio({ ...acct, ...(pageSize ? { pageSize } : {}) });
    cleanups.push(() => fake.stop());
    const prefix = `${name}-${hex(8)}/`;
    const env = serviceEnv({ acct, fake, s3Endpoint: s3Endpoint ?? suite.swift.endpoint, bucket: BUCKET, prefix, extra });
    const srv = await startServer({ env });
    cleanups.push(() => srv.stop());
    return { acct, fake, prefix, env, srv };
  }

  const keys = (prefix) => listKeys(suite.swift.client, BUCKET, prefix);
  const mp3Keys = async (prefix) => (await keys(prefix)).filter((k) => k.endsWith('.mp3')).sort();
  const logsFor = (srv, evt, pred = () => true) => srv.logs.filter((l) => l.evt === evt && pred(l));

  /** `partyline reconcile …` with the service's own environment (same DATA_DIR). */
  async function reconcile(ctx, args = []) {
    const r = await runCommand(['reconcile', ...args], ctx.srv.env, { timeout: 20000 });
    assert.equal(r.timedOut, false, 'reconcile did not finish');
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => {
      try { return JSON.parse(l); } catch { assert.fail(`reconcile printed a non-JSON stdout line: ${l}`); }
    });
    const done = lines.filter((l) => l.evt === 'reconcile.done');
    assert.equal(done.length, 1, `one reconcile.done line expected; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    for (const secret of [ctx.acct.authToken, 'testing']) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'a secret appears in the reconcile output');
    }
    return { ...r, done: done[0] };
  }

  /** Media at the fake and a listed recording resource (completed conference recording by default). */
  function listed(ctx, size, opts = {}) {
    const body = randomBytes(size);
    const s = sid('RE');
    const resource = { conferenceSid: sid('CF'), ...opts };
    ctx.fake.addRecording(s, body, { listed: true, ...resource });
    return { sid: s, body, resource: ctx.fake.listedRecordings().find((r) => r.sid === s) };
  }

  async function assertStored(ctx, rec, key) {
    const h = await headObject(suite.swift.client, BUCKET, key);
    assert.ok(h, `no object at ${key}`);
    assert.equal(h.ContentLength, rec.body.length);
    assert.equal(h.Metadata?.['recording-sid'], rec.sid, JSON.stringify(h.Metadata));
    const got = await getBytes(suite.swift.client, BUCKET, key);
    assert.ok(got.equals(rec.body), `stored bytes of ${rec.sid} differ (got ${got.length}, want ${rec.body.length})`);
  }

  describe('reconciler', () => {
    it('`reconcile` with the service running: follows 3 pages, queues only completed conference recordings, the service stores them', async () => {
      const ctx = await setup('rec-cli', { RECONCILE_INTERVAL: '0' }, { pageSize: 2 });
      const { fake, prefix, srv, acct } = ctx;
      const startA = Date.parse('2025-03-05T07:08:09Z');
      const startB = Date.parse('2025-12-31T23:59:58Z');
      // Five recordings, two per page: the candidates are on the first and the last page.
      const a = listed(ctx, 200 * 1024, { startTime: rfc2822(startA), duration: '61' });
      const processing = listed(ctx, 1000, { status: 'processing' });
      const callRec = listed(ctx, 1000, { conferenceSid: null, callSid: sid('CA'), source: 'RecordVerb' });
      const absent = listed(ctx, 1000, { status: 'absent', errorCode: '13617' });
      const b = listed(ctx, 150 * 1024, { startTime: rfc2822(startB) });
      const keyA = expectedKey(prefix, a.sid, stampOf(startA));
      const keyB = expectedKey(prefix, b.sid, stampOf(startB));

      const r = await reconcile(ctx);
      assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.equal(r.done.ok, true, JSON.stringify(r.done));
      assert.equal(r.done.listed, 5, JSON.stringify(r.done));
      assert.equal(r.done.candidates, 2, JSON.stringify(r.done));
      assert.equal(r.done.queued, 2, JSON.stringify(r.done));
      assert.equal(r.done.known, 0, JSON.stringify(r.done));
      assert.ok(!r.done.error, `error: ${r.done.error}`);

      // Paging: the first page, then Page=1 and Page=2 through next_page_uri; all authenticated.
      const lists = fake.restRequests().filter((q) => q.method === 'GET' && q.path.includes('/Recordings.json'));
      assert.deepStrictEqual(lists.map((q) => Number(new URL(q.path, 'http://x').searchParams.get('Page') ?? 0)), [0, 1, 2],
        JSON.stringify(lists.map((q) => q.path)));
      for (const q of lists) {
        assert.equal(q.status, 200, q.path);
        assert.equal(q.headers.authorization, 'Basic ' + Buffer.from(`${acct.accountSid}:${acct.authToken}`).toString('base64'));
      }

      // The running service's workers pick the rows up: no callback reached it.
      await waitFor(async () => (await mp3Keys(prefix)).length === 2, { timeout: 15000, interval: 100, what: 'both recordings stored' });
      assert.deepStrictEqual(await mp3Keys(prefix), [keyA, keyB].sort());
      // Listed once Swift has them; the service's lines about them (s3.put.ok, counted below) may
      // come later: wait for the last one of each job.
      for (const rec of [a, b]) {
        await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === rec.sid, `recording.stored of ${rec.sid}`);
      }
      await assertStored(ctx, a, keyA);
      await assertStored(ctx, b, keyB);
      const h = await headObject(suite.swift.client, BUCKET, keyA);
      assert.equal(h.Metadata?.['conference-sid'], a.resource.conference_sid, JSON.stringify(h.Metadata));
      assert.equal(h.Metadata?.['start-time'], isoOf(startA), JSON.stringify(h.Metadata));
      // The RecordingUrl is TWILIO_API_BASE + /2010-04-01/Accounts/<AC>/Recordings/<RE>.
      for (const rec of [a, b]) {
        const gets = fake.mediaGets(rec.sid);
        assert.equal(gets.length, 1, `${rec.sid}: ${JSON.stringify(gets.map((g) => [g.path, g.status]))}`);
        assert.equal(gets[0].path, `/2010-04-01/Accounts/${acct.accountSid}/Recordings/${rec.sid}.mp3`);
      }
      for (const rec of [processing, callRec, absent]) {
        assert.equal(fake.mediaGets(rec.sid).length, 0, `non-candidate ${rec.resource.status}/${rec.resource.conference_sid} was fetched`);
      }
      assert.equal(logsFor(srv, 'http.request', (l) => l.path === '/recording-callback').length, 0);

      // Again: both are known now, nothing is queued.
      const again = await reconcile(ctx);
      assert.equal(again.code, 0, again.stderr);
      assert.deepStrictEqual(
        { ok: again.done.ok, listed: again.done.listed, candidates: again.done.candidates, queued: again.done.queued, known: again.done.known },
        { ok: true, listed: 5, candidates: 2, queued: 0, known: 2 });

      await stopAndCheck(srv);
      for (const rec of [a, b]) assert.equal(fake.mediaGets(rec.sid).length, 1, `${rec.sid} fetched again`);
      for (const rec of [processing, callRec, absent]) assert.equal(fake.mediaGets(rec.sid).length, 0);
      assert.deepStrictEqual(await mp3Keys(prefix), [keyA, keyB].sort());
      assert.equal(logsFor(srv, 's3.put.ok', (l) => l.key === keyA).length, 1);
    });

    it('`reconcile --since 1h` leaves out an older recording; `reconcile` (72h) then queues it', async () => {
      const ctx = await setup('rec-since', { RECONCILE_INTERVAL: '0' });
      const { fake, prefix, srv } = ctx;
      const now = Date.now();
      const recent = listed(ctx, 4000, { dateCreated: now - 60 * 1000 });
      const older = listed(ctx, 5000, { dateCreated: now - 3 * HOUR });
      const keyRecent = expectedKey(prefix, recent.sid, stampOf(Date.parse(recent.resource.start_time)));
      const keyOlder = expectedKey(prefix, older.sid, stampOf(Date.parse(older.resource.start_time)));

      const r1 = await reconcile(ctx, ['--since', '1h']);
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.done.ok, true);
      assert.equal(r1.done.queued, 1, JSON.stringify(r1.done));
      await waitFor(async () => (await mp3Keys(prefix)).length === 1, { timeout: 15000, interval: 100, what: 'the recent recording stored' });
      assert.deepStrictEqual(await mp3Keys(prefix), [keyRecent]);
      assert.equal(fake.mediaGets(older.sid).length, 0, 'the older recording was fetched despite --since 1h');

      const r2 = await reconcile(ctx);
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(r2.done.queued, 1, JSON.stringify(r2.done));
      assert.equal(r2.done.known, 1, JSON.stringify(r2.done));
      await waitFor(async () => (await mp3Keys(prefix)).length === 2, { timeout: 15000, interval: 100, what: 'the older recording stored' });
      assert.deepStrictEqual(await mp3Keys(prefix), [keyOlder, keyRecent].sort());
      await assertStored(ctx, older, keyOlder);
      await stopAndCheck(srv);
    });

    it('`reconcile` when the list fails (HTTP 500): exit 1, ok false, the error named; nothing queued', async () => {
      const ctx = await setup('rec-err', { RECONCILE_INTERVAL: '0' });
      const rec = listed(ctx, 1000);
      ctx.fake.failRest('GET', '/Recordings.json', 500);
      const r = await reconcile(ctx);
      assert.equal(r.code, 1, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.done.ok, false);
      assert.equal(r.done.queued, 0);
      assert.match(String(r.done.error), /500/, JSON.stringify(r.done));
      await stopAndCheck(ctx.srv);
      assert.equal(ctx.fake.mediaGets(rec.sid).length, 0);
      assert.deepStrictEqual(await keys(ctx.prefix), []);
    });

    it('RECONCILE_INTERVAL=1s: the service finds a recording listed after it started, stores it once', async () => {
      const ctx = await setup('rec-loop', { RECONCILE_INTERVAL: '1s' });
      const { fake, prefix, srv } = ctx;
      // At least one pass over an empty list first (nothing to queue).
      const first = await srv.waitForLog((l) => l.evt === 'reconcile.done', 'a first reconcile.done', 10000);
      assert.equal(first.ok, true, JSON.stringify(first));
      const rec = listed(ctx, 100 * 1024);
      const ignored = listed(ctx, 1000, { status: 'processing' });
      const key = expectedKey(prefix, rec.sid, stampOf(Date.parse(rec.resource.start_time)));
      await waitFor(async () => (await mp3Keys(prefix)).length === 1, { timeout: 15000, interval: 100, what: 'the recording stored by the periodic reconciler' });
      assert.deepStrictEqual(await mp3Keys(prefix), [key]);
      await assertStored(ctx, rec, key);
      const queuedLine = await srv.waitForLog((l) => l.evt === 'reconcile.done' && l.queued === 1, 'reconcile.done with queued 1');
      assert.equal(queuedLine.ok, true);
      // Later passes see it as known and queue nothing.
      await srv.waitForLog((l) => l.evt === 'reconcile.done' && l.known === 1 && l.queued === 0 &&
        srv.logs.indexOf(l) > srv.logs.indexOf(queuedLine),
        'a later reconcile.done with known 1', 10000);
      await stopAndCheck(srv);
      assert.equal(fake.mediaGets(rec.sid).length, 1);
      assert.equal(fake.mediaGets(ignored.sid).length, 0);
      assert.equal(logsFor(srv, 'reconcile.done', (l) => l.queued > 0).length, 1, 'queued more than once');
      assert.equal(logsFor(srv, 'http.request', (l) => l.path === '/recording-callback').length, 0);
    });
  });

  describe('TWILIO_DELETE_AFTER_COPY', () => {
    /** A callback for a new recording of `size` bytes at the fake. */
    function recording(ctx, size = 64 * 1024) {
      const body = randomBytes(size);
      const p = recordingParams(ctx.acct.accountSid);
      p.RecordingUrl = ctx.fake.addRecording(p.RecordingSid, body);
      return { p, body, sid: p.RecordingSid, key: expectedKey(ctx.prefix, p.RecordingSid) };
    }
    const post = (srv, p) => signedPost(srv, '/recording-callback', p);
    const deletes = (fake) => fake.requests.filter((q) => q.method === 'DELETE');

    it('true: stored and verified (HEAD, size equal) -> DELETE at Twilio once, logged; a redelivery deletes nothing more', async () => {
      // For every HEAD of the recording answered by S3: how many deletions Twilio had seen by then.
      const deletionsAtHead = [];
      let fake;
      const proxy = await startHttpProxy(suite.swift.port, {
        rewrite: (e) => { if (e.method === 'HEAD' && e.path.split('?')[0].endsWith('.mp3')) deletionsAtHead.push(fake.deletions.length); },
      });
      cleanups.push(() => proxy.stop());
      const ctx = await setup('del-on', { TWILIO_DELETE_AFTER_COPY: 'true' }, { s3Endpoint: proxy.endpoint });
      fake = ctx.fake;
      const { srv, acct } = ctx;
      const rec = recording(ctx);
      const r = await post(srv, rec.p);
      assert.equal(r.status, 200, r.body);
      const line = await srv.waitForLog((l) => l.evt === 'twilio.recording.deleted' && l.RecordingSid === rec.sid, 'twilio.recording.deleted', 10000);
      assert.ok(line);
      assert.deepStrictEqual(fake.deletions, [rec.sid]);
      const d = deletes(fake);
      assert.equal(d.length, 1, JSON.stringify(d.map((q) => q.path)));
      assert.equal(d[0].path, `/2010-04-01/Accounts/${acct.accountSid}/Recordings/${rec.sid}.json`);
      assert.equal(d[0].headers.authorization, 'Basic ' + Buffer.from(`${acct.accountSid}:${acct.authToken}`).toString('base64'));
      // The stored object was checked (HEAD answered 200) before Twilio's copy was deleted.
      const heads = proxy.requests.filter((q) => q.method === 'HEAD' && q.path.split('?')[0].endsWith(`/${rec.key}`));
      assert.ok(heads.some((q) => q.status === 200), `no HEAD 200 of ${rec.key}: ${JSON.stringify(heads)}`);
      assert.ok(deletionsAtHead.includes(0), 'no HEAD of the object before the DELETE at Twilio');
      await assertStored(ctx, rec, rec.key);

      // A redelivered callback: already stored, nothing deleted again.
      assert.equal((await post(srv, rec.p)).status, 200);
      await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === rec.sid, 'recording.duplicate');
      await stopAndCheck(srv);
      assert.equal(deletes(fake).length, 1, 'a second DELETE');
      assert.equal(logsFor(srv, 'twilio.recording.deleted').length, 1);
    });

    it('unset: stored, nothing deleted at Twilio', async () => {
      const ctx = await setup('del-off');
      const { srv, fake } = ctx;
      const rec = recording(ctx);
      assert.equal((await post(srv, rec.p)).status, 200);
      await srv.waitForLog((l) => l.evt === 'report.stored' && l.RecordingSid === rec.sid, 'report.stored', 10000);
      await stopAndCheck(srv); // the workers finish their follow-ups before the exit
      await assertStored(ctx, rec, rec.key);
      assert.deepStrictEqual(deletes(fake), []);
      assert.deepStrictEqual(fake.deletions, []);
      assert.equal(logsFor(srv, 'twilio.recording.deleted').length, 0);
    });

    it('true, wrong S3 secret: never stored, nothing deleted', async () => {
      const ctx = await setup('del-403', { TWILIO_DELETE_AFTER_COPY: 'true', AWS_SECRET_ACCESS_KEY: `wrong-${hex(16)}`, RECORDING_CALLBACK_WAIT: '0s' });
      const { srv, fake } = ctx;
      const rec = recording(ctx);
      await post(srv, rec.p);
      await waitFor(() => logsFor(srv, 's3.put.error', (l) => l.key === rec.key).length >= 2,
        { timeout: 10000, what: 'two failed uploads' });
      await stopAndCheck(srv);
      assert.deepStrictEqual(await keys(ctx.prefix), []);
      assert.deepStrictEqual(deletes(fake), []);
      assert.equal(logsFor(srv, 'twilio.recording.deleted').length, 0);
    });

    it('true, S3 down (TCP proxy): nothing deleted while down; once S3 is back and the copy stored, deleted once', async () => {
      const tcp = await startTcpProxy(suite.swift.port);
      cleanups.push(() => tcp.stop());
      tcp.down();
      const ctx = await setup('del-down', { TWILIO_DELETE_AFTER_COPY: 'true', RECORDING_CALLBACK_WAIT: '0s' }, { s3Endpoint: tcp.endpoint });
      const { srv, fake } = ctx;
      const rec = recording(ctx);
      await post(srv, rec.p);
      await waitFor(() => logsFor(srv, 's3.put.error', (l) => l.key === rec.key).length >= 2,
        { timeout: 10000, what: 'two failed uploads while S3 is down' });
      assert.deepStrictEqual(deletes(fake), [], 'deleted while S3 was down');
      assert.equal(fake.mediaGets(rec.sid).at(-1)?.status, 200, 'the media is still at Twilio');

      tcp.up();
      await srv.waitForLog((l) => l.evt === 'twilio.recording.deleted' && l.RecordingSid === rec.sid, 'twilio.recording.deleted after S3 came back', 15000);
      await assertStored(ctx, rec, rec.key);
      await stopAndCheck(srv);
      assert.deepStrictEqual(fake.deletions, [rec.sid]);
      assert.equal(deletes(fake).length, 1);
    });

    for (const mode of ['size', 'error']) {
      const what = mode === 'size' ? 'HEAD reports another size' : 'HEAD fails (503)';
      it(`true, stored but not verifiable (${what}): skipped with a log line, nothing deleted`, async () => {
        let putDone = false;
        const proxy = await startHttpProxy(suite.swift.port, {
          rewrite: (e) => {
            const path = e.path.split('?')[0];
            if (!path.endsWith('.mp3')) return undefined;
            if (e.method === 'PUT' && e.status === 200) putDone = true;
            // Only the HEADs after the upload: the upload itself goes through untouched.
            if (e.method !== 'HEAD' || !putDone || e.status !== 200) return undefined;
            if (mode === 'error') return { status: 503, headers: { 'Content-Length': '0' } };
            return { status: 200, headers: { ...e.headers, 'content-length': String(Number(e.headers['content-length']) + 1) } };
          },
        });
        cleanups.push(() => proxy.stop());
        const ctx = await setup(`del-${mode}`, { TWILIO_DELETE_AFTER_COPY: 'true' }, { s3Endpoint: proxy.endpoint });
        const { srv, fake } = ctx;
        const rec = recording(ctx);
        assert.equal((await post(srv, rec.p)).status, 200);
        const skipped = await srv.waitForLog((l) => (l.evt === 'twilio.delete.skipped' || l.evt === 'twilio.delete.error') &&
          l.RecordingSid === rec.sid, 'twilio.delete.skipped', 10000);
        assert.equal(skipped.evt, 'twilio.delete.skipped', JSON.stringify(skipped));
        await stopAndCheck(srv);
        assert.ok(proxy.requests.some((q) => q.rewritten), 'the proxy never rewrote a HEAD: the test did not test anything');
        await assertStored(ctx, rec, rec.key);
        assert.deepStrictEqual(deletes(fake), []);
        assert.deepStrictEqual(fake.deletions, []);
        assert.equal(logsFor(srv, 'twilio.recording.deleted').length, 0);
      });
    }
  });
});
