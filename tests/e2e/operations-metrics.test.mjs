// Operations (issue 6): GET /metrics (Prometheus text) moves as the requests and recordings do,
// and METRICS_TOKEN protects it. No S3 here: recordings go to local storage (no S3_BUCKET).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, after } from 'node:test';
import { request, signedPost } from './lib/http.mjs';
import { account, confParams, hex, NO_FETCH_ENV, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { parseMetrics, scrape } from './lib/metrics.mjs';

const REQ = 'partyline_http_requests_total';
const DUR = 'partyline_http_request_duration_seconds';
const RECORDING_SERIES = [
  'partyline_recordings_queued_total', 'partyline_recordings_stored_total', 'partyline_recordings_failed_total',
  'partyline_recordings_dead_total', 'partyline_recording_copy_bytes_total', 'partyline_recording_copy_seconds_total',
];
const GAUGES = ['partyline_recordings_queue_depth', 'partyline_recordings_oldest_pending_age_seconds', 'partyline_conference_participants'];

/** A labelled or plain sample, 0 when the series is absent (counters start at 0). */
const val = (m, name, labels = {}) => m.get(name, labels) ?? 0;

/** The histogram of `route` is well formed: cumulative buckets, +Inf = _count. */
function assertHistogram(m, route) {
  const buckets = m.all(`${DUR}_bucket`).filter((s) => s.labels.route === route);
  assert.ok(buckets.length >= 2, `no histogram buckets for ${route}`);
  const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
  assert.deepStrictEqual([...les].sort((a, b) => a - b), les, 'le values in increasing order');
  assert.equal(les.at(-1), Infinity, 'the last bucket is le="+Inf"');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'buckets are cumulative');
  assert.equal(buckets.at(-1).value, m.get(`${DUR}_count`, { route }), '+Inf bucket = _count');
}

