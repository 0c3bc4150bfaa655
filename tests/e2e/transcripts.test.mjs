// Transcripts (TRANSCRIBE_URL) against a fake OpenAI-compatible server: each stored recording is
// transcribed exactly once (multipart fields and the bearer key checked), with retries that
// honour Retry-After (429, 500, a hang); audio over TRANSCRIBE_MAX_BYTES is cut with ffmpeg and
// the pieces' times land at their offsets; the transcript, captions and summary are stored beside
// the recording and shown by the library, whose text search finds a phrase and its time; a
// session with tracks gets their merge, each line with its speaker, in time order; deleting a
// recording deletes its transcript, captions, summary and search entries; `partyline transcribe`
// transcribes one again; `partyline check` tests the endpoints.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './lib/api.mjs';
import { request, signedPost } from './lib/http.mjs';
import { account, confParams, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { startFakeOpenAI } from './lib/fake-openai.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';

const PASSWORD = 'correct horse battery staple';
const DAY = 24 * 3600 * 1000;
const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const stem = (key) => key.replace(/\.(mp3|wav)$/, '');

const ROOMS = `pin_length = 4

[[room]]
name = "talk"
numbers = ["+18005550133"]

[[room]]
name = "show"
numbers = ["+18005550144"]
tracks = true
pins = { host = ["1111"], speaker = ["2222"] }
`;

describe('transcripts', () => {
  let dir, twilio, openai, srv, cookie, env;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'partyline-tr-'));
    writeFileSync(join(dir, 'rooms.toml'), ROOMS);
    const acct = account();
    twilio = await startFakeTwilio(acct);
    openai = await startFakeOpenAI();
    srv = await startServer({ env: {
      TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: twilio.origin,
      ROOMS_FILE: join(dir, 'rooms.toml'),
      TRANSCRIBE_URL: openai.transcriptionsUrl, TRANSCRIBE_API_KEY: openai.apiKey, TRANSCRIBE_MAX_BYTES: '100KB',
      TRANSCRIBE_TIMEOUT: '2s', SUMMARY_URL: openai.chatUrl, SUMMARY_MODEL: 'gpt-4o-mini',
      RECORDING_RETRY_MIN: '200ms', RECORDING_RETRY_MAX: '1s',
    } });
    env = srv.env;
    const add = await runCommand(['users', 'add', 'alice', '--role', 'admin'], env, { stdin: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
    const r = await api(srv, 'POST', '/api/session', { body: { username: 'alice', password: PASSWORD } });
    cookie = r.headers['set-cookie'][0].split(';')[0];
  });
  after(async () => { await srv?.stop(); await openai?.stop(); await twilio?.stop(); rmSync(dir, { recursive: true, force: true }); });

  const stored = (key) => join(srv.dataDir, 'recordings', key);

  // A session in room `talk` with one caller and a recording of `body`; its SIDs and key.
  async function session(body, at = Date.now() - DAY) {
    const v = voiceParams(srv.accountSid, { To: '+18005550133', From: '+15550004321' });
    assert.equal((await signedPost(srv, '/voice', v)).status, 200);
    const conf = sid('CF');
    let seq = 0;
    for (const [event, extra] of [['conference-start', {}], ['participant-join', { CallSid: v.CallSid }], ['conference-end', {}]]) {
      const p = confParams(srv.accountSid, event, { ConferenceSid: conf, FriendlyName: 'talk', SequenceNumber: String(++seq), Timestamp: rfc2822(at), ...extra });
      assert.equal((await signedPost(srv, '/conf-status', p)).status, 204);
    }
    const p = recordingParams(srv.accountSid, { ConferenceSid: conf, RecordingStartTime: rfc2822(at) });
    p.RecordingUrl = twilio.addRecording(p.RecordingSid, body);
    assert.equal((await signedPost(srv, '/recording-callback', p)).status, 200);
    const key = (await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === p.RecordingSid, 'stored')).key;
    return { conf, rec: p.RecordingSid, key, params: p };
  }

  const transcribed = (rec, timeout = 15000) => srv.waitForLog((l) => l.evt === 'transcript.stored' && l.RecordingSid === rec, `transcript.stored of ${rec}`, timeout);
  const requestsFor = (sha) => openai.requests.filter((r) => r.endpoint === 'transcriptions' && r.file?.sha256 === sha);

  it('a stored recording is transcribed once: the form and key checked, transcript, captions and summary beside it and in the library, found by its words', async () => {
    openai.setTranscript(() => ({ language: 'english', duration: 20, segments: [
      { start: 0, end: 4.5, text: 'Welcome to the evening show.' },
      { start: 12.5, end: 17, text: 'Tonight we talk about the harbour festival & <fireworks>.' },
    ] }));
    openai.setSummary(() => '# The evening show\n\n- The harbour festival (0:12)');
    const body = randomBytes(8000);
    const s = await session(body);
    await transcribed(s.rec);
    await srv.waitForLog((l) => l.evt === 'summary.stored' && l.RecordingSid === s.rec, 'summary.stored');
    const sha = createHash('sha256').update(body).digest('hex');
    const reqs = requestsFor(sha);
    assert.equal(reqs.length, 1, 'one transcription request');
    const q = reqs[0];
    assert.equal(q.authOk, true);
    assert.equal(q.fields.model, 'whisper-1');
    assert.equal(q.fields.response_format, 'verbose_json');
    assert.equal(q.fields['timestamp_granularities[]'], 'segment');
    assert.match(q.file.filename, /\.mp3$/);
    assert.equal(q.file.size, body.length);
    const chat = openai.completions().at(-1);
    assert.equal(chat.json.model, 'gpt-4o-mini');
    assert.match(chat.json.messages.find((m) => m.role === 'user').content, /harbour festival/);

    const json = JSON.parse(readFileSync(stored(`${stem(s.key)}.transcript.json`), 'utf8'));
    assert.deepStrictEqual(json.segments.map((x) => [x.start, x.text]), [[0, 'Welcome to the evening show.'], [12.5, 'Tonight we talk about the harbour festival & <fireworks>.']]);
    const vtt = readFileSync(stored(`${stem(s.key)}.vtt`), 'utf8');
    assert.match(vtt, /^WEBVTT/);
    assert.match(vtt, /00:00:12\.500 --> 00:00:17\.000\nTonight we talk about the harbour festival &amp; &lt;fireworks&gt;\./);
    assert.equal(readFileSync(stored(`${stem(s.key)}.summary.md`), 'utf8'), '# The evening show\n\n- The harbour festival (0:12)');

    const detail = await api(srv, 'GET', `/api/sessions/${s.conf}`, { cookie });
    assert.equal(detail.json.summary, '# The evening show\n\n- The harbour festival (0:12)');
    assert.equal(detail.json.transcript.recording_sid, s.rec);
    assert.deepStrictEqual(detail.json.transcript.segments.map((x) => x.start), [0, 12.5]);
    const captions = detail.json.recordings[0].captions;
    assert.equal(captions, `/api/recordings/${s.rec}/captions`);
    const c = await request(srv.port, { path: captions, headers: { Cookie: cookie } });
    assert.equal(c.status, 200);
    assert.match(c.headers['content-type'], /^text\/vtt/);
    assert.equal(c.body, vtt);

    const found = await api(srv, 'GET', `/api/sessions?q=${encodeURIComponent('Harbour  FEST')}`, { cookie });
    assert.equal(found.status, 200, found.body);
    const hit = found.json.sessions.find((x) => x.conference_sid === s.conf);
    assert.ok(hit, JSON.stringify(found.json));
    assert.equal(hit.match.at, 12.5);
    assert.equal(hit.match.recording_sid, s.rec);
    assert.match(hit.match.text, /harbour festival/);
    const none = await api(srv, 'GET', '/api/sessions?q=zeppelin', { cookie });
    assert.deepStrictEqual(none.json.sessions, []);
    // FTS5's own syntax in the box is only words.
    const odd = await api(srv, 'GET', `/api/sessions?q=${encodeURIComponent('harbour" OR NEAR(x')}`, { cookie });
    assert.equal(odd.status, 200, odd.body);
  });

  it('429 with Retry-After, then 500, then a hang: retried (the 429\'s wait honoured), one transcript in the end', async () => {
    openai.setTranscript(() => ({ duration: 2, segments: [{ start: 0, end: 2, text: 'Third time lucky.' }] }));
    openai.failNext([{ status: 429, retryAfter: 2 }, { status: 500 }, { hang: true }]);
    const body = randomBytes(6000);
    const s = await session(body);
    await transcribed(s.rec, 30000);
    assert.equal(openai.pendingFailures(), 0);
    const retries = srv.logs.filter((l) => l.evt === 'transcript.retry' && l.RecordingSid === s.rec);
    assert.equal(retries.length, 3, JSON.stringify(retries));
    assert.ok(retries[0].retry_in_ms >= 2000, `after the 429: ${retries[0].retry_in_ms} ms`);
    assert.match(retries[0].reason, /429/);
    assert.match(retries[2].reason, /time|Timeout/i);
    const sha = createHash('sha256').update(body).digest('hex');
    assert.equal(requestsFor(sha).filter((r) => r.status === 200).length, 1, 'exactly one transcript');
    assert.equal(srv.logs.filter((l) => l.evt === 'transcript.stored' && l.RecordingSid === s.rec).length, 1);
    assert.ok(!srv.logs.some((l) => JSON.stringify(l).includes(openai.apiKey)), 'the key never reaches a log');
  });

  it('audio over TRANSCRIBE_MAX_BYTES is cut with ffmpeg; each piece\'s lines land at its offset', async () => {
    const mp3 = join(dir, 'long.mp3');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=60', '-b:a', '32k', mp3]);
    const body = readFileSync(mp3);
    assert.ok(body.length > 200000, `${body.length} bytes`);
    let n = 0;
    openai.setTranscript((req) => {
      // One line per 10 s of the piece, its text naming the piece (in the order sent) and size.
      const piece = ++n;
      const seconds = req.file.size / 4000;
      const segments = [];
      for (let t = 0; t < seconds - 0.5; t += 10) segments.push({ start: t, end: Math.min(t + 10, seconds), text: `piece ${piece} of ${req.file.size} at ${t}` });
      return { duration: seconds, segments };
    });
    const s = await session(body);
    await transcribed(s.rec, 60000);
    const detail = await api(srv, 'GET', `/api/sessions/${s.conf}`, { cookie });
    const segs = detail.json.transcript.segments;
    // Several pieces, each under the limit; the lines run from 0 to about 60 s in order.
    const pieces = [];
    for (const x of segs) {
      const [, piece, size] = /piece (\d+) of (\d+)/.exec(x.text).map(Number);
      if (!pieces.some((p) => p.piece === piece)) pieces.push({ piece, size });
    }
    assert.ok(pieces.length >= 3, `pieces: ${JSON.stringify(pieces)}`);
    for (const p of pieces) assert.ok(p.size <= 100 * 1000, `a piece of ${p.size} bytes`);
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i].start >= segs[i - 1].start, 'in order');
    // Each piece's first line starts where the pieces before it end (their length by size, ±1 s).
    let offset = 0;
    for (const p of pieces) {
      const first = segs.find((x) => x.text === `piece ${p.piece} of ${p.size} at 0`);
      assert.ok(Math.abs(first.start - offset) < 1.0, `piece ${p.piece}: at ${first.start}, expected ~${offset}`);
      offset += p.size / 4000;
    }
    assert.ok(Math.abs(segs.at(-1).end - 60) < 2, `ends at ${segs.at(-1).end}`);
  });

  it('a session with tracks: each track labelled with its speaker; the mix is their merge in time order', async () => {
    const at = Date.now() - 2 * DAY;
    const join = async (from, pin) => {
      const v = voiceParams(srv.accountSid, { To: '+18005550144', From: from });
      assert.equal((await signedPost(srv, '/voice', v)).status, 200);
      assert.equal((await signedPost(srv, '/check-pin', { ...v, Digits: pin })).status, 200);
      return v.CallSid;
    };
    const host = await join('+15550001111', '1111');
    const guest = await join('+15550002222', '2222');
    const conf = sid('CF');
    let seq = 0;
    for (const [event, extra, t] of [['conference-start', {}, 0], ['participant-join', { CallSid: host }, 0], ['participant-join', { CallSid: guest }, 5000],
      ['participant-leave', { CallSid: guest }, 60000], ['participant-leave', { CallSid: host }, 60000], ['conference-end', {}, 60000]]) {
      const p = confParams(srv.accountSid, event, { ConferenceSid: conf, FriendlyName: 'show', SequenceNumber: String(++seq), Timestamp: rfc2822(at + t), ...extra });
      assert.equal((await signedPost(srv, '/conf-status', p)).status, 204);
    }
    const hostBody = randomBytes(4000), guestBody = randomBytes(4001), mixBody = randomBytes(4002);
    const lines = new Map([
      [hostBody.length, [{ start: 1, end: 3, text: 'Hello and welcome.' }, { start: 20, end: 22, text: 'Thanks for coming.' }]],
      [guestBody.length, [{ start: 2, end: 6, text: 'Glad to be here.' }]], // the guest's track starts 10 s in
    ]);
    openai.setTranscript((req) => ({ duration: 30, segments: lines.get(req.file.size) ?? [{ start: 0, end: 1, text: 'the mix' }] }));
    const track = async (call, body, startMs) => {
      const p = recordingParams(srv.accountSid, { CallSid: call, RecordingStartTime: rfc2822(at + startMs) }, twilio.origin);
      delete p.ConferenceSid;
      p.RecordingUrl = twilio.addRecording(p.RecordingSid, body);
      assert.equal((await signedPost(srv, '/track-callback', p)).status, 200);
      return p.RecordingSid;
    };
    const mix = recordingParams(srv.accountSid, { ConferenceSid: conf, RecordingStartTime: rfc2822(at) });
    mix.RecordingUrl = twilio.addRecording(mix.RecordingSid, mixBody);
    // The mix first: it waits for its tracks' transcripts.
    assert.equal((await signedPost(srv, '/recording-callback', mix)).status, 200);
    const hostRec = await track(host, hostBody, 0);
    const guestRec = await track(guest, guestBody, 10000);
    await transcribed(hostRec);
    await transcribed(guestRec);
    await transcribed(mix.RecordingSid, 30000);
    const detail = await api(srv, 'GET', `/api/sessions/${conf}`, { cookie });
    assert.equal(detail.json.transcript.recording_sid, mix.RecordingSid);
    assert.deepStrictEqual(detail.json.transcript.segments.map((x) => [x.start, x.speaker, x.text]), [
      [1, 'host ***1111', 'Hello and welcome.'],
      [12, 'speaker ***2222', 'Glad to be here.'],
      [20, 'host ***1111', 'Thanks for coming.'],
    ]);
    const mixSha = createHash('sha256').update(mixBody).digest('hex');
    assert.equal(requestsFor(mixSha).length, 0, 'the mix of a session with tracks is not sent: its tracks are');
    const vtt = readFileSync(stored(`${stem(detail.json.recordings.find((r) => r.recording_sid === hostRec).key)}.vtt`), 'utf8');
    assert.match(vtt, /<v host \*\*\*1111>Hello and welcome\./);
  });

  it('deleting a recording deletes its transcript, captions, summary and search entries; transcribe SID does it again; check tests the endpoints', async () => {
    openai.setTranscript(() => ({ duration: 5, segments: [{ start: 1, end: 4, text: 'A unique aardvark sentence.' }] }));
    const s = await session(randomBytes(5000));
    await transcribed(s.rec);
    await srv.waitForLog((l) => l.evt === 'summary.stored' && l.RecordingSid === s.rec, 'summary.stored');
    // Again on demand: one more request, the same one transcript.
    const before = openai.transcriptions().length;
    const again = await runCommand(['transcribe', s.rec], env);
    assert.equal(again.code, 0, again.stderr);
    await waitFor(() => srv.logs.filter((l) => l.evt === 'transcript.stored' && l.RecordingSid === s.rec).length === 2 || undefined,
      { timeout: 10000, what: 'a second transcript.stored' });
    assert.equal(openai.transcriptions().length, before + 1);
    assert.equal((await api(srv, 'GET', '/api/sessions?q=aardvark', { cookie })).json.sessions.length, 1);

    const del = await api(srv, 'DELETE', `/api/recordings/${s.rec}`, { cookie });
    assert.equal(del.status, 204, del.body);
    for (const suffix of ['.mp3', '.json', '.transcript.json', '.vtt', '.summary.md']) {
      assert.equal(existsSync(stored(stem(s.key) + suffix)), false, `${suffix} is gone`);
    }
    assert.deepStrictEqual((await api(srv, 'GET', '/api/sessions?q=aardvark', { cookie })).json.sessions, []);
    assert.equal((await api(srv, 'GET', `/api/recordings/${s.rec}/captions`, { cookie })).status, 404);
    const refused = await runCommand(['transcribe', s.rec], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /deleted/);

    const check = await runCommand(['check'], env);
    assert.match(check.stdout, /^Transcription\s+PASS\s/m, check.stdout);
    assert.match(check.stdout, /^Summary\s+PASS\s/m, check.stdout);
    assert.ok(!check.stdout.includes(openai.apiKey) && !check.stderr.includes(openai.apiKey));
    const wrong = await runCommand(['check'], { ...env, TRANSCRIBE_API_KEY: 'sk-wrong', SUMMARY_API_KEY: 'sk-wrong' });
    assert.match(wrong.stdout, /^Transcription\s+FAIL\s.*refused the key/m, wrong.stdout);
  });
});

