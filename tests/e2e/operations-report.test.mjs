// Operations (issue 6), call records: the JSON report stored next to each recording (same key,
// ".json") tells the conference as the webhooks told it, whatever order and however many times
// the status events came; and RECORDING_NOTIFY_URL receives a notice when a recording is stored
// or dead-lettered. One Swift for the file; every test has its own fake Twilio, service, prefix.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { account, confParams, FROM, hex, PIN_PRODUCER, PIN_SPEAKER, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { swiftForSuite, serviceEnv } from './lib/swift.mjs';
import { startFakeTwilio, expectedKey } from './lib/fake-twilio.mjs';
import { startNotifySink } from './lib/notify-sink.mjs';
import { listKeys, headObject, getBytes, waitForListing } from './lib/s3.mjs';

const BUCKET = `pl-ops-rep-${hex(8)}`;
const FROM2 = '+15559873210';

const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('operations: recording report and notices', () => {
  const suite = swiftForSuite({ buckets: [BUCKET] });
  const { cleanups } = suite;

  async function setup(name, extra = {}) {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    cleanups.push(() => fake.stop());
    const prefix = `${name}-${hex(8)}/`;
    const env = serviceEnv({ acct, fake, s3Endpoint: suite.swift.endpoint, bucket: BUCKET, prefix, extra });
    const srv = await startServer({ env });
    cleanups.push(() => srv.stop());
    return { acct, fake, prefix, env, srv };
  }

  async function post(srv, path, params, status) {
    const r = await signedPost(srv, path, params);
    assert.equal(r.status, status, `${path} ${JSON.stringify(params)}: ${r.status} ${r.body}`);
    return r;
  }

  /** The stored report of `mp3Key` (polled: it is written after the recording), parsed. */
  async function report(prefix, mp3Key) {
    const key = mp3Key.replace(/\.mp3$/, '.json');
    await waitFor(async () => (await listKeys(suite.swift.client, BUCKET, prefix)).includes(key),
      { timeout: 10000, interval: 100, what: `the report ${key}` });
    const h = await headObject(suite.swift.client, BUCKET, key);
    assert.match(String(h.ContentType), /^application\/json\b/, `report Content-Type ${h.ContentType}`);
    const text = (await getBytes(suite.swift.client, BUCKET, key)).toString('utf8');
    let json;
    try { json = JSON.parse(text); } catch { assert.fail(`the report is not JSON: ${text}`); }
    return { key, text, json };
  }

  function assertNoNumbersOrPins(text) {
    for (const n of [FROM, FROM2]) {
      for (const s of [n, n.slice(1), n.slice(2)]) assert.ok(!text.includes(s), `full number ${s} in ${text}`);
    }
    for (const pin of [PIN_PRODUCER, PIN_SPEAKER]) assert.ok(!text.includes(pin), `a PIN in ${text}`);
  }

  it('with the PIN gate: duplicated and out-of-order status events -> the report tells the conference in sequence order', async () => {
    const ctx = await setup('rep', { PIN_SPEAKER, PIN_PRODUCER });
    const { srv, fake, acct, prefix } = ctx;
    const A = sid('CA');
    const B = sid('CA');
    const CF = sid('CF');
    const T0 = Date.parse('2025-10-25T19:17:40Z');

    await post(srv, '/voice', voiceParams(acct.accountSid, { CallSid: A, From: FROM }), 200);
    await post(srv, '/voice', voiceParams(acct.accountSid, { CallSid: B, From: FROM2 }), 200);
    await post(srv, '/check-pin', voiceParams(acct.accountSid, { CallSid: A, From: FROM, Digits: PIN_PRODUCER, CallStatus: 'in-progress' }), 200);
    await post(srv, '/check-pin', voiceParams(acct.accountSid, { CallSid: B, From: FROM2, Digits: PIN_SPEAKER, CallStatus: 'in-progress' }), 200);
    await srv.waitForLog((l) => l.evt === 'pin.producer' && l.CallSid === A, 'pin.producer');
    await srv.waitForLog((l) => l.evt === 'pin.speaker' && l.CallSid === B, 'pin.speaker');

    // The conference as it happened (SequenceNumber, event, call, seconds after T0, extra).
    const story = {
      1: ['participant-join', A, 0, { Muted: 'true' }],
      2: ['conference-start', null, 0, {}],
      3: ['participant-join', B, 5, { Muted: 'false' }],
      4: ['participant-mute', B, 20, { Muted: 'true' }],
      5: ['participant-unmute', B, 25, { Muted: 'false' }],
      6: ['participant-leave', B, 60, { Muted: 'false' }],
      7: ['participant-leave', A, 65, { Muted: 'true' }],
      8: ['conference-end', null, 66, { ReasonConferenceEnded: 'last-participant-left' }],
    };
    // As it arrives: out of order, 3, 6 and 1 twice. Taken in arrival order, B would end up
    // joined again (left null) and muted, and A would join after leaving.
    const arrival = [3, 6, 2, 1, 5, 4, 3, 8, 7, 6, 1];
    for (const seq of arrival) {
      const [event, call, dt, extra] = story[seq];
      const p = confParams(acct.accountSid, event, {
        ConferenceSid: CF, SequenceNumber: String(seq), Timestamp: rfc2822(T0 + dt * 1000), ...extra,
        ...(call ? { CallSid: call } : {}),
      });
      await post(srv, '/conf-status', p, 204);
    }

    // Then the recording (started a second after the conference) is stored.
    const body = randomBytes(32 * 1024);
    const p = recordingParams(acct.accountSid, {
      ConferenceSid: CF, RecordingStartTime: rfc2822(T0 + 1000), RecordingDuration: '64',
    });
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
    const mp3Key = expectedKey(prefix, p.RecordingSid, '2025-10-25T19-17-41Z');
    await post(srv, '/recording-callback', p, 200);

    const rep = await report(prefix, mp3Key);
    assert.equal(rep.key, `${prefix}2025-10-25T19-17-41Z-${p.RecordingSid}.json`);
    assert.deepStrictEqual(rep.json, {
      recording_sid: p.RecordingSid,
      key: mp3Key,
      conference_sid: CF,
      recording_start: '2025-10-25T19:17:41Z',
      duration_seconds: 64,
      start: iso(T0),
      end: iso(T0 + 66000),
      conference_seconds: 66,
      peak_participants: 2,
      participants: [
        { call_sid: A, caller: '***4567', role: 'producer', joined: iso(T0), left: iso(T0 + 65000), muted: true },
        { call_sid: B, caller: '***3210', role: 'speaker', joined: iso(T0 + 5000), left: iso(T0 + 60000), muted: false },
      ],
    });
    assertNoNumbersOrPins(rep.text);
    const line = await srv.waitForLog((l) => l.evt === 'report.stored' && l.key === rep.key, 'report.stored');
    assert.ok(line);
    // The recording itself is there, unchanged, next to its report (its listing may lag).
    const listed = await waitForListing(() => listKeys(suite.swift.client, BUCKET, prefix), (keys) => keys.includes(mp3Key),
      { what: `${mp3Key} listed` });
    assert.deepStrictEqual(listed.sort(), [rep.key, mp3Key].sort());
    assert.ok((await getBytes(suite.swift.client, BUCKET, mp3Key)).equals(body));

    await stopAndCheck(srv, { pins: [PIN_PRODUCER, PIN_SPEAKER] });
    assertNoNumbersOrPins(srv.rawLines.join('\n'));
  });

  it('without the PIN gate: role null; RECORDING_NOTIFY_URL gets one recording.stored notice with the stored object\'s facts', async () => {
    const sink = await startNotifySink();
    cleanups.push(() => sink.stop());
    const ctx = await setup('notify', { RECORDING_NOTIFY_URL: sink.url });
    const { srv, fake, acct, prefix } = ctx;
    const C = sid('CA');
    const CF = sid('CF');
    const T0 = Date.parse('2025-10-25T19:17:30Z');
    await post(srv, '/voice', voiceParams(acct.accountSid, { CallSid: C, From: FROM }), 200);
    const events = [
      ['conference-start', null, 0], ['participant-join', C, 0], ['participant-leave', C, 50], ['conference-end', null, 51],
    ];
    for (const [i, [event, call, dt]] of events.entries()) {
      await post(srv, '/conf-status', confParams(acct.accountSid, event, {
        ConferenceSid: CF, SequenceNumber: String(i + 1), Timestamp: rfc2822(T0 + dt * 1000), ...(call ? { CallSid: call } : {}),
      }), 204);
    }
    const body = randomBytes(48 * 1024 + 7);
    const p = recordingParams(acct.accountSid, { ConferenceSid: CF });
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
    const key = expectedKey(prefix, p.RecordingSid);
    await post(srv, '/recording-callback', p, 200);

    const rep = await report(prefix, key);
    assert.equal(rep.json.peak_participants, 1);
    assert.equal(rep.json.conference_seconds, 51);
    assert.deepStrictEqual(rep.json.participants,
      [{ call_sid: C, caller: '***4567', role: null, joined: iso(T0), left: iso(T0 + 50000), muted: false }]);

    const notice = await waitFor(() => sink.notices.find((n) => n.recording_sid === p.RecordingSid),
      { timeout: 10000, what: 'the recording.stored notice' });
    const req = sink.requests.find((r) => r.body.includes(p.RecordingSid));
    assert.equal(req.method, 'POST');
    assert.match(String(req.headers['content-type']), /^application\/json\b/);
    assert.equal(notice.event, 'recording.stored');
    assert.equal(notice.conference_sid, CF);
    assert.equal(notice.key, key);
    assert.equal(typeof notice.location, 'string');
    assert.ok(notice.location.includes(key), `location ${notice.location} does not name the key`);
    assert.equal(Number(notice.bytes), body.length);
    assert.equal(notice.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(String(notice.duration), p.RecordingDuration);
    assert.equal(notice.start_time, '2025-10-25T19:17:43Z');
    assert.ok(!notice.error, `error on a stored notice: ${JSON.stringify(notice.error)}`);
    for (const k of ['event', 'recording_sid', 'conference_sid', 'key', 'location', 'bytes', 'sha256', 'duration', 'start_time', 'error']) {
      assert.ok(k in notice, `notice without ${k}: ${JSON.stringify(notice)}`);
    }
    await stopAndCheck(srv);
    assert.equal(sink.notices.filter((n) => n.recording_sid === p.RecordingSid).length, 1, 'one notice per recording');
    assert.ok(!sink.requests.some((r) => r.body.includes(acct.authToken)), 'the auth token in a notice');
  });

  it('RECORDING_NOTIFY_URL: a recording dead-lettered -> one recording.dead notice naming the error', async () => {
    const sink = await startNotifySink();
    cleanups.push(() => sink.stop());
    const ctx = await setup('notify-dead', {
      RECORDING_NOTIFY_URL: sink.url, RECORDING_MAX_AGE: '2s', RECORDING_RETRY_MIN: '100ms', RECORDING_RETRY_MAX: '300ms',
      RECORDING_CALLBACK_WAIT: '0s',
    });
    const { srv, fake, acct, prefix } = ctx;
    const p = recordingParams(acct.accountSid);
    p.RecordingUrl = fake.addRecording(p.RecordingSid, randomBytes(1000), { notReady: 1e9 });
    await signedPost(srv, '/recording-callback', p);
    const notice = await waitFor(() => sink.notices.find((n) => n.recording_sid === p.RecordingSid),
      { timeout: 15000, what: 'the recording.dead notice' });
    assert.equal(notice.event, 'recording.dead');
    assert.equal(notice.conference_sid, p.ConferenceSid);
    assert.equal(notice.key, expectedKey(prefix, p.RecordingSid));
    assert.match(String(notice.error), /404/, JSON.stringify(notice));
    await srv.waitForLog((l) => l.evt === 'recording.dead' && l.RecordingSid === p.RecordingSid, 'recording.dead');
    await stopAndCheck(srv);
    assert.equal(sink.notices.filter((n) => n.recording_sid === p.RecordingSid).length, 1);
    assert.deepStrictEqual(await listKeys(suite.swift.client, BUCKET, prefix), []);
  });
});
