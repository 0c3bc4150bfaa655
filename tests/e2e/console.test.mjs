// The console's API over real sockets: sign-in (cookie, 401, 429, sign-out), what needs a session,
// cross-origin refusals, the live rooms (JSON and Server-Sent Events fed by /conf-status), and the
// actions on a conference, asked of the fake Twilio (each request checked).
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './lib/api.mjs';
import { request, signedPost } from './lib/http.mjs';
import { account, sid, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';

const PASSWORD = 'correct horse battery staple';
const ORIGIN = 'https://calls.example.com';

function cookieOf(res) {
  const set = res.headers['set-cookie'] ?? [];
  const c = set.find((s) => s.startsWith('partyline_session='));
  return c;
}

async function signIn(srv, username = 'alice', password = PASSWORD, headers = {}) {
  return api(srv, 'POST', '/api/session', { body: { username, password }, headers });
}

// A Server-Sent Events reader: `next()` resolves with the next event's data (parsed JSON).
function openEvents(srv, path, cookie) {
  const events = [];
  const waiters = [];
  let status;
  let ended = false;
  let buffer = '';
  const req = http.request({ host: '127.0.0.1', port: srv.port, path, headers: { Cookie: cookie } }, (res) => {
    status = res.statusCode;
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buffer += chunk;
      let at;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!block.split('\n').includes('event: room')) continue;
        events.push({ at: Date.now(), data: JSON.parse(data) });
        while (waiters.length) waiters.shift()();
      }
    });
    res.on('end', () => { ended = true; while (waiters.length) waiters.shift()(); });
  });
  req.on('error', () => { ended = true; });
  req.end();
  return {
    events,
    get status() { return status; },
    get ended() { return ended; },
    async next(pred = () => true, timeout = 3000) {
      return waitFor(() => events.find(pred), { timeout, what: 'a room event' });
    },
    close() { req.destroy(); },
  };
}

describe('console: without a user', () => {
  it('in production the console and its API answer 404 until a user exists, and the log says how to add one', async () => {
    const srv = await startServer();
    try {
      const line = await srv.waitForLog((l) => l.evt === 'console.no_user');
      assert.match(line.message, /partyline users add/);
      for (const path of ['/console', '/console/sign-in', '/api/rooms']) {
        const r = await request(srv.port, { path });
        assert.equal(r.status, 404, path);
      }
      assert.equal((await signIn(srv)).status, 404);
    } finally { await srv.stop(); }
  });
});

