// Rooms (ROOMS_FILE): start-up validation, the call flow per room and role, the lock, the
// participants, SIGHUP reloads and the recordings' prefixes and reports.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { account, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { expectedKey, startFakeTwilio } from './lib/fake-twilio.mjs';
import { runCommand, runExpectExit, startServer, waitFor } from './lib/server.mjs';
import { findAll, parseTwiml } from './lib/twiml.mjs';
import { scrape } from './lib/metrics.mjs';

// Two rooms with PINs for the three roles, and a third one reached by its own number.
const ROOMS = `pin_length = 4

[[room]]
name = "alpha"
max_participants = 3
pins = { host = ["1111"], speaker = ["1234"], producer = ["9876"] }

[[room]]
name = "beta"
prefix = "b/"
wait_for_host = true
pins = { host = ["2222"], speaker = ["2345"], producer = ["8765"] }

[[room]]
name = "hotline"
numbers = ["+18005550199"]
`;

function roomsFile(text) {
  const dir = mkdtempSync(join(tmpdir(), 'partyline-rooms-'));
  const file = join(dir, 'rooms.toml');
  writeFileSync(file, text);
  return { dir, file, write: (t) => writeFileSync(file, t), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('rooms: start-up', () => {
  it('a bad ROOMS_FILE ends the start with exit 2 and one line naming the room and the field', async () => {
    const f = roomsFile(ROOMS.replace('pins = { host = ["2222"]', 'pins = { host = ["22222"]'));
    try {
      const r = await runExpectExit({ env: { ROOMS_FILE: f.file } });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.listened, false);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /room "beta"/);
      assert.match(lines[0], /pins/);
    } finally { f.remove(); }
  });

  it('an unknown key is refused the same way', async () => {
    const f = roomsFile(ROOMS.replace('wait_for_host = true', 'wait_for_hots = true'));
    try {
      const r = await runExpectExit({ env: { ROOMS_FILE: f.file } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /room "beta".*wait_for_hots/);
    } finally { f.remove(); }
  });

  it('partyline check has a Rooms row: PASS for a good file, FAIL naming the room for a bad one', async () => {
    const f = roomsFile(ROOMS);
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    try {
      const env = { PATH: process.env.PATH || '/usr/bin:/bin', DATA_DIR: dataDir, ROOMS_FILE: f.file };
      let r = await runCommand(['check'], env);
      assert.match(r.stdout, /^Rooms\s+PASS\s+3 in .*alpha, beta, hotline$/m, r.stdout);
      f.write(ROOMS.replace('max_participants = 3', 'max_participants = 1'));
      r = await runCommand(['check'], env);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^Rooms\s+FAIL\s+.*room "alpha".*max_participants/m, r.stdout);
    } finally { f.remove(); rmSync(dataDir, { recursive: true, force: true }); }
  });
});

async function twiml(srv, path, extra = {}) {
  const r = await signedPost(srv, path, voiceParams(srv.accountSid, extra));
  assert.equal(r.status, 200, r.body);
  return parseTwiml(r.body);
}

const conferenceOf = (doc) => findAll(doc, 'Conference')[0];

