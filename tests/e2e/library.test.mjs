// The library's API over real sockets: past sessions listed, filtered and paged; one session's
// report; a recording's audio (the local store's file with byte ranges; S3's presigned link,
// fetched from the loopback Swift); retry of a dead copy; delete (admins only) and the tombstone
// that keeps a late duplicate callback from copying again; the retention sweep.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './lib/api.mjs';
import { request, signedPost } from './lib/http.mjs';
import { account, confParams, hex, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';
import { headObject } from './lib/s3.mjs';
import { serviceEnv, swiftForSuite } from './lib/swift.mjs';

const PASSWORD = 'correct horse battery staple';
const DAY = 24 * 3600 * 1000;

const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

async function addUser(srv, name, role) {
  const add = await runCommand(['users', 'add', name, '--role', role], srv.env, { stdin: `${PASSWORD}\n` });
  assert.equal(add.code, 0, add.stderr);
}

async function signIn(srv, name) {
  const r = await api(srv, 'POST', '/api/session', { body: { username: name, password: PASSWORD } });
  assert.equal(r.status, 204, r.body);
  return r.headers['set-cookie'].find((c) => c.startsWith('partyline_session=')).split(';')[0];
}

/**
 * A past session as Twilio would tell it: each caller's /voice (To the room's number), the
 * conference's events at `at` (start, joins, leaves after `minutes`, end), and, with `recording`,
 * the recording callback of its media (registered with the fake). Returns its SIDs and bytes.
 */
async function addSession(srv, fake, { at, to, room, callers = [], minutes = 5, end = true, recording = true, ext = 'mp3' }) {
  const acct = srv.accountSid;
  const conf = sid('CF');
  const calls = [];
  for (const from of callers) {
    const v = voiceParams(acct, { From: from, To: to });
    const r = await signedPost(srv, '/voice', v);
    assert.equal(r.status, 200, r.body);
    calls.push(v.CallSid);
  }
  let seq = 0;
  const event = async (name, extra, when) => {
    const p = confParams(acct, name, { ConferenceSid: conf, FriendlyName: room, SequenceNumber: String(++seq), Timestamp: rfc2822(when), ...extra });
    const r = await signedPost(srv, '/conf-status', p);
    assert.equal(r.status, 204, r.body);
  };
  await event('conference-start', {}, at);
  for (const call of calls) await event('participant-join', { CallSid: call }, at + 1000);
  if (end) {
    for (const call of calls) await event('participant-leave', { CallSid: call }, at + minutes * 60000 - 1000);
    await event('conference-end', {}, at + minutes * 60000);
  }
  let rec = null;
  if (recording) {
    const body = randomBytes(3000 + Math.floor(Math.random() * 1000));
    const p = recordingParams(acct, { ConferenceSid: conf, RecordingStartTime: rfc2822(at), RecordingDuration: String(minutes * 60) });
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body, { ext });
    const r = await signedPost(srv, '/recording-callback', p);
    assert.equal(r.status, 200, r.body);
    rec = { sid: p.RecordingSid, body, params: p };
  }
  return { conf, calls, rec };
}

const ROOMS = `pin_length = 4

[[room]]
name = "morning"
numbers = ["+18005550101"]

[[room]]
name = "evening"
numbers = ["+18005550102"]
`;
const MORNING = '+18005550101';
const EVENING = '+18005550102';