describe('console: sign-in and sessions', () => {
  let srv;
  let fake;
  before(async () => {
    const acct = account();
    fake = await startFakeTwilio({ ...acct, conferences: 'any' });
    srv = await startServer({ env: { TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin } });
    const add = await runCommand(['users', 'add', 'alice', '--role', 'admin'], srv.env, { stdin: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
  });
  after(async () => { await srv?.stop(); await fake?.stop(); });

  it('the sign-in page needs no session and carries the security headers; other pages send to it', async () => {
    const page = await request(srv.port, { path: '/console/sign-in' });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    assert.equal(page.headers['content-security-policy'].split(';')[0], "default-src 'self'");
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['referrer-policy'], 'same-origin');
    // What the sign-in page loads loads without a session too (its script imports api.js).
    for (const m of page.body.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)) {
      assert.equal((await request(srv.port, { path: m[1] })).status, 200, m[1]);
    }
    assert.equal((await request(srv.port, { path: '/console/assets/api.js' })).status, 200);
    const live = await request(srv.port, { path: '/console' });
    assert.equal(live.status, 302);
    assert.match(live.headers.location, /^\/console\/sign-in\?next=/);
    // The webhooks keep their headers.
    const health = await request(srv.port, { path: '/health' });
    assert.equal(health.headers['content-security-policy'], undefined);
  });

  it('every API route needs a session: 401 without one', async () => {
    const cf = sid('CA');
    for (const [method, path, body] of [
      ['GET', '/api/rooms'], ['GET', '/api/rooms/partyline'], ['GET', '/api/rooms/partyline/events'],
      ['POST', `/api/rooms/partyline/participants/${cf}`, { muted: true }],
      ['DELETE', `/api/rooms/partyline/participants/${cf}`],
      ['POST', '/api/rooms/partyline/mute-all', { muted: true }], ['POST', '/api/rooms/partyline/lock', { locked: true }],
      ['POST', '/api/rooms/partyline/recording', { paused: true }], ['POST', '/api/rooms/partyline/end'],
    ]) {
      const r = await api(srv, method, path, { body, cookie: 'partyline_session=forged' });
      assert.equal(r.status, 401, `${method} ${path}`);
    }
  });

  it('a good password gives a session cookie with its flags; a wrong one and an unknown user answer alike', async () => {
    const ok = await signIn(srv);
    assert.equal(ok.status, 204, ok.body);
    const c = cookieOf(ok);
    assert.ok(c, 'Set-Cookie');
    for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Secure']) assert.ok(c.includes(flag), `${flag} in ${c}`);
    const wrong = await signIn(srv, 'alice', 'nope');
    const unknown = await signIn(srv, 'mallory', 'nope');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body, unknown.body);
    assert.equal(cookieOf(wrong), undefined);
    const rooms = await api(srv, 'GET', '/api/rooms', { cookie: c.split(';')[0] });
    assert.equal(rooms.status, 200);
    assert.deepEqual(rooms.json.map((r) => r.name), ['partyline']);
    assert.equal(srv.rawLines.some((l) => l.includes(PASSWORD)), false, 'no password in the log');
  });

  it('a state-changing request from another origin is refused', async () => {
    const c = cookieOf(await signIn(srv)).split(';')[0];
    let r = await api(srv, 'POST', '/api/rooms/partyline/lock', { cookie: c, body: { locked: true }, headers: { Origin: 'https://evil.example' } });
    assert.equal(r.status, 403);
    r = await api(srv, 'POST', '/api/rooms/partyline/lock', { cookie: c, body: { locked: true }, headers: { 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(r.status, 403);
    r = await signIn(srv, 'alice', PASSWORD, { Origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    r = await api(srv, 'POST', '/api/rooms/partyline/lock', { cookie: c, body: { locked: false }, headers: { Origin: ORIGIN } });
    assert.equal(r.status, 202, r.body);
  });

  it('after sign-out the session no longer works', async () => {
    const c = cookieOf(await signIn(srv)).split(';')[0];
    const out = await api(srv, 'DELETE', '/api/session', { cookie: c });
    assert.equal(out.status, 204);
    assert.match(cookieOf(out), /Max-Age=0/);
    assert.equal((await api(srv, 'GET', '/api/rooms', { cookie: c })).status, 401);
  });

  // Loopback has a whole /8: each client below comes from an address of its own.
  it('five failures for one name, from any addresses, make the sixth attempt 429 with Retry-After', async () => {
    const from = (n) => ({ localAddress: `127.0.1.${n}` });
    const attempt = (name, password, n) => request(srv.port, {
      method: 'POST', path: '/api/session', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: name, password }), ...from(n),
    });
    for (let i = 1; i <= 5; i++) assert.equal((await attempt('alice', 'wrong', i)).status, 401);
    const r = await attempt('alice', PASSWORD, 6);
    assert.equal(r.status, 429, 'even the right password, for that name');
    assert.ok(Number(r.headers['retry-after']) > 0, r.headers['retry-after']);
    assert.equal((await attempt('carol', 'x', 7)).status, 401, 'another name from another address is not held up');
  });

  it('five failures from one address make its sixth attempt 429, whatever the name', async () => {
    const attempt = (name, password) => request(srv.port, {
      method: 'POST', path: '/api/session', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: name, password }), localAddress: '127.0.2.1',
    });
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) assert.equal((await attempt(name, 'wrong')).status, 401);
    const r = await attempt('dave', 'wrong');
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers['retry-after']) > 0);
  });
});