describe('rooms: the call flow', () => {
  let srv;
  let f;
  before(async () => {
    f = roomsFile(ROOMS);
    srv = await startServer({ env: { ROOMS_FILE: f.file, PIN_ATTEMPTS: '2' } });
  });
  after(async () => { await srv?.stop(); f?.remove(); });

  it('two rooms and three roles from one number: the PIN picks the room and the role', async () => {
    const voice = await twiml(srv, '/voice');
    const gather = findAll(voice, 'Gather')[0];
    assert.equal(gather.attrs.numDigits, '4');
    assert.equal(gather.attrs.action, `${srv.publicBaseUrl}/check-pin`);
    const cases = [
      ['1111', 'alpha', 'host'], ['1234', 'alpha', 'speaker'], ['9876', 'alpha', 'producer'],
      ['2222', 'beta', 'host'], ['2345', 'beta', 'speaker'], ['8765', 'beta', 'producer'],
    ];
    const seen = new Set();
    for (const [pin, room, role] of cases) {
      const conf = conferenceOf(await twiml(srv, '/check-pin', { Digits: pin }));
      assert.ok(conf, `${pin} joins a conference`);
      assert.equal(findAll(conf, 'Conference').length, 1);
      const name = conf.children.find((c) => 'text' in c).text;
      assert.equal(name, room, pin);
      assert.equal(conf.attrs.muted, role === 'producer' ? 'true' : undefined, pin);
      if (role === 'host') assert.equal(conf.attrs.startConferenceOnEnter, 'true', pin);
      // what Twilio takes from the first participant only is the same for every role
      const shared = ['record', 'statusCallback', 'statusCallbackEvent', 'recordingStatusCallback',
        'recordingStatusCallbackEvent'].map((k) => conf.attrs[k]).join('|');
      seen.add(`${room}:${shared}`);
    }
    assert.equal(seen.size, 2, [...seen].join('\n'));
    const line = await srv.waitForLog((l) => l.evt === 'pin.producer' && l.room === 'beta', 'pin.producer in beta');
    assert.equal(line.role, 'producer');
  });

  it('wait_for_host: speakers and producers do not start the conference, the host does', async () => {
    const speaker = conferenceOf(await twiml(srv, '/check-pin', { Digits: '2345' }));
    const producer = conferenceOf(await twiml(srv, '/check-pin', { Digits: '8765' }));
    const host = conferenceOf(await twiml(srv, '/check-pin', { Digits: '2222' }));
    assert.equal(speaker.attrs.startConferenceOnEnter, 'false');
    assert.equal(producer.attrs.startConferenceOnEnter, 'false');
    assert.equal(host.attrs.startConferenceOnEnter, 'true');
    // alpha does not wait for its host
    assert.equal(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234' })).attrs.startConferenceOnEnter, undefined);
  });

  it('a call To a listed number joins its room without a PIN', async () => {
    const doc = await twiml(srv, '/voice', { To: '+18005550199' });
    assert.equal(findAll(doc, 'Gather').length, 0);
    const conf = conferenceOf(doc);
    assert.equal(conf.children.find((c) => 'text' in c).text, 'hotline');
  });

  it('PIN_ATTEMPTS=2: a wrong PIN re-prompts with ?attempt=2, the second wrong one hangs up', async () => {
    const From = '+15550001001';
    const first = await twiml(srv, '/check-pin', { Digits: '0000', From });
    const gather = findAll(first, 'Gather')[0];
    assert.ok(gather, 'the first wrong PIN re-prompts');
    assert.equal(gather.attrs.action, `${srv.publicBaseUrl}/check-pin?attempt=2`);
    const second = await twiml(srv, '/check-pin?attempt=2', { Digits: '0000', From });
    assert.equal(findAll(second, 'Gather').length, 0);
    assert.equal(findAll(second, 'Hangup').length, 1);
    // the right PIN on the second attempt still gets in
    const ok = await twiml(srv, '/check-pin?attempt=2', { Digits: '1234', From: '+15550001002' });
    assert.ok(conferenceOf(ok));
  });

  it('five wrong PINs lock the number out: refused without a prompt, logged with the last 4 digits', async () => {
    const From = '+15550002468';
    const before = (await scrape(srv)).get('partyline_pin_wrong_total') ?? 0;
    for (let i = 0; i < 5; i++) await twiml(srv, '/check-pin', { Digits: '0000', From });
    const lockout = await srv.waitForLog((l) => l.evt === 'pin.lockout', 'pin.lockout');
    assert.equal(lockout.From, '***2468');
    // A later request's line proves every line of the five is out before they are searched.
    const health = () => srv.logs.filter((l) => l.evt === 'http.request' && l.path === '/health').length;
    const seen = health();
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/health`)).status, 200);
    await srv.waitForLog(() => health() > seen, 'the later /health line');
    assert.ok(!JSON.stringify(srv.logs).includes('55500024'), 'no more than the last 4 digits');
    const voice = await twiml(srv, '/voice', { From });
    assert.equal(findAll(voice, 'Gather').length, 0, 'no prompt for a locked-out number');
    assert.equal(findAll(voice, 'Hangup').length, 1);
    // even the right PIN is refused now; another number is not
    assert.equal(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234', From })), undefined);
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234', From: '+15550003333' })));
    const m = await scrape(srv);
    assert.equal(m.get('partyline_pin_wrong_total') - before, 5);
    assert.equal(m.get('partyline_pin_lockouts_total'), 1);
  });
});

// Twilio's participant-join for a call, in a conference of its own sequence numbers.
async function confEvent(srv, conferenceSid, callSid, seq, event = 'participant-join') {
  const r = await signedPost(srv, '/conf-status', {
    AccountSid: srv.accountSid, ConferenceSid: conferenceSid, StatusCallbackEvent: event,
    CallSid: callSid, SequenceNumber: String(seq), FriendlyName: 'alpha',
  });
  assert.equal(r.status, 204, r.body);
}

// Joins a caller with this PIN: the call record (room, role), then Twilio's join event.
async function joinWithPin(srv, conferenceSid, pin, seq) {
  const CallSid = sid('CA');
  const conf = conferenceOf(await twiml(srv, '/check-pin', { Digits: pin, CallSid, From: `+1555000${4000 + seq}` }));
  assert.ok(conf, `PIN ${pin} joins`);
  await confEvent(srv, conferenceSid, CallSid, seq);
  return CallSid;
}

const sayOf = (doc) => findAll(doc, 'Say').map((s) => s.children.map((c) => c.text).join('')).join(' ');

describe('rooms: full, locked, who is in', () => {
  let f;
  let dataDir;
  let srv;
  const env = () => ({ ROOMS_FILE: f.file });
  before(async () => {
    f = roomsFile(ROOMS);
    dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    srv = await startServer({ env: env(), dataDir });
  });
  after(async () => { await srv?.stop(); f?.remove(); rmSync(dataDir, { recursive: true, force: true }); });

  it('a full room refuses the next caller with "The line is full" and a hangup', async () => {
    const cf = sid('CF');
    const first = await joinWithPin(srv, cf, '1234', 1);
    await joinWithPin(srv, cf, '9876', 2);
    await joinWithPin(srv, cf, '1111', 3);
    const m = await scrape(srv);
    assert.equal(m.get('partyline_room_participants', { room: 'alpha' }), 3);
    assert.equal(m.get('partyline_room_participants', { room: 'beta' }), 0);
    const full = await twiml(srv, '/check-pin', { Digits: '1234' });
    assert.equal(conferenceOf(full), undefined);
    assert.match(sayOf(full), /The line is full\. Please try again later\./);
    assert.equal(findAll(full, 'Hangup').length, 1);
    // beta is another room: not full
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '2345' })));
    // one leaves: there is room again
    await confEvent(srv, cf, first, 4, 'participant-leave');
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234' })));
    await confEvent(srv, cf, '', 5, 'conference-end');
  });

  it('partyline rooms lists the rooms: numbers, PIN counts, participants, locked', async () => {
    const cf = sid('CF');
    await joinWithPin(srv, cf, '2345', 1);
    const r = await runCommand(['rooms'], srv.env);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows[0], ['NAME', 'NUMBERS', 'HOSTS', 'SPEAKERS', 'PRODUCERS', 'PARTICIPANTS', 'LOCKED']);
    assert.deepEqual(rows.slice(1), [
      ['alpha', '-', '1', '1', '1', '0', 'no'],
      ['beta', '-', '1', '1', '1', '1', 'no'],
      ['hotline', '+18005550199', '0', '0', '0', '0', 'no'],
    ]);
    for (const pin of ['1111', '1234', '9876', '2222', '2345', '8765']) assert.ok(!r.stdout.includes(pin));
    await confEvent(srv, cf, '', 2, 'conference-end');
  });

  it('a locked room refuses speakers and producers, takes hosts, and stays locked over a restart', async () => {
    let r = await runCommand(['rooms', 'lock', 'alpha'], srv.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alpha locked/);
    // The command is another process: the running service notices its lock at the first caller
    // after its recheck interval (250 ms).
    const speakerAdmitted = async () => conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234' })) !== undefined;
    await waitFor(async () => !(await speakerAdmitted()), { timeout: 3000, interval: 50, what: 'the lock in force' });
    for (const pin of ['1234', '9876']) {
      const doc = await twiml(srv, '/check-pin', { Digits: pin });
      assert.equal(conferenceOf(doc), undefined, pin);
      assert.match(sayOf(doc), /The line is closed\./);
      assert.equal(findAll(doc, 'Hangup').length, 1);
    }
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1111' })), 'the host gets in');
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '2345' })), 'beta is open');
    await srv.waitForLog((l) => l.evt === 'room.closed', 'room.closed');

    await srv.stop();
    srv = await startServer({ env: env(), dataDir });
    assert.equal(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234' })), undefined, 'still locked');
    r = await runCommand(['rooms'], srv.env);
    assert.match(r.stdout, /^alpha\s.*\syes$/m);

    r = await runCommand(['rooms', 'unlock', 'alpha'], srv.env);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(speakerAdmitted, { timeout: 3000, interval: 50, what: 'the unlock in force' });
    r = await runCommand(['rooms', 'lock', 'nosuch'], srv.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no room "nosuch"/);
  });
});

describe('rooms: recordings', () => {
  const RECORDED = `pin_length = 4

[[room]]
name = "alpha"
pins = { host = ["1111"], speaker = ["1234"] }

[[room]]
name = "studio"
numbers = ["+18005550177"]
prefix = "shows/studio/"
consent = "press1"
`;
  let f;
  let fake;
  let srv;
  let acct;
  before(async () => {
    f = roomsFile(RECORDED);
    acct = account();
    fake = await startFakeTwilio(acct);
    srv = await startServer({ env: {
      ROOMS_FILE: f.file, TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken,
      TWILIO_API_BASE: fake.origin,
    } });
  });
  after(async () => { await srv?.stop(); await fake?.stop(); f?.remove(); });

  const post = async (path, params) => {
    const r = await signedPost(srv, path, params);
    assert.ok(r.status === 200 || r.status === 204, `${path}: ${r.status} ${r.body}`);
    return r;
  };

  // One caller through the room's way in, joined to the conference; then its recording.
  async function recordedCall({ to, pin, consentDigits }) {
    const CallSid = sid('CA');
    const CF = sid('CF');
    const params = (extra) => voiceParams(acct.accountSid, { CallSid, To: to, ...extra });
    await post('/voice', params({}));
    if (consentDigits) await post('/consent', params({ Digits: consentDigits }));
    if (pin) await post('/check-pin', params({ Digits: pin }));
    await post('/conf-status', { AccountSid: acct.accountSid, ConferenceSid: CF,
      StatusCallbackEvent: 'participant-join', CallSid, SequenceNumber: '1' });
    const p = recordingParams(acct.accountSid, { ConferenceSid: CF });
    p.RecordingUrl = fake.addRecording(p.RecordingSid, Buffer.from(`audio of ${CallSid}`));
    await post('/recording-callback', p);
    return { CallSid, CF, sid: p.RecordingSid };
  }

  const stored = (key) => join(srv.dataDir, 'recordings', key);
  async function report(key) {
    const file = stored(key.replace(/\.mp3$/, '.json'));
    await waitFor(() => existsSync(file), { timeout: 10000, what: `the report ${file}` });
    return JSON.parse(readFileSync(file, 'utf8'));
  }

  it("each room's recordings land under its prefix, the report names the room, role and consent", async () => {
    const before = Date.now() - 1000;
    const a = await recordedCall({ to: '+18005550100', pin: '1234' });
    const s = await recordedCall({ to: '+18005550177', consentDigits: '1' });
    const keyA = expectedKey('alpha/', a.sid);
    const keyS = expectedKey('shows/studio/', s.sid);
    await waitFor(() => existsSync(stored(keyA)) && existsSync(stored(keyS)), { timeout: 10000, what: 'both recordings stored' });

    const ra = await report(keyA);
    assert.equal(ra.room, 'alpha');
    assert.equal(ra.participants.length, 1);
    assert.equal(ra.participants[0].role, 'speaker');
    assert.equal(ra.participants[0].room, 'alpha');
    assert.equal(ra.participants[0].consent.how, 'notice');
    const at = Date.parse(ra.participants[0].consent.at);
    assert.ok(at >= before && at <= Date.now(), ra.participants[0].consent.at);

    const rs = await report(keyS);
    assert.equal(rs.room, 'studio');
    assert.equal(rs.participants[0].role, null);
    assert.equal(rs.participants[0].consent.how, 'press1');
    assert.ok(Date.parse(rs.participants[0].consent.at) >= before);

    const list = await runCommand(['recordings', 'list'], srv.env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout.split('\n').find((l) => l.startsWith(a.sid)) ?? '', /\salpha\s+alpha\//);
    assert.match(list.stdout.split('\n').find((l) => l.startsWith(s.sid)) ?? '', /\sstudio\s+shows\/studio\//);
  });
});

describe('rooms: SIGHUP', () => {
  let f;
  let srv;
  before(async () => {
    f = roomsFile(ROOMS);
    srv = await startServer({ env: { ROOMS_FILE: f.file } });
  });
  after(async () => { await srv?.stop(); f?.remove(); });

  const reloads = (evt) => srv.logs.filter((l) => l.evt === evt).length;

  it('a good file replaces the rooms for the next calls', async () => {
    assert.equal(conferenceOf(await twiml(srv, '/check-pin', { Digits: '4444' })), undefined);
    f.write(`${ROOMS}
[[room]]
name = "gamma"
pins = { speaker = ["4444"] }
`);
    const seen = reloads('rooms.reload');
    srv.proc.kill('SIGHUP');
    const line = await waitFor(() => reloads('rooms.reload') > seen && srv.logs.filter((l) => l.evt === 'rooms.reload').at(-1),
      { what: 'rooms.reload' });
    assert.equal(line.rooms, 4);
    const conf = conferenceOf(await twiml(srv, '/check-pin', { Digits: '4444' }));
    assert.equal(conf.children.find((c) => 'text' in c).text, 'gamma');
    assert.equal(srv.exit, null, 'the service keeps running');
  });

  it('a bad file is logged as an error naming the room and field, and the rooms in force stay', async () => {
    f.write(`${ROOMS}
[[room]]
name = "delta"
pins = { speaker = ["1234"] }
`);
    const seen = reloads('rooms.reload_error');
    srv.proc.kill('SIGHUP');
    const line = await waitFor(() => reloads('rooms.reload_error') > seen && srv.logs.filter((l) => l.evt === 'rooms.reload_error').at(-1),
      { what: 'rooms.reload_error' });
    assert.equal(line.level, 'error');
    assert.match(line.reason, /room "delta".*pins/);
    assert.ok(!line.reason.includes('1234'), 'the PIN is not in the log');
    // gamma (from the last good file) still answers, alpha too
    assert.equal(conferenceOf(await twiml(srv, '/check-pin', { Digits: '4444' })).children.find((c) => 'text' in c).text, 'gamma');
    assert.ok(conferenceOf(await twiml(srv, '/check-pin', { Digits: '1234' })));
    assert.equal(srv.exit, null);
  });
});