describe('operations: GET /metrics', () => {
  const cleanups = [];
  after(async () => { for (const f of cleanups.reverse()) await f().catch(() => {}); });

  it('counters and gauges move as the webhooks, recordings and conferences do', async () => {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    cleanups.push(() => fake.stop());
    const srv = await startServer({
      env: {
        TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin,
        RECORDING_CALLBACK_WAIT: '0s', RECORDING_RETRY_MIN: '200ms', RECORDING_RETRY_MAX: '1s',
      },
    });
    cleanups.push(() => srv.stop());

    const m0 = await scrape(srv);
    assert.match(String(m0.response.headers['content-type']), /^text\/plain\b/);
    for (const name of [...RECORDING_SERIES, 'partyline_signature_rejections_total']) {
      assert.equal(m0.types.get(name), 'counter', `# TYPE ${name} counter`);
      assert.notEqual(m0.get(name), undefined, `${name} is exported from the start`);
    }
    for (const name of GAUGES) {
      assert.equal(m0.types.get(name), 'gauge', `# TYPE ${name} gauge`);
      assert.equal(m0.get(name), 0, `${name} at start`);
    }

    // N signed /voice, one with a wrong signature, one unknown path.
    const N = 5;
    for (let i = 0; i < N; i++) {
      const r = await signedPost(srv, '/voice', voiceParams(acct.accountSid));
      assert.equal(r.status, 200, r.body);
    }
    const bad = await signedPost(srv, '/voice', voiceParams(acct.accountSid), { token: hex(32) });
    assert.equal(bad.status, 403);
    const unknown = await request(srv.port, { path: `/no-such-${hex(6)}` });
    assert.equal(unknown.status, 404);

    const m1 = await scrape(srv);
    assert.equal(m1.types.get(REQ), 'counter');
    assert.equal(m1.types.get(DUR), 'histogram');
    const d = (name, labels) => val(m1, name, labels) - val(m0, name, labels);
    assert.equal(d(REQ, { route: '/voice', status: '200' }), N, 'signed /voice 200');
    assert.equal(d(REQ, { route: '/voice', status: '403' }), 1, '/voice 403');
    assert.equal(d(REQ, { route: 'other', status: '404' }), 1, 'unknown path: route="other"');
    assert.equal(d('partyline_signature_rejections_total'), 1);
    assert.equal(d(`${DUR}_count`, { route: '/voice' }), N + 1, 'latency observations of /voice');
    assert.ok(d(`${DUR}_sum`, { route: '/voice' }) > 0, 'latency sum of /voice grew');
    assertHistogram(m1, '/voice');
    assert.ok(!m1.samples.some((s) => s.labels.route && s.labels.route.startsWith('/no-such-')),
      'an unknown path became a route label');
    for (const name of RECORDING_SERIES) assert.equal(d(name), 0, `${name} moved without a recording`);

    // A recording is copied (to local storage): queued +1, stored +1, bytes += its size.
    const body = randomBytes(100 * 1024 + 3);
    const p = recordingParams(acct.accountSid);
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
    await signedPost(srv, '/recording-callback', p);
    await srv.waitForLog((l) => l.evt === 'recording.fetch.ok' && l.RecordingSid === p.RecordingSid, 'recording.fetch.ok', 10000);
    // The counters of a stored recording move one after the other: wait for all of them.
    const moved = (m, name) => val(m, name) > val(m1, name);
    const m2 = await waitFor(async () => {
      const m = await scrape(srv);
      return moved(m, 'partyline_recordings_stored_total') && moved(m, 'partyline_recording_copy_bytes_total') &&
        m.get('partyline_recordings_queue_depth') === 0 ? m : null;
    }, { timeout: 10000, interval: 50, what: 'stored_total and copy_bytes_total to move and the queue to empty' });
    const d2 = (name, labels) => val(m2, name, labels) - val(m1, name, labels);
    assert.equal(d2('partyline_recordings_queued_total'), 1);
    assert.equal(d2('partyline_recordings_stored_total'), 1);
    assert.equal(d2('partyline_recording_copy_bytes_total'), body.length);
    assert.ok(d2('partyline_recording_copy_seconds_total') >= 0);
    assert.equal(d2('partyline_recordings_failed_total'), 0);
    assert.equal(d2('partyline_recordings_dead_total'), 0);
    assert.equal(d2(REQ, { route: '/recording-callback', status: '503' }) + d2(REQ, { route: '/recording-callback', status: '200' }), 1,
      'the callback counted under its route');

    // One that cannot be fetched yet stays pending: depth 1, and its age grows.
    const p2 = recordingParams(acct.accountSid);
    p2.RecordingUrl = fake.addRecording(p2.RecordingSid, randomBytes(1000), { notReady: 1e9 });
    await signedPost(srv, '/recording-callback', p2);
    const m3 = await waitFor(async () => {
      const m = await scrape(srv);
      return m.get('partyline_recordings_oldest_pending_age_seconds') >= 0.3 ? m : null;
    }, { timeout: 10000, interval: 50, what: 'oldest_pending_age_seconds >= 0.3' });
    assert.equal(m3.get('partyline_recordings_queue_depth'), 1);
    assert.equal(val(m3, 'partyline_recordings_queued_total') - val(m2, 'partyline_recordings_queued_total'), 1);
    assert.equal(val(m3, 'partyline_recordings_stored_total'), val(m2, 'partyline_recordings_stored_total'));
    assert.ok(m3.get('partyline_recordings_oldest_pending_age_seconds') < 30);

    // Participants now: two join, one leaves, the conference ends.
    const CF = sid('CF');
    const [X, Y] = [sid('CA'), sid('CA')];
    let seq = 0;
    const conf = async (event, extra = {}) => {
      const r = await signedPost(srv, '/conf-status', confParams(acct.accountSid, event, { ConferenceSid: CF, SequenceNumber: String(++seq), ...extra }));
      assert.equal(r.status, 204);
    };
    const participants = async () => (await scrape(srv)).get('partyline_conference_participants');
    await conf('participant-join', { CallSid: X });
    await conf('conference-start');
    await conf('participant-join', { CallSid: Y });
    assert.equal(await participants(), 2);
    await conf('participant-leave', { CallSid: X });
    assert.equal(await participants(), 1);
    await conf('participant-leave', { CallSid: Y });
    await conf('conference-end');
    assert.equal(await participants(), 0);

    await stopAndCheck(srv);
  });

  it('METRICS_TOKEN: 401 without or with a wrong bearer, 200 with it; the token never logged', async () => {
    const token = `m-${hex(30)}`;
    const srv = await startServer({ env: { ...NO_FETCH_ENV, METRICS_TOKEN: token } });
    cleanups.push(() => srv.stop());
    for (const headers of [{}, { Authorization: `Bearer ${hex(32)}` }, { Authorization: token }, { Authorization: `Basic ${token}` }]) {
      const r = await request(srv.port, { path: '/metrics', headers });
      assert.equal(r.status, 401, `${JSON.stringify(headers)} -> ${r.status}`);
      assert.ok(!r.body.includes('partyline_'), 'metrics leaked in a 401');
    }
    const ok = await request(srv.port, { path: '/metrics', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, ok.body);
    const m = parseMetrics(ok.body);
    assert.ok(m.all(REQ).some((s) => s.labels.route === '/metrics' && s.labels.status === '401'),
      `the 401s are counted:\n${ok.body}`);
    await stopAndCheck(srv);
    assert.ok(!srv.rawLines.join('\n').includes(token), 'METRICS_TOKEN appears in stdout');
  });
});