describe('console: the live room and its actions', () => {
  let srv;
  let fake;
  let cookie;
  before(async () => {
    const acct = account();
    fake = await startFakeTwilio({ ...acct, conferences: 'any' });
    srv = await startServer({ env: { TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin } });
    const add = await runCommand(['users', 'add', 'alice'], srv.env, { stdin: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
    cookie = cookieOf(await signIn(srv)).split(';')[0];
  });
  after(async () => { await srv?.stop(); await fake?.stop(); });

  async function conf(cf, event, callSid, seq, extra = {}) {
    const r = await signedPost(srv, '/conf-status', {
      AccountSid: srv.accountSid, ConferenceSid: cf, StatusCallbackEvent: event, FriendlyName: 'partyline',
      SequenceNumber: String(seq), ...(callSid ? { CallSid: callSid } : {}), ...extra,
    });
    assert.equal(r.status, 204, r.body);
  }

  async function caller(digits) {
    const CallSid = sid('CA');
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid, { CallSid, From: `+1555000${digits}` }));
    assert.equal(r.status, 200);
    return CallSid;
  }

  it('a join shows on the event stream within a second, with the caller\'s last 4 digits', async () => {
    const stream = openEvents(srv, '/api/rooms/partyline/events', cookie);
    try {
      const first = await stream.next();
      assert.equal(stream.status, 200);
      assert.equal(first.data.name, 'partyline');
      assert.equal(first.data.conference, null);
      const cf = sid('CF');
      const ca = await caller('4321');
      await conf(cf, 'conference-start', '', 1);
      const sent = Date.now();
      await conf(cf, 'participant-join', ca, 2);
      const seen = await stream.next((e) => e.data.participants.length === 1);
      assert.ok(seen.at - sent < 1000, `${seen.at - sent} ms`);
      const p = seen.data.participants[0];
      assert.equal(p.call_sid, ca);
      assert.equal(p.caller, '***4321');
      assert.equal(p.role, 'speaker');
      assert.equal(p.muted, false);
      assert.equal(p.hold, false);
      assert.equal(seen.data.conference.sid, cf);
      assert.equal(seen.data.conference.recording, 'recording');

      // Mute: Twilio is asked; the state changes when Twilio's event comes, not before.
      const r = await api(srv, 'POST', `/api/rooms/partyline/participants/${ca}`, { cookie, body: { muted: true } });
      assert.equal(r.status, 202, r.body);
      const asked = fake.conferenceRequests().find((q) => q.path.endsWith(`/Conferences/${cf}/Participants/${ca}.json`));
      assert.ok(asked, 'Twilio was asked');
      assert.equal(asked.method, 'POST');
      assert.deepEqual(asked.form, { Muted: 'true' });
      assert.equal(asked.authOk, true);
      const room = await api(srv, 'GET', '/api/rooms/partyline', { cookie });
      assert.equal(room.json.participants[0].muted, false, 'not before the event');
      await conf(cf, 'participant-mute', ca, 3, { Muted: 'true' });
      await stream.next((e) => e.data.participants[0]?.muted === true);
      const line = await srv.waitForLog((l) => l.evt === 'console.action' && l.action === 'mute');
      assert.equal(line.user, 'alice');
      assert.equal(line.room, 'partyline');
      assert.equal(line.caller, '***4321');

      // Hold, and Twilio's refusal shown with its message.
      fake.failRest('POST', ca, 404, { times: 1, message: 'Participant not found in conference', code: 20404 });
      const refused = await api(srv, 'POST', `/api/rooms/partyline/participants/${ca}`, { cookie, body: { hold: true } });
      assert.equal(refused.status, 502);
      assert.match(refused.json.error, /Participant not found in conference/);

      // Bad requests.
      assert.equal((await api(srv, 'POST', `/api/rooms/partyline/participants/${ca}`, { cookie, body: { muted: 'yes' } })).status, 400);
      assert.equal((await api(srv, 'POST', `/api/rooms/partyline/participants/${sid('CA')}`, { cookie, body: { muted: true } })).status, 404);
      assert.equal((await api(srv, 'POST', `/api/rooms/nosuch/participants/${ca}`, { cookie, body: { muted: true } })).status, 404);

      // Pause the recording: shown once Twilio accepted it.
      const pause = await api(srv, 'POST', '/api/rooms/partyline/recording', { cookie, body: { paused: true } });
      assert.equal(pause.status, 202, pause.body);
      assert.ok(fake.conferenceRequests().some((q) => q.path.endsWith(`/Conferences/${cf}/Recordings/Twilio.CURRENT.json`) && q.form.Status === 'paused'));
      await stream.next((e) => e.data.conference?.recording === 'paused');

      // Mute all: one request per speaker.
      const ca2 = await caller('8765');
      await conf(cf, 'participant-join', ca2, 4);
      const before = fake.conferenceRequests().length;
      const all = await api(srv, 'POST', '/api/rooms/partyline/mute-all', { cookie, body: { muted: true } });
      assert.equal(all.status, 202, all.body);
      const muted = fake.conferenceRequests().slice(before).filter((q) => q.form.Muted === 'true').map((q) => q.path);
      assert.equal(muted.length, 2, JSON.stringify(muted));

      // Remove one, then end the conference.
      const del = await api(srv, 'DELETE', `/api/rooms/partyline/participants/${ca2}`, { cookie });
      assert.equal(del.status, 202, del.body);
      assert.ok(fake.conferenceRequests().some((q) => q.method === 'DELETE' && q.path.endsWith(`/Participants/${ca2}.json`)));
      const end = await api(srv, 'POST', '/api/rooms/partyline/end', { cookie });
      assert.equal(end.status, 202, end.body);
      assert.ok(fake.conferenceRequests().some((q) => q.path.endsWith(`/Conferences/${cf}.json`) && q.form.Status === 'completed'));
      await conf(cf, 'conference-end', '', 9);
      await stream.next((e) => e.data.conference === null);
      assert.equal((await api(srv, 'POST', '/api/rooms/partyline/end', { cookie })).status, 409, 'no conference runs');
    } finally { stream.close(); }
  });

  it('the lock from the console refuses the next caller; the stream shows it', async () => {
    const stream = openEvents(srv, '/api/rooms/partyline/events', cookie);
    try {
      await stream.next();
      const r = await api(srv, 'POST', '/api/rooms/partyline/lock', { cookie, body: { locked: true } });
      assert.equal(r.status, 202, r.body);
      await stream.next((e) => e.data.locked === true);
      const v = await signedPost(srv, '/voice', voiceParams(srv.accountSid, { CallSid: sid('CA') }));
      assert.match(v.body, /The line is closed\./);
      assert.equal((await api(srv, 'POST', '/api/rooms/partyline/lock', { cookie, body: { locked: false } })).status, 202);
      await stream.next((e) => e.data.locked === false);
    } finally { stream.close(); }
  });

  it('one session holds at most 16 live streams: the 17th is refused with 429', async () => {
    const other = cookieOf(await signIn(srv)).split(';')[0];
    const streams = [];
    try {
      for (let i = 0; i < 16; i++) {
        const s = openEvents(srv, '/api/rooms/partyline/events', other);
        streams.push(s);
        await s.next();
      }
      const r = await api(srv, 'GET', '/api/rooms/partyline/events', { cookie: other });
      assert.equal(r.status, 429, r.body);
      const mine = openEvents(srv, '/api/rooms/partyline/events', cookie);
      streams.push(mine);
      await mine.next();  // another session is not held up
    } finally { streams.forEach((s) => s.close()); }
  });

  it('a stream ends when its session signs out', async () => {
    const other = cookieOf(await signIn(srv)).split(';')[0];
    const stream = openEvents(srv, '/api/rooms/partyline/events', other);
    await stream.next();
    assert.equal((await api(srv, 'DELETE', '/api/session', { cookie: other })).status, 204);
    await waitFor(() => stream.ended, { timeout: 3000, what: 'the stream to end' });
  });
});

