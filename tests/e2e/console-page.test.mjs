// The console's pages (web/) in a real browser (Debian's chromium, driven by playwright-core),
// against a fake of the service's API: sign-in, the live view following the events stream, the
// buttons' requests and errors, the 401 paths, and no Content-Security-Policy violation.
// The service itself is not started: these pages use nothing but the API, faked here.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { launchChromium, newWatchedPage } from './lib/browser.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(HERE, '../../web');
const ARTIFACTS = join(HERE, 'artifacts');
const CSP = "default-src 'self'";
const USER = 'alice';
const PASSWORD = 'correct horse battery';
const LOCKED_OUT_USER = 'mallory';
const WAIT_MS = 5000;  // the deadline of every wait not given its own

const SID_A = 'CA' + 'a1'.repeat(16);
const SID_B = 'CA' + 'b2'.repeat(16);
const CONF = 'CF' + 'c3'.repeat(16);

// The URL -> file mapping of cmake/embed_assets.cmake.
function webFile(urlPath) {
  if (urlPath === '/console') return 'console.html';
  let m = /^\/console\/([a-z0-9-]+)$/.exec(urlPath);
  if (m) return `${m[1]}.html`;
  m = /^\/console\/(assets\/[a-z0-9.-]+)$/.exec(urlPath);
  return m ? m[1] : null;
}
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript',
  '.svg': 'image/svg+xml',
};

function participant(callSid, caller, extra = {}) {
  return {
    call_sid: callSid, caller, role: 'speaker', muted: false, hold: false,
    joined_at: new Date(Date.now() - 42_000).toISOString(), ...extra,
  };
}

function roomState(name, { conference = true, locked = false, recording = 'recording', participants = [] } = {}) {
  return {
    name, locked, max_participants: 15,
    conference: conference
      ? { sid: CONF, started_at: new Date(Date.now() - 65_000).toISOString(), recording }
      : null,
    participants,
  };
}

// The service's API as the pages see it, driven by the test: rooms change when the test
// publishes an event, and every request is recorded.
class FakeApi extends EventEmitter {
  constructor() {
    super();
    this.sessions = new Set();
    this.rooms = new Map();
    this.streams = new Map();  // room -> Set of open event-stream responses
    this.heldStreams = null;   // while set, new event streams wait here unanswered
    this.requests = [];
    this.everyPath = [];       // every path asked for, over all the tests
    this.answers = [];         // queued answers for the next actions
  }

  reset(rooms) {
    this.rooms = new Map(rooms.map((r) => [r.name, r]));
    this.requests = [];
    this.answers = [];
    this.heldStreams = null;
  }

  // Sets a room's state and sends it to every open stream of that room.
  publish(room) {
    this.rooms.set(room.name, room);
    for (const res of this.streams.get(room.name) ?? []) writeEvent(res, room);
  }

  dropStreams(name) {
    for (const res of this.streams.get(name) ?? []) res.end();
    this.streams.get(name)?.clear();
  }

  holdStreams() { this.heldStreams = []; }

  releaseStreams() {
    const held = this.heldStreams ?? [];
    this.heldStreams = null;
    for (const { name, res } of held) this.openStream(name, res);
  }

  // The answer to the next action; `gate` (a promise) delays it until it settles.
  answerNext(answer) { this.answers.push(answer); }

  openStreams(name) { return this.streams.get(name)?.size ?? 0; }

  // Resolves with the first recorded request matching `pred`, waiting up to `ms` for it.
  waitForRequest(pred, ms = WAIT_MS) {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolvePromise, reject) => {
      const onRequest = (r) => {
        if (!pred(r)) return;
        clearTimeout(timer);
        this.off('request', onRequest);
        resolvePromise(r);
      };
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(new Error(`no matching request within ${ms} ms; got ${JSON.stringify(this.requests)}`));
      }, ms);
      this.on('request', onRequest);
    });
  }

  waitForStreams(name, count, ms = WAIT_MS) {
    return waitUntil(() => this.openStreams(name) >= count, ms, `${count} open streams of ${name}`);
  }

  openStream(name, res) {
    if (res.destroyed) return;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    // A short reconnection delay keeps the reconnect tests quick.
    res.write('retry: 200\n\n');
    if (!this.streams.has(name)) this.streams.set(name, new Set());
    this.streams.get(name).add(res);
    res.on('close', () => this.streams.get(name)?.delete(res));
    writeEvent(res, this.rooms.get(name));
  }
}