describe('library: sessions, audio from the local store, retry and delete', () => {
  let srv, fake, dir, admin, producer;
  const t0 = Date.UTC(2026, 10, 30, 10, 0, 0); // 2026-11-30 10:00 UTC
  let s1, s2, s3;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'partyline-lib-'));
    writeFileSync(join(dir, 'rooms.toml'), ROOMS);
    const acct = account();
    fake = await startFakeTwilio({ ...acct, conferences: 'any' });
    srv = await startServer({ env: {
      TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin,
      ROOMS_FILE: join(dir, 'rooms.toml'), RECORDING_MAX_AGE: '2s', RECORDING_RETRY_MIN: '100ms', RECORDING_RETRY_MAX: '300ms',
    } });
    await addUser(srv, 'alice', 'admin');
    await addUser(srv, 'bob', 'producer');
    admin = await signIn(srv, 'alice');
    producer = await signIn(srv, 'bob');
    s1 = await addSession(srv, fake, { at: t0, to: MORNING, room: 'morning', callers: ['+15550001111', '+15550002222'] });
    s2 = await addSession(srv, fake, { at: t0 + DAY - 3600000, to: EVENING, room: 'evening', callers: ['+15550003333'], ext: 'mp3' });
    s3 = await addSession(srv, fake, { at: t0 + DAY + 8 * 3600000, to: MORNING, room: 'morning', callers: ['+15550001111'], recording: false });
  });
  after(async () => { await srv?.stop(); await fake?.stop(); rmSync(dir, { recursive: true, force: true }); });

  it('every route needs a session (401), and the page sends to sign-in', async () => {
    const re = sid('RE');
    for (const [method, path] of [['GET', '/api/sessions'], ['GET', `/api/sessions/${s1.conf}`],
      ['GET', `/api/recordings/${re}/audio`], ['POST', `/api/recordings/${re}/retry`], ['DELETE', `/api/recordings/${re}`]]) {
      assert.equal((await api(srv, method, path, { cookie: 'partyline_session=forged' })).status, 401, `${method} ${path}`);
    }
    const page = await request(srv.port, { path: '/console/sessions' });
    assert.equal(page.status, 302);
    assert.match(page.headers.location, /^\/console\/sign-in\?next=\/console\/sessions/);
    const me = await api(srv, 'GET', '/api/session', { cookie: producer });
    assert.deepStrictEqual(me.json, { user: 'bob', role: 'producer' });
  });

  it('lists sessions newest first: room, times, duration, peak, recordings with state and size', async () => {
    const r = await api(srv, 'GET', `/api/sessions?from=${isoDay(t0)}&to=${isoDay(t0 + DAY)}`, { cookie: admin });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store');
    const got = r.json.sessions;
    assert.deepStrictEqual(got.map((s) => s.conference_sid), [s3.conf, s2.conf, s1.conf]);
    assert.equal(r.json.next_cursor, null);
    const one = got[2];
    assert.equal(one.room, 'morning');
    assert.equal(one.started_at, new Date(t0).toISOString());
    assert.equal(one.ended_at, new Date(t0 + 5 * 60000).toISOString());
    assert.equal(one.duration_seconds, 300);
    assert.equal(one.peak_participants, 2);
    assert.equal(one.recordings.length, 1);
    const rec = one.recordings[0];
    assert.equal(rec.recording_sid, s1.rec.sid);
    assert.equal(rec.state, 'stored');
    assert.equal(rec.bytes, s1.rec.body.length);
    assert.equal(rec.duration_seconds, 300);
    assert.equal(rec.content_type, 'audio/mpeg');
    assert.match(rec.key, new RegExp(`^morning/.*-${s1.rec.sid}\\.mp3$`));
    assert.equal(rec.expires_at, null, 'no retention: no expiry');
    assert.equal(got[1].room, 'evening');
    assert.deepStrictEqual(got[0].recordings, [], 'a session without a recording is listed too');
  });

  it('filters by room, by dates (UTC days, both ends included) and by a caller\'s last digits', async () => {
    const list = async (q) => {
      const r = await api(srv, 'GET', `/api/sessions?${q}`, { cookie: admin });
      assert.equal(r.status, 200, `${q}: ${r.body}`);
      return r.json.sessions.map((s) => s.conference_sid);
    };
    const range = `from=${isoDay(t0)}&to=${isoDay(t0 + DAY)}`;
    assert.deepStrictEqual(await list(`${range}&room=morning`), [s3.conf, s1.conf]);
    assert.deepStrictEqual(await list(`${range}&room=evening`), [s2.conf]);
    assert.deepStrictEqual(await list(`${range}&room=nobody`), []);
    assert.deepStrictEqual(await list(`from=${isoDay(t0)}&to=${isoDay(t0)}`), [s1.conf]);
    assert.deepStrictEqual(await list(`from=${isoDay(t0 + DAY)}&to=${isoDay(t0 + DAY)}`), [s3.conf, s2.conf]);
    assert.deepStrictEqual(await list(`${range}&q=1111`), [s3.conf, s1.conf]);
    assert.deepStrictEqual(await list(`${range}&q=3333`), [s2.conf]);
    assert.deepStrictEqual(await list(`${range}&q=2222&room=morning`), [s1.conf]);
    assert.deepStrictEqual(await list(`${range}&q=9999`), []);
  });

  it('bad parameters answer 400 with the reason', async () => {
    for (const q of ['from=2026-13-01', 'to=2026-02-30', 'from=yesterday', `from=${isoDay(t0 + DAY)}&to=${isoDay(t0)}`,
      'q=abc', 'q=12345', 'cursor=nonsense', 'cursor=12~x!y', 'room=no%20spaces', 'colour=red', 'room=a&room=b']) {
      const r = await api(srv, 'GET', `/api/sessions?${q}`, { cookie: admin });
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.body}`);
      assert.equal(typeof r.json.error, 'string');
      assert.ok(r.json.error.length > 0);
    }
    assert.equal((await api(srv, 'GET', `/api/sessions/${sid('CF')}`, { cookie: admin })).status, 404);
    assert.equal((await api(srv, 'GET', '/api/sessions/not-a-sid', { cookie: admin })).status, 404);
    assert.equal((await api(srv, 'POST', '/api/sessions', { cookie: admin })).status, 405);
  });

  it('pages 50 at a time; the cursor holds while newer sessions arrive', async () => {
    const base = Date.UTC(2026, 9, 1, 0, 0, 0); // October: its own range
    const made = [];
    for (let i = 0; i < 60; i++) {
      made.push((await addSession(srv, fake, { at: base + i * 60000, to: MORNING, room: 'morning', recording: false })).conf);
    }
    const range = `from=${isoDay(base)}&to=${isoDay(base)}`;
    const first = await api(srv, 'GET', `/api/sessions?${range}`, { cookie: admin });
    assert.equal(first.json.sessions.length, 50);
    assert.equal(typeof first.json.next_cursor, 'string');
    // A newer session arrives between the pages: the next page neither repeats nor skips.
    const newer = (await addSession(srv, fake, { at: base + 3600000, to: MORNING, room: 'morning', recording: false })).conf;
    const second = await api(srv, 'GET', `/api/sessions?${range}&cursor=${encodeURIComponent(first.json.next_cursor)}`, { cookie: admin });
    assert.equal(second.status, 200, second.body);
    assert.equal(second.json.next_cursor, null);
    const seen = [...first.json.sessions, ...second.json.sessions].map((s) => s.conference_sid);
    assert.deepStrictEqual(seen, [...made].reverse());
    const again = await api(srv, 'GET', `/api/sessions?${range}`, { cookie: admin });
    assert.equal(again.json.sessions[0].conference_sid, newer);
  });

  it('one session: the report with each participant and the console actions taken on them', async () => {
    const live = await addSession(srv, fake, { at: Date.now() - 60000, to: MORNING, room: 'morning', callers: ['+15550004444'], end: false, recording: false });
    const mute = await api(srv, 'POST', `/api/rooms/morning/participants/${live.calls[0]}`, { cookie: admin, body: { muted: true } });
    assert.equal(mute.status, 202, mute.body);
    const r = await waitFor(async () => {
      const d = await api(srv, 'GET', `/api/sessions/${live.conf}`, { cookie: producer });
      return d.json?.actions?.length ? d : undefined;
    }, { what: 'the mute in the session report' });
    assert.equal(r.json.conference_sid, live.conf);
    assert.deepStrictEqual(r.json.participants.map((p) => [p.caller, p.role, p.consent, p.left_at]), [['***4444', 'speaker', 'notice', null]]);
    assert.equal(r.json.participants[0].call_sid, live.calls[0]);
    const a = r.json.actions[0];
    assert.deepStrictEqual([a.by, a.action, a.call_sid, a.caller, a.result], ['alice', 'mute', live.calls[0], '***4444', 'ok']);
    const old = await api(srv, 'GET', `/api/sessions/${s1.conf}`, { cookie: producer });
    assert.deepStrictEqual(old.json.participants.map((p) => p.caller), ['***1111', '***2222']);
    assert.ok(old.json.participants.every((p) => p.joined_at && p.left_at));
    assert.deepStrictEqual(old.json.actions, []);
    assert.equal(old.json.recordings[0].recording_sid, s1.rec.sid);
  });

  it('audio from the local store: the whole file, byte ranges (206), 416, a download name, HEAD', async () => {
    const path = `/api/recordings/${s1.rec.sid}/audio`;
    const whole = await request(srv.port, { path, headers: { Cookie: admin } });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-type'], 'audio/mpeg');
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.equal(Number(whole.headers['content-length']), s1.rec.body.length);
    assert.ok(whole.bytes.equals(s1.rec.body), 'the bytes stored');
    const part = await request(srv.port, { path, headers: { Cookie: admin, Range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100-199/${s1.rec.body.length}`);
    assert.ok(part.bytes.equals(s1.rec.body.subarray(100, 200)));
    const tail = await request(srv.port, { path, headers: { Cookie: admin, Range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.ok(tail.bytes.equals(s1.rec.body.subarray(-10)));
    const outside = await request(srv.port, { path, headers: { Cookie: admin, Range: `bytes=${s1.rec.body.length}-` } });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers['content-range'], `bytes */${s1.rec.body.length}`);
    const dl = await request(srv.port, { path: `${path}?download=1`, headers: { Cookie: admin } });
    assert.equal(dl.status, 200);
    assert.match(dl.headers['content-disposition'], new RegExp(`^attachment; filename=".*-${s1.rec.sid}\\.mp3"$`));
    const head = await request(srv.port, { method: 'HEAD', path, headers: { Cookie: admin } });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), s1.rec.body.length);
    assert.equal((await api(srv, 'GET', `/api/recordings/${sid('RE')}/audio`, { cookie: admin })).status, 404);
  });

  it('retry: a dead copy is queued again and stored; other states are refused', async () => {
    const acct = srv.accountSid;
    const body = randomBytes(2048);
    const p = recordingParams(acct, { RecordingStartTime: rfc2822(t0) });
    p.RecordingUrl = fake.addRecording(p.RecordingSid, body, { notReady: 1e9 });
    const first = await signedPost(srv, '/recording-callback', p);
    assert.equal(first.status, 503);
    await srv.waitForLog((l) => l.evt === 'recording.dead' && l.RecordingSid === p.RecordingSid, 'recording.dead', 15000);
    const dead = await api(srv, 'GET', `/api/sessions/${p.ConferenceSid}`, { cookie: producer });
    assert.equal(dead.json.recordings[0].state, 'dead');
    assert.match(dead.json.recordings[0].last_error, /404/);
    fake.addRecording(p.RecordingSid, body); // Twilio has it now
    const r = await api(srv, 'POST', `/api/recordings/${p.RecordingSid}/retry`, { cookie: producer });
    assert.equal(r.status, 202, r.body);
    await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === p.RecordingSid, 'recording.stored after retry', 10000);
    await srv.waitForLog((l) => l.evt === 'recording.retry' && l.RecordingSid === p.RecordingSid && l.user === 'bob', 'recording.retry by bob');
    assert.equal((await api(srv, 'POST', `/api/recordings/${p.RecordingSid}/retry`, { cookie: producer })).status, 409);
    assert.equal((await api(srv, 'POST', `/api/recordings/${sid('RE')}/retry`, { cookie: producer })).status, 404);
    assert.equal((await api(srv, 'GET', `/api/recordings/${p.RecordingSid}/retry`, { cookie: producer })).status, 405);
  });

  it('delete: a producer is refused; an admin\'s removes the file and its report, and a late duplicate callback copies nothing', async () => {
    const s = await addSession(srv, fake, { at: t0 + 2 * DAY, to: EVENING, room: 'evening', callers: ['+15550005555'] });
    const path = `/api/recordings/${s.rec.sid}`;
    const detail = await api(srv, 'GET', `/api/sessions/${s.conf}`, { cookie: admin });
    const key = detail.json.recordings[0].key;
    const file = join(srv.dataDir, 'recordings', key);
    const report = file.replace(/\.mp3$/, '.json');
    await waitFor(() => existsSync(report), { what: 'the report beside the recording' });
    assert.ok(existsSync(file));
    const refused = await api(srv, 'DELETE', path, { cookie: producer });
    assert.equal(refused.status, 403);
    assert.ok(existsSync(file), 'a refused delete removed nothing');
    const cross = await api(srv, 'DELETE', path, { cookie: admin, headers: { Origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    const r = await api(srv, 'DELETE', path, { cookie: admin });
    assert.equal(r.status, 204, r.body);
    assert.equal(existsSync(file), false, 'the recording is gone');
    assert.equal(existsSync(report), false, 'its report is gone');
    const line = await srv.waitForLog((l) => l.evt === 'recording.deleted' && l.RecordingSid === s.rec.sid, 'recording.deleted');
    assert.equal(line.user, 'alice');
    // Gone from the list; the session itself still tells it was deleted.
    const listed = await api(srv, 'GET', `/api/sessions?from=${isoDay(t0 + 2 * DAY)}&to=${isoDay(t0 + 2 * DAY)}`, { cookie: admin });
    assert.deepStrictEqual(listed.json.sessions, []);
    const after = await api(srv, 'GET', `/api/sessions/${s.conf}`, { cookie: admin });
    assert.equal(after.json.recordings[0].state, 'deleted');
    assert.equal((await api(srv, 'GET', `${path}/audio`, { cookie: admin })).status, 404);
    // Twilio sends the callback again: 200, and nothing fetched or stored.
    const gets = fake.mediaGets(s.rec.sid).length;
    const late = await signedPost(srv, '/recording-callback', s.rec.params);
    assert.equal(late.status, 200);
    assert.equal(fake.mediaGets(s.rec.sid).length, gets, 'no new media fetch');
    assert.equal(existsSync(file), false, 'nothing stored again');
    assert.equal((await api(srv, 'POST', `${path}/retry`, { cookie: admin })).status, 409);
    assert.equal((await api(srv, 'DELETE', path, { cookie: admin })).status, 404);
    // The command line neither revives it.
    const cli = await runCommand(['recordings', 'retry', s.rec.sid], srv.env);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /deleted by alice/);
    const show = await runCommand(['recordings', 'show', s.rec.sid], srv.env);
    assert.match(show.stdout, /^state\s+deleted \(by alice\)$/m);
  });
});

