// Per-caller tracks (a room with `tracks = true`): the TwiML that puts a caller into the
// conference first starts a recording of their own inbound audio; each track's callback
// (/track-callback) goes through the same exactly-once copy as the mix, lands beside it under a key
// naming the session and the caller's turn and role, and the session's report, the library and
// `recordings list` show every track with its participant. A failed track is logged and touches
// nothing else; a room without tracks asks for none.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './lib/api.mjs';
import { signedPost } from './lib/http.mjs';
import { account, confParams, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';
import { parseTwiml } from './lib/twiml.mjs';

const PASSWORD = 'correct horse battery staple';
const ROOMS = `pin_length = 4

[[room]]
name = "show"
numbers = ["+18005550111"]
tracks = true
pins = { host = ["1111"], speaker = ["2222"] }

[[room]]
name = "plain"
numbers = ["+18005550122"]
`;

const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');

// Every element of a parsed TwiML tree, depth first, in document order.
function elements(nodes, out = []) {
  for (const n of nodes) {
    if (!n.name) continue;
    out.push(n);
    elements(n.children, out);
  }
  return out;
}

describe('tracks: one recording per caller beside the mix', () => {
  let dir, fake, srv, cookie;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'partyline-tracks-'));
    writeFileSync(join(dir, 'rooms.toml'), ROOMS);
    const acct = account();
    fake = await startFakeTwilio(acct);
    srv = await startServer({ env: {
      TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin,
      ROOMS_FILE: join(dir, 'rooms.toml'),
    } });
    const add = await runCommand(['users', 'add', 'alice', '--role', 'admin'], srv.env, { stdin: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
    const r = await api(srv, 'POST', '/api/session', { body: { username: 'alice', password: PASSWORD } });
    cookie = r.headers['set-cookie'][0].split(';')[0];
  });
  after(async () => { await srv?.stop(); await fake?.stop(); rmSync(dir, { recursive: true, force: true }); });

  async function joinWithPin(to, from, pin) {
    const v = voiceParams(srv.accountSid, { To: to, From: from });
    assert.equal((await signedPost(srv, '/voice', v)).status, 200);
    const r = await signedPost(srv, '/check-pin', { ...v, Digits: pin });
    assert.equal(r.status, 200, r.body);
    return { call: v.CallSid, twiml: r.body };
  }

  it('the joining TwiML starts an inbound track before <Dial> in a room with tracks, and none elsewhere', async () => {
    const { twiml } = await joinWithPin('+18005550111', '+15550001234', '2222');
    const all = elements([parseTwiml(twiml)]);
    const names = all.map((n) => n.name);
    const start = names.indexOf('Start');
    assert.ok(start >= 0 && start < names.indexOf('Dial'), `<Start> before <Dial>: ${names}`);
    const rec = all.find((n) => n.name === 'Recording');
    assert.deepStrictEqual(rec.attrs, {
      track: 'inbound', channels: 'mono',
      recordingStatusCallback: `${srv.publicBaseUrl}/track-callback`, recordingStatusCallbackEvent: 'completed',
    });
    // The conference itself is asked for exactly what it was before (the mix, its callbacks).
    const conf = all.find((n) => n.name === 'Conference');
    assert.equal(conf.attrs.record, 'record-from-start');
    assert.equal(conf.attrs.recordingStatusCallback, `${srv.publicBaseUrl}/recording-callback`);

    const plain = voiceParams(srv.accountSid, { To: '+18005550122' });
    const r = await signedPost(srv, '/voice', plain);
    assert.ok(!elements([parseTwiml(r.body)]).some((n) => n.name === 'Start' || n.name === 'Recording'), r.body);
  });

  it('each caller\'s track is copied once beside the mix, named by session, turn and role; report, library and list show whose it is', async () => {
    const at = Date.now() - 10 * 60000;
    const host = await joinWithPin('+18005550111', '+15550005555', '1111');
    const guest = await joinWithPin('+18005550111', '+15550006666', '2222');
    const conf = sid('CF');
    let seq = 0;
    const event = async (name, extra, when) => {
      const p = confParams(srv.accountSid, name, { ConferenceSid: conf, FriendlyName: 'show', SequenceNumber: String(++seq), Timestamp: rfc2822(when), ...extra });
      assert.equal((await signedPost(srv, '/conf-status', p)).status, 204);
    };
    await event('conference-start', {}, at);
    await event('participant-join', { CallSid: host.call }, at + 1000);
    await event('participant-join', { CallSid: guest.call }, at + 2000);
    await event('participant-leave', { CallSid: guest.call }, at + 60000);
    await event('participant-leave', { CallSid: host.call }, at + 61000);
    await event('conference-end', {}, at + 61000);

    // The tracks' callbacks: call recordings, with the CallSid and no ConferenceSid.
    const track = async (call) => {
      const p = recordingParams(srv.accountSid, { CallSid: call, RecordingSource: 'StartCallRecordingTwiML', RecordingStartTime: rfc2822(at + 1000) });
      delete p.ConferenceSid;
      const body = randomBytes(2000);
      p.RecordingUrl = fake.addRecording(p.RecordingSid, body);
      const r = await signedPost(srv, '/track-callback', p);
      assert.equal(r.status, 200, r.body);
      return { sid: p.RecordingSid, body, params: p };
    };
    const guestTrack = await track(guest.call);
    const hostTrack = await track(host.call);
    const stamp = new Date(at).toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
    const keyOf = (name) => `show/${stamp}-${conf}-${name}.mp3`;
    const stored = (key) => join(srv.dataDir, 'recordings', key);
    assert.ok(readFileSync(stored(keyOf('track01-host'))).equals(hostTrack.body), 'the host\'s track, first to join');
    assert.ok(readFileSync(stored(keyOf('track02-speaker'))).equals(guestTrack.body), 'the speaker\'s track');
    // Exactly once: the callback again copies nothing.
    const gets = fake.mediaGets(hostTrack.sid).length;
    assert.equal((await signedPost(srv, '/track-callback', hostTrack.params)).status, 200);
    assert.equal(fake.mediaGets(hostTrack.sid).length, gets);

    // The mix, then its report lists both tracks with their participant.
    const mix = recordingParams(srv.accountSid, { ConferenceSid: conf, RecordingStartTime: rfc2822(at) });
    mix.RecordingUrl = fake.addRecording(mix.RecordingSid, randomBytes(3000));
    assert.equal((await signedPost(srv, '/recording-callback', mix)).status, 200);
    const mixKey = `show/${stamp}-${mix.RecordingSid}.mp3`;
    assert.ok(existsSync(stored(mixKey)), 'the mix beside its tracks');
    const reportFile = stored(mixKey.replace(/\.mp3$/, '.json'));
    await waitFor(() => existsSync(reportFile), { what: 'the mix report' });
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    const tracks = Object.fromEntries(report.tracks.map((t) => [t.key, [t.recording_sid, t.caller, t.role]]));
    assert.deepStrictEqual(tracks, {
      [keyOf('track01-host')]: [hostTrack.sid, '***5555', 'host'],
      [keyOf('track02-speaker')]: [guestTrack.sid, '***6666', 'speaker'],
    });
    assert.equal(existsSync(stored(keyOf('track01-host').replace(/\.mp3$/, '.json'))), false, 'no report per track');

    const detail = await api(srv, 'GET', `/api/sessions/${conf}`, { cookie });
    const recs = Object.fromEntries(detail.json.recordings.map((r) => [r.recording_sid, [r.kind, r.caller ?? null, r.role ?? null, r.state]]));
    assert.deepStrictEqual(recs, {
      [mix.RecordingSid]: ['mix', null, null, 'stored'],
      [hostTrack.sid]: ['track', '***5555', 'host', 'stored'],
      [guestTrack.sid]: ['track', '***6666', 'speaker', 'stored'],
    });
    const list = await runCommand(['recordings', 'list'], srv.env);
    const row = list.stdout.split('\n').find((l) => l.startsWith(hostTrack.sid));
    assert.match(row, /\bstored\s+track\b/);
    assert.match(row, /track01-host\.mp3/);
    // No digits of a caller's number in a key (the SIDs in it are random hex: left out here).
    for (const key of [keyOf('track01-host'), keyOf('track02-speaker'), mixKey]) {
      assert.doesNotMatch(key.replace(/(RE|CF)[0-9a-f]{32}/g, ''), /5555|6666/);
    }
  });

  it('a track Twilio could not record is asked for again over REST while the call is on (a refusal retried), never after it', async () => {
    const caller = await joinWithPin('+18005550111', '+15550007777', '2222');
    const conf = sid('CF');
    const at = Date.now() - 60000;
    const event = async (name, extra, seq) => {
      const p = confParams(srv.accountSid, name, { ConferenceSid: conf, FriendlyName: 'show', SequenceNumber: String(seq), Timestamp: rfc2822(at), ...extra });
      assert.equal((await signedPost(srv, '/conf-status', p)).status, 204);
    };
    await event('conference-start', {}, 1);
    await event('participant-join', { CallSid: caller.call }, 2);
    fake.failRest('POST', caller.call, 500, { times: 1 });
    const failed = recordingParams(srv.accountSid, { CallSid: caller.call, RecordingStatus: 'failed', ErrorCode: '13617' }, fake.origin);
    delete failed.ConferenceSid;
    assert.equal((await signedPost(srv, '/track-callback', failed)).status, 200);
    const restarted = await srv.waitForLog((l) => l.evt === 'track.restarted' && l.CallSid === caller.call, 'track.restarted', 10000);
    assert.equal(restarted.attempt, 2, 'the 500 was retried');
    const asked = fake.requests.filter((r) => r.path.endsWith(`/Calls/${caller.call}/Recordings.json`));
    assert.deepStrictEqual(asked.map((r) => r.status), [500, 201]);
    assert.deepStrictEqual(asked[1].form, {
      RecordingTrack: 'inbound', RecordingChannels: 'mono',
      RecordingStatusCallback: `${srv.publicBaseUrl}/track-callback`, RecordingStatusCallbackEvent: 'completed',
    });
    assert.equal(asked[1].authOk, true);
    // Once the caller has left, a failed track is only logged.
    await event('participant-leave', { CallSid: caller.call }, 3);
    const late = recordingParams(srv.accountSid, { CallSid: caller.call, RecordingStatus: 'absent' }, fake.origin);
    delete late.ConferenceSid;
    assert.equal((await signedPost(srv, '/track-callback', late)).status, 200);
    await srv.waitForLog((l) => l.evt === 'track.restart_skipped' && l.CallSid === caller.call, 'track.restart_skipped');
    assert.equal(fake.requests.filter((r) => r.path.endsWith(`/Calls/${caller.call}/Recordings.json`)).length, 2);
  });

  it('a track that failed is logged and answered 200; a track of an unknown call is kept all the same', async () => {
    const failed = recordingParams(srv.accountSid, { CallSid: sid('CA'), RecordingStatus: 'failed', ErrorCode: '13617' }, fake.origin);
    delete failed.ConferenceSid;
    assert.equal((await signedPost(srv, '/track-callback', failed)).status, 200);
    const line = await srv.waitForLog((l) => l.evt === 'track.failed' && l.RecordingSid === failed.RecordingSid, 'track.failed');
    assert.equal(line.ErrorCode, '13617');
    assert.equal(fake.mediaGets(failed.RecordingSid).length, 0);

    const stray = recordingParams(srv.accountSid, { CallSid: sid('CA') });
    delete stray.ConferenceSid;
    stray.RecordingUrl = fake.addRecording(stray.RecordingSid, randomBytes(500));
    assert.equal((await signedPost(srv, '/track-callback', stray)).status, 200);
    await srv.waitForLog((l) => l.evt === 'track.unplaced' && l.RecordingSid === stray.RecordingSid, 'track.unplaced');
    const stored = await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === stray.RecordingSid, 'stored');
    assert.ok(stored);

    const noCall = recordingParams(srv.accountSid, {}, fake.origin);
    delete noCall.ConferenceSid;
    const refused = await signedPost(srv, '/track-callback', noCall);
    assert.equal(refused.status, 400);
    const why = await srv.waitForLog((l) => l.evt === 'http.request' && l.path === '/track-callback' && l.status === 400, 'the 400 line');
    assert.match(why.reason, /CallSid/);
  });
});