function writeEvent(res, room) {
  res.write(`event: room\ndata: ${JSON.stringify(room)}\n\n`);
}

async function waitUntil(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function summary(room) {
  return {
    name: room.name, locked: room.locked, max_participants: room.max_participants,
    participants: room.participants.length, conference: room.conference,
  };
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function sessionOf(req) {
  const m = /(?:^|;\s*)partyline_session=([^;]+)/.exec(req.headers.cookie ?? '');
  return m ? m[1] : null;
}

async function handle(api, req, res) {
  const url = new URL(req.url, 'http://localhost');
  const raw = await readBody(req);
  let body = null;
  try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
  const record = { method: req.method, path: url.pathname, contentType: req.headers['content-type'], body };
  api.requests.push(record);
  api.everyPath.push(url.pathname);
  api.emit('request', record);

  const file = req.method === 'GET' ? webFile(url.pathname) : null;
  if (file) {
    let content;
    try { content = readFileSync(join(WEB, file)); } catch { content = null; }
    if (content) {
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)], 'Content-Security-Policy': CSP,
        'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin',
      });
      res.end(content);
      return;
    }
  }
  if (url.pathname === '/api/session' && req.method === 'POST') {
    if (body?.username === LOCKED_OUT_USER) return sendJson(res, 429, { error: 'too many attempts' }, { 'Retry-After': '600' });
    if (body?.username !== USER || body?.password !== PASSWORD) return sendJson(res, 401, { error: 'wrong username or password' });
    const token = randomBytes(16).toString('hex');
    api.sessions.add(token);
    res.writeHead(204, { 'Set-Cookie': `partyline_session=${token}; HttpOnly; SameSite=Strict; Path=/` });
    return res.end();
  }
  if (!url.pathname.startsWith('/api/')) return sendJson(res, 404, { error: 'not found' });
  if (!api.sessions.has(sessionOf(req))) return sendJson(res, 401, { error: 'sign in first' });
  if (url.pathname === '/api/session' && req.method === 'DELETE') {
    api.sessions.delete(sessionOf(req));
    return sendJson(res, 204);
  }
  if (url.pathname === '/api/rooms' && req.method === 'GET') return sendJson(res, 200, [...api.rooms.values()].map(summary));
  const m = /^\/api\/rooms\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const name = m && decodeURIComponent(m[1]);
  if (!m || !api.rooms.has(name)) return sendJson(res, 404, { error: 'no such room' });
  const rest = m[2] ?? '';
  if (req.method === 'GET' && rest === '') return sendJson(res, 200, api.rooms.get(name));
  if (req.method === 'GET' && rest === '/events') {
    if (api.heldStreams) return api.heldStreams.push({ name, res });
    return api.openStream(name, res);
  }
  const answer = api.answers.shift() ?? { status: 202, body: {} };
  await answer.gate;
  if (answer.text !== undefined) {
    res.writeHead(answer.status, { 'Content-Type': 'text/plain' });
    return res.end(answer.text);
  }
  return sendJson(res, answer.status, answer.body);
}

let api;
let server;
let origin;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  api = new FakeApi();
  server = http.createServer((req, res) => {
    handle(api, req, res).catch((e) => { res.destroy(); throw e; });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r());
});

// A fresh browser context with a watch on the page: CSP violations (the DOM event and the
// console's report) and uncaught errors end up in `problems`.
async function openPage({ width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ baseURL: origin, viewport: { width, height } });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const page = await newWatchedPage(context, problems);
  return { context, page, problems };
}

async function signedIn(opts) {
  const opened = await openPage(opts);
  const res = await opened.context.request.post('/api/session', { data: { username: USER, password: PASSWORD } });
  assert.equal(res.status(), 204);
  return opened;
}

// Opens /console and waits until the room's stream is open (its badge hidden).
async function openConsole(page, name = 'main') {
  await page.goto('/console');
  await page.getByTestId('room-' + name).waitFor();
  await page.getByTestId('reconnecting-' + name).waitFor({ state: 'hidden' });
  await api.waitForStreams(name, 1);
}

const testid = (page, id) => page.getByTestId(id);