describe('console: rooms, sessions that end, local mode', () => {
  it('a participant of another room is not found there', async () => {
    const acct = account();
    const fake = await startFakeTwilio({ ...acct, conferences: 'any' });
    const dir = mkdtempSync(join(tmpdir(), 'partyline-console-'));
    const file = join(dir, 'rooms.toml');
    writeFileSync(file, 'pin_length = 4\n\n[[room]]\nname = "alpha"\npins = { speaker = ["1234"] }\n\n[[room]]\nname = "beta"\npins = { speaker = ["2345"] }\n');
    const srv = await startServer({ env: { ROOMS_FILE: file, TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin } });
    try {
      assert.equal((await runCommand(['users', 'add', 'alice'], srv.env, { stdin: `${PASSWORD}\n` })).code, 0);
      const cookie = cookieOf(await signIn(srv)).split(';')[0];
      const join = async (room, pin, cf, seq) => {
        const CallSid = sid('CA');
        const r = await signedPost(srv, '/check-pin', voiceParams(srv.accountSid, { CallSid, Digits: pin }));
        assert.match(r.body, new RegExp(`>${room}</Conference>`));
        const e = await signedPost(srv, '/conf-status', { AccountSid: srv.accountSid, ConferenceSid: cf, StatusCallbackEvent: 'participant-join', FriendlyName: room, CallSid, SequenceNumber: String(seq) });
        assert.equal(e.status, 204);
        return CallSid;
      };
      const inAlpha = await join('alpha', '1234', sid('CF'), 1);
      await join('beta', '2345', sid('CF'), 1);
      const wrongRoom = await api(srv, 'POST', `/api/rooms/beta/participants/${inAlpha}`, { cookie, body: { muted: true } });
      assert.equal(wrongRoom.status, 404, wrongRoom.body);
      assert.equal(fake.conferenceRequests().length, 0, 'Twilio was not asked');
      const right = await api(srv, 'POST', `/api/rooms/alpha/participants/${inAlpha}`, { cookie, body: { muted: true } });
      assert.equal(right.status, 202, right.body);
      const rooms = await api(srv, 'GET', '/api/rooms', { cookie });
      assert.deepEqual(rooms.json.map((r) => [r.name, r.participants]), [['alpha', 1], ['beta', 1]]);
    } finally { await srv.stop(); await fake.stop(); rmSync(dir, { recursive: true, force: true }); }
  });

  it('a stream ends once its user\'s password is changed (the sessions end)', async () => {
    const srv = await startServer();
    try {
      assert.equal((await runCommand(['users', 'add', 'alice'], srv.env, { stdin: `${PASSWORD}\n` })).code, 0);
      const cookie = cookieOf(await signIn(srv)).split(';')[0];
      const stream = openEvents(srv, '/api/rooms/partyline/events', cookie);
      await stream.next();
      assert.equal((await runCommand(['users', 'passwd', 'alice'], srv.env, { stdin: 'a new password here\n' })).code, 0);
      assert.equal((await api(srv, 'GET', '/api/rooms', { cookie })).status, 401);
      // The next change of the room finds the session gone: the stream ends instead.
      const e = await signedPost(srv, '/conf-status', { AccountSid: srv.accountSid, ConferenceSid: sid('CF'), StatusCallbackEvent: 'conference-start', FriendlyName: 'partyline', SequenceNumber: '1' });
      assert.equal(e.status, 204);
      await waitFor(() => stream.ended, { timeout: 3000, what: 'the stream to end' });
      assert.equal(stream.events.length, 1, 'no state after the session ended');
    } finally { await srv.stop(); }
  });

  it('local mode: the first start makes user admin, its password kept in the local credentials file only', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-console-local-'));
    try {
      let srv = await startServer({ local: true, dataDir });
      const made = await srv.waitForLog((l) => l.evt === 'console.user_created');
      assert.equal(made.user, 'admin');
      assert.match(made.password_in, /local-credentials\.json$/);
      const creds = JSON.parse(readFileSync(join(dataDir, 'local-credentials.json'), 'utf8'));
      assert.equal(creds.console_user, 'admin');
      assert.ok(creds.console_password.length >= 16);
      assert.equal((statSync(join(dataDir, 'local-credentials.json')).mode & 0o777), 0o600);
      assert.equal(srv.rawLines.some((l) => l.includes(creds.console_password)), false, 'never in the log');
      const ready = await srv.waitForLog((l) => l.evt === 'console.ready');
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+\/console$/);
      const ok = await signIn(srv, 'admin', creds.console_password, { Origin: new URL(ready.url).origin });
      assert.equal(ok.status, 204, ok.body);
      const session = cookieOf(ok).split(';')[0];
      await srv.stop();
      // A second start keeps the user and the password.
      srv = await startServer({ local: true, dataDir });
      await srv.waitForLog((l) => l.evt === 'console.ready');
      assert.equal(srv.logs.some((l) => l.evt === 'console.user_created'), false);
      assert.equal(JSON.parse(readFileSync(join(dataDir, 'local-credentials.json'), 'utf8')).console_password, creds.console_password);
      assert.equal((await api(srv, 'GET', '/api/rooms', { cookie: session })).status, 200, 'the session survives a restart');
      assert.equal((await signIn(srv, 'admin', creds.console_password)).status, 204);
      await srv.stop();
    } finally { rmSync(dataDir, { recursive: true, force: true }); }
  });
});