describe('library: retention', () => {
  it('RETENTION_DAYS deletes older recordings at start (recording.expired) and shows the others\' expiry', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-lib-'));
    const acct = account();
    const fake = await startFakeTwilio(acct);
    const env = { TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin };
    try {
      const a = await startServer({ env, dataDir });
      const now = Date.now();
      const old = await addSession(a, fake, { at: now - 40 * DAY, to: '+18005550100', room: 'partyline', callers: ['+15550006666'] });
      const recent = await addSession(a, fake, { at: now - DAY, to: '+18005550100', room: 'partyline', callers: ['+15550007777'] });
      await a.waitForLog((l) => l.evt === 'report.stored' && l.RecordingSid === old.rec.sid, 'the old report');
      await a.stop();

      const b = await startServer({ env: { ...env, RETENTION_DAYS: '30' }, dataDir });
      try {
        const expired = await b.waitForLog((l) => l.evt === 'recording.expired' && l.RecordingSid === old.rec.sid, 'recording.expired');
        assert.equal(expired.retention_days, 30);
        await b.waitForLog((l) => l.evt === 'recording.removed' && l.RecordingSid === old.rec.sid, 'recording.removed');
        assert.ok(!b.logs.some((l) => l.evt === 'recording.expired' && l.RecordingSid === recent.rec.sid), 'the recent one kept');
        await addUser(b, 'alice', 'admin');
        const cookie = await signIn(b, 'alice');
        const gone = await api(b, 'GET', `/api/sessions/${old.conf}`, { cookie });
        assert.equal(gone.json.recordings[0].state, 'deleted');
        assert.equal(existsSync(join(dataDir, 'recordings', gone.json.recordings[0].key)), false);
        const kept = await api(b, 'GET', `/api/sessions/${recent.conf}`, { cookie });
        const rec = kept.json.recordings[0];
        assert.equal(rec.state, 'stored');
        assert.ok(existsSync(join(dataDir, 'recordings', rec.key)));
        const expect = new Date(Date.parse(rec.started_at) + 30 * DAY).toISOString();
        assert.equal(rec.expires_at, expect);
        const list = await api(b, 'GET', '/api/sessions', { cookie });
        assert.deepStrictEqual(list.json.sessions.map((s) => s.conference_sid), [recent.conf]);
      } finally { await b.stop(); }
    } finally {
      await fake.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('library: recordings in S3 (loopback Swift)', () => {
  const BUCKET = `pl-lib-${hex(8)}`;
  const suite = swiftForSuite({ buckets: [BUCKET] });
  it('audio is a 302 to a presigned GET whose bytes are the recording; download names the file; delete removes both objects', async () => {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    suite.cleanups.push(() => fake.stop());
    const prefix = `lib-${hex(6)}/`;
    const srv = await startServer({ env: serviceEnv({ acct, fake, s3Endpoint: suite.swift.endpoint, bucket: BUCKET, prefix }) });
    suite.cleanups.push(() => srv.stop());
    await addUser(srv, 'alice', 'admin');
    const cookie = await signIn(srv, 'alice');
    const s = await addSession(srv, fake, { at: Date.now() - 3600000, to: '+18005550100', room: 'partyline', callers: ['+15550008888'] });
    const detail = await api(srv, 'GET', `/api/sessions/${s.conf}`, { cookie });
    const key = detail.json.recordings[0].key;
    assert.ok(key.startsWith(prefix), key);

    const r = await request(srv.port, { path: `/api/recordings/${s.rec.sid}/audio`, headers: { Cookie: cookie } });
    assert.equal(r.status, 302);
    assert.equal(r.headers['cache-control'], 'no-store');
    const link = new URL(r.headers.location);
    assert.equal(link.origin, new URL(suite.swift.endpoint).origin);
    assert.equal(link.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(link.searchParams.get('response-content-type'), 'audio/mpeg');
    assert.ok(!r.headers.location.includes('testing'), 'the secret is not in the link');
    const got = await fetch(link);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'audio/mpeg');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(s.rec.body), 'the presigned GET gives the recording');
    // A changed link is refused by S3: the signature covers it.
    const forged = new URL(link);
    forged.searchParams.set('response-content-type', 'text/html');
    assert.equal((await fetch(forged)).status, 403);

    const dl = await request(srv.port, { path: `/api/recordings/${s.rec.sid}/audio?download=1`, headers: { Cookie: cookie } });
    const dlGot = await fetch(dl.headers.location);
    assert.equal(dlGot.status, 200);
    assert.equal(dlGot.headers.get('content-disposition'), `attachment; filename="${key.split('/').pop()}"`);
    await dlGot.arrayBuffer();

    const report = key.replace(/\.mp3$/, '.json');
    await waitFor(async () => (await headObject(suite.swift.client, BUCKET, report)) ? true : undefined, { what: 'the report in S3' });
    const del = await api(srv, 'DELETE', `/api/recordings/${s.rec.sid}`, { cookie });
    assert.equal(del.status, 204, del.body);
    assert.equal(await headObject(suite.swift.client, BUCKET, key), null);
    assert.equal(await headObject(suite.swift.client, BUCKET, report), null);
    const late = await signedPost(srv, '/recording-callback', s.rec.params);
    assert.equal(late.status, 200);
    assert.equal(await headObject(suite.swift.client, BUCKET, key), null, 'a late callback stores nothing');
  });
});