describe('console pages in chromium', () => {
  it('sign-in: a wrong password, a locked-out user, then the console; `next` stays on this site', async () => {
    api.reset([roomState('main', { conference: false })]);
    const { context, page, problems } = await openPage();
    try {
      // No session: the live view's first API call answers 401 and the page goes to sign in.
      await page.goto('/console');
      await page.waitForURL(`${origin}/console/sign-in?next=%2Fconsole`);

      await testid(page, 'sign-in-username').fill(USER);
      await testid(page, 'sign-in-password').fill('wrong');
      await testid(page, 'sign-in-submit').click();
      await page.getByText('Wrong username or password.').waitFor();

      await testid(page, 'sign-in-username').fill(LOCKED_OUT_USER);
      await testid(page, 'sign-in-submit').click();
      await page.getByText('Too many attempts. Try again in 10 minutes.').waitFor();

      await testid(page, 'sign-in-username').fill(USER);
      await testid(page, 'sign-in-password').fill(PASSWORD);
      await testid(page, 'sign-in-submit').click();
      await page.waitForURL(`${origin}/console`);
      await testid(page, 'room-main').waitFor();
      const posts = api.requests.filter((r) => r.method === 'POST' && r.path === '/api/session');
      assert.equal(posts.length, 3);
      assert.deepEqual(posts[2].body, { username: USER, password: PASSWORD });
      assert.equal(posts[2].contentType, 'application/json');
      await page.screenshot({ path: join(ARTIFACTS, 'console-empty-room.png'), fullPage: true });

      // A `next` naming another site is ignored; one of the console's own pages is followed.
      for (const [next, landing] of [['//evil.example/console', '/console'], ['https://evil.example/console', '/console'],
        ['/console?room=main', '/console?room=main']]) {
        await page.goto('/console/sign-in?next=' + encodeURIComponent(next));
        await testid(page, 'sign-in-username').fill(USER);
        await testid(page, 'sign-in-password').fill(PASSWORD);
        await testid(page, 'sign-in-submit').click();
        await page.waitForURL(origin + landing);
      }
      await page.goto('/console/sign-in');
      await page.screenshot({ path: join(ARTIFACTS, 'sign-in.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('live view: a participant appears within 1 s of an event; mute asks, the row changes on the next event', async () => {
    api.reset([roomState('main', { conference: false }), roomState('studio', { conference: false, locked: true })]);
    const { context, page, problems } = await signedIn();
    try {
      await openConsole(page, 'main');
      await testid(page, 'reconnecting-studio').waitFor({ state: 'hidden' });
      assert.equal(await testid(page, 'state-main').textContent(), 'Not running');
      assert.equal(await testid(page, 'count-main').textContent(), '0 of 15');
      assert.equal(await testid(page, 'locked-studio').textContent(), 'Locked');
      assert.equal(await testid(page, 'lock-studio').textContent(), 'Unlock');
      assert.ok(await testid(page, 'end-main').isDisabled());

      const started = Date.now();
      api.publish(roomState('main', { participants: [participant(SID_A, '***1234')] }));
      await testid(page, 'participant-' + SID_A).waitFor({ timeout: 1000 });
      assert.ok(Date.now() - started < 1000);
      assert.equal(await testid(page, 'caller-' + SID_A).textContent(), '***1234');
      assert.equal(await testid(page, 'role-' + SID_A).textContent(), 'speaker');
      assert.equal(await testid(page, 'state-main').textContent(), 'Live');
      assert.equal(await testid(page, 'recording-state-main').textContent(), 'Recording');
      assert.equal(await testid(page, 'count-main').textContent(), '1 of 15');
      assert.match(await testid(page, 'duration-main').textContent(), /^1:0\d$/);
      assert.match(await testid(page, 'on-line-' + SID_A).textContent(), /^0:4\d$/);

      // Held until the test lets it go, to see the button wait for its answer.
      let release;
      api.answerNext({ status: 202, body: {}, gate: new Promise((r) => { release = r; }) });
      await testid(page, 'mute-' + SID_A).click();
      const mute = await api.waitForRequest((r) => r.method === 'POST' && r.path === `/api/rooms/main/participants/${SID_A}`);
      assert.deepEqual(mute.body, { muted: true });
      assert.equal(mute.contentType, 'application/json');
      await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.disabled, 'mute-' + SID_A);
      release();
      await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.disabled === false, 'mute-' + SID_A);
      // Accepted, but the row still shows what the last event said.
      assert.equal(await testid(page, 'participant-' + SID_A).getAttribute('data-muted'), 'false');
      assert.equal(await testid(page, 'mute-' + SID_A).textContent(), 'Mute');

      api.publish(roomState('main', { participants: [participant(SID_A, '***1234', { muted: true })] }));
      await page.locator(`[data-testid="participant-${SID_A}"][data-muted="true"]`).waitFor();
      assert.equal(await testid(page, 'mute-' + SID_A).textContent(), 'Unmute');
      assert.match(await testid(page, 'status-' + SID_A).textContent(), /Muted/);

      // A caller field is text, never markup.
      const markup = '<img src=x data-testid=injected>***9999';
      api.publish(roomState('main', { participants: [participant(SID_A, '***1234', { muted: true }), participant(SID_B, markup, { role: 'host' })] }));
      await testid(page, 'participant-' + SID_B).waitFor();
      assert.equal(await testid(page, 'caller-' + SID_B).textContent(), markup);
      assert.equal(await page.locator('[data-testid=injected]').count(), 0);
      assert.equal(await testid(page, 'count-main').textContent(), '2 of 15');

      await page.screenshot({ path: join(ARTIFACTS, 'console-desktop.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('actions: each sends its request; a refusal shows the service\'s message; remove and end ask first', async () => {
    const people = [participant(SID_A, '***1234')];
    api.reset([roomState('main', { participants: people })]);
    const { context, page, problems } = await signedIn();
    try {
      await openConsole(page);
      await testid(page, 'participant-' + SID_A).waitFor();

      api.answerNext({ status: 502, body: { error: 'Twilio: Call is not in-progress (21220)' } });
      await testid(page, 'hold-' + SID_A).click();
      const alert = testid(page, 'message-main');
      await page.getByText('Twilio: Call is not in-progress (21220)').waitFor();
      assert.equal(await alert.getAttribute('role'), 'alert');
      assert.match(await alert.textContent(), /^Putting \*\*\*1234 on hold failed: Twilio: Call is not in-progress \(21220\)$/);
      const hold = api.requests.find((r) => r.path === `/api/rooms/main/participants/${SID_A}`);
      assert.deepEqual(hold.body, { hold: true });

      // No JSON body: the status is the message. A later success clears it.
      api.answerNext({ status: 500, text: 'oops' });
      await testid(page, 'lock-main').click();
      await alert.getByText('Locking failed: HTTP 500').waitFor();
      await testid(page, 'mute-all-main').click();
      await api.waitForRequest((r) => r.path === '/api/rooms/main/mute-all');
      await alert.waitFor({ state: 'hidden' });

      const actions = (method, path) => api.requests.filter((r) => r.method === method && r.path === path);
      assert.deepEqual(actions('POST', '/api/rooms/main/lock').map((r) => r.body), [{ locked: true }]);
      assert.deepEqual(actions('POST', '/api/rooms/main/mute-all').map((r) => r.body), [{ muted: true }]);

      await testid(page, 'recording-main').click();
      assert.deepEqual((await api.waitForRequest((r) => r.path === '/api/rooms/main/recording')).body, { paused: true });

      // Remove: cancelled sends nothing (proved once a later request arrived), confirmed sends DELETE.
      await testid(page, 'remove-' + SID_A).click();
      await testid(page, 'confirm-dialog').waitFor();
      assert.match(await testid(page, 'confirm-dialog').textContent(), /Remove \*\*\*1234 from main\?/);
      await testid(page, 'confirm-cancel').click();
      await testid(page, 'confirm-dialog').waitFor({ state: 'hidden' });
      await testid(page, 'lock-main').click();
      await api.waitForRequest((r) => r.path === '/api/rooms/main/lock' && r !== actions('POST', '/api/rooms/main/lock')[0]);
      assert.equal(actions('DELETE', `/api/rooms/main/participants/${SID_A}`).length, 0);
      await testid(page, 'remove-' + SID_A).click();
      await testid(page, 'confirm-ok').click();
      const removal = await api.waitForRequest((r) => r.method === 'DELETE');
      assert.equal(removal.path, `/api/rooms/main/participants/${SID_A}`);

      await testid(page, 'end-main').click();
      assert.match(await testid(page, 'confirm-dialog').textContent(), /End the conference in main for everyone\?/);
      await page.screenshot({ path: join(ARTIFACTS, 'console-confirm-end.png') });
      await testid(page, 'confirm-ok').click();
      const end = await api.waitForRequest((r) => r.path === '/api/rooms/main/end');
      assert.equal(end.method, 'POST');
      assert.equal(end.contentType, 'application/json');
      await page.waitForFunction(() => document.querySelector('[data-testid="end-main"]')?.disabled === false);

      // Twilio's events, not the clicks, end the conference on the page.
      assert.equal(await testid(page, 'state-main').textContent(), 'Live');
      api.publish(roomState('main', { conference: false }));
      await testid(page, 'no-participants-main').waitFor();
      assert.equal(await testid(page, 'state-main').textContent(), 'Not running');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the stream: "reconnecting…" while it is down, then the current state', async () => {
    api.reset([roomState('main', { participants: [participant(SID_A, '***1234')] })]);
    const { context, page, problems } = await signedIn();
    try {
      await openConsole(page);
      api.holdStreams();
      api.dropStreams('main');
      const badge = testid(page, 'reconnecting-main');
      await badge.waitFor();
      assert.equal(await badge.textContent(), 'reconnecting…');
      // Someone joins while the page is not listening; the reconnected stream brings them.
      api.rooms.set('main', roomState('main', { participants: [participant(SID_A, '***1234'), participant(SID_B, '***5678')] }));
      await waitUntil(() => api.heldStreams.length > 0, WAIT_MS, 'the page to reconnect');
      api.releaseStreams();
      await badge.waitFor({ state: 'hidden' });
      await testid(page, 'participant-' + SID_B).waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a 401 sends the user to sign in: from an action, from the stream, and after signing out', async () => {
    api.reset([roomState('main', { participants: [participant(SID_A, '***1234')] })]);
    for (const via of ['action', 'stream']) {
      const { context, page, problems } = await signedIn();
      try {
        await openConsole(page);
        api.sessions.clear();
        if (via === 'action') {
          await testid(page, 'mute-' + SID_A).click();
        } else {
          api.dropStreams('main');  // the browser reconnects, and the service refuses the stream
        }
        await page.waitForURL(`${origin}/console/sign-in?next=%2Fconsole`);
        assert.deepEqual(problems, [], via);
      } finally {
        await context.close();
      }
    }

    const { context, page, problems } = await signedIn();
    try {
      await openConsole(page);
      await testid(page, 'sign-out').click();
      await page.waitForURL(`${origin}/console/sign-in`);
      await api.waitForRequest((r) => r.method === 'DELETE' && r.path === '/api/session');
      assert.equal(api.sessions.size, 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a 375-px phone screen: everything fits across', async () => {
    const many = [participant(SID_A, '***1234', { muted: true, hold: true }), participant(SID_B, '***5678', { role: 'host' })];
    api.reset([roomState('a-room-with-a-rather-long-name-for-a-phone', { participants: many, recording: 'paused', locked: true })]);
    const { context, page, problems } = await signedIn({ width: 375, height: 812 });
    try {
      await openConsole(page, 'a-room-with-a-rather-long-name-for-a-phone');
      await testid(page, 'participant-' + SID_B).waitFor();
      assert.equal(await testid(page, 'recording-a-room-with-a-rather-long-name-for-a-phone').textContent(), 'Resume recording');
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(widths[0] <= widths[1], `page ${widths[0]} px wide on a ${widths[1]} px screen`);
      await page.screenshot({ path: join(ARTIFACTS, 'console-phone.png'), fullPage: true });
      await page.goto('/console/sign-in');
      await page.screenshot({ path: join(ARTIFACTS, 'sign-in-phone.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the page fetched nothing but its own files and the API', () => {
    assert.ok(api.everyPath.length > 0);
    const other = api.everyPath.filter((p) => !p.startsWith('/console') && !p.startsWith('/api/'));
    assert.deepEqual(other, []);
  });

  // The check above can fail: an inline style attribute under the same policy is reported.
  it('the CSP watch sees a violation when there is one', async () => {
    api.reset([roomState('main', { conference: false })]);
    const { context, page, problems } = await openPage();
    try {
      await page.goto('/console/sign-in');
      await page.evaluate(() => document.body.setAttribute('style', 'color: red'));
      await waitUntil(() => problems.some((p) => p.startsWith('CSP: style-src')), WAIT_MS, 'the violation report');
    } finally {
      await context.close();
    }
  });
});