describe('transcripts: restarts and giving up', () => {
  it('a transcription cut short by a kill -9 is done after the restart; one that keeps failing ends as transcript.dead after RECORDING_MAX_AGE', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-tr-'));
    const acct = account();
    const twilio = await startFakeTwilio(acct);
    const openai = await startFakeOpenAI();
    const env = {
      TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: twilio.origin,
      TRANSCRIBE_URL: openai.transcriptionsUrl, TRANSCRIBE_API_KEY: openai.apiKey, TRANSCRIBE_TIMEOUT: '30s',
      RECORDING_RETRY_MIN: '200ms', RECORDING_RETRY_MAX: '500ms',
    };
    const callback = async (srv, body) => {
      const p = recordingParams(acct.accountSid, { RecordingStartTime: rfc2822(Date.now() - DAY) });
      p.RecordingUrl = twilio.addRecording(p.RecordingSid, body);
      assert.equal((await signedPost(srv, '/recording-callback', p)).status, 200);
      return p.RecordingSid;
    };
    try {
      openai.failNext([{ hang: true }]);
      const a = await startServer({ env, dataDir });
      const rec = await callback(a, randomBytes(3000));
      // The request is on its way (held open by the fake): the service dies with it.
      await waitFor(() => openai.requests.some((r) => r.endpoint === 'transcriptions' && r.failure?.hang) || undefined,
        { what: 'the transcription request held open' });
      await a.kill();
      openai.setTranscript(() => ({ duration: 2, segments: [{ start: 0.5, end: 2, text: 'After the restart.' }] }));
      const b = await startServer({ env, dataDir });
      try {
        const line = await b.waitForLog((l) => l.evt === 'transcript.stored' && l.RecordingSid === rec, 'transcript.stored after the restart', 15000);
        assert.equal(line.segments, 1);
        assert.equal(openai.transcriptions().length, 1, 'one transcript');
      } finally { await b.stop(); }

      // Never transcribed: retried until RECORDING_MAX_AGE, then given up (the audio stays).
      openai.failNext(Array.from({ length: 100 }, () => ({ status: 500 })));
      const c = await startServer({ env: { ...env, RECORDING_MAX_AGE: '2s' }, dataDir });
      try {
        const rec2 = await callback(c, randomBytes(3000));
        const dead = await c.waitForLog((l) => l.evt === 'transcript.dead' && l.RecordingSid === rec2, 'transcript.dead', 15000);
        assert.equal(dead.level, 'error');
        assert.match(dead.reason, /500/);
        assert.ok(c.logs.filter((l) => l.evt === 'transcript.retry' && l.RecordingSid === rec2).length >= 2);
        const row = (await runCommand(['recordings', 'show', rec2], c.env)).stdout;
        assert.match(row, /^state\s+stored$/m, 'the recording itself stays stored');
      } finally { await c.stop(); }
    } finally {
      await openai.stop();
      await twilio.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
