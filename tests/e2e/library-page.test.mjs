// The library page (web/sessions.html) in a real browser (Debian's chromium, driven by
// playwright-core) against a fake of the service's API: past sessions grouped by the browser's
// local day, filters in the request and the URL, paging, a session's report, a real WAV played and
// seeked through Range requests, retry, delete with its confirmation, the roles, the 401 path, a
// phone-sized screen, and no Content-Security-Policy violation or request to another origin; a
// session's summary (a safe part of Markdown), its transcript beside the player (a line seeks and
// plays, the spoken line is marked), WebVTT captions on the player, and a search of words that
// shows the line found and opens the session at its time.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { launchChromium, newWatchedPage } from './lib/browser.mjs';
import { sineWav } from './lib/wav.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(HERE, '../../web');
const ARTIFACTS = join(HERE, 'artifacts');
const CSP = "default-src 'self'";
const USER = 'alice';
const PASSWORD = 'correct horse battery';
const WAIT_MS = 5000;  // the deadline of every wait not given its own
// Sessions are grouped by the browser's local day: New York puts 03:30 UTC on the day before.
const BROWSER = { timezoneId: 'America/New_York', locale: 'en-GB' };

const id = (prefix, hex) => prefix + hex.repeat(16);
const CF1 = id('CF', '01');
const CF2 = id('CF', '02');
const CF3 = id('CF', '03');
const CF4 = id('CF', '04');
const RE1 = id('RE', '11');
const RE2 = id('RE', '22');
const RE3 = id('RE', '33');
const RE4 = id('RE', '44');
const CA1 = id('CA', 'a1');
const CA2 = id('CA', 'a2');
const CA3 = id('CA', 'a3');
const RE5 = id('RE', '55');  // CF1's host's own track
const MARKUP = '<img src=x data-testid=injected>Twilio media: HTTP 404';
const REFUSAL = 'Twilio: Call is not in-progress (21220)';

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

// WAVs the browser really decodes (a 440 Hz sine, PCM 16-bit mono at 8 kHz): CF1's mix is 12 s
// long, for transcript lines at 0, 4 and 8 s; every other recording 3.0 s.
const WAV = sineWav();
const LONG_WAV = sineWav(12);
const wavOf = (sid) => (sid === RE1 ? LONG_WAV : WAV);

function recording(sid, state, extra = {}) {
  return {
    recording_sid: sid, kind: 'mix', call_sid: null, state, key: `partyline/2026/12/01/${sid}.wav`,
    bytes: null, duration_seconds: null, content_type: 'audio/wav', last_error: null,
    expires_at: null, captions: null, ...extra,
  };
}

const captionsOf = (sid) => `/api/recordings/${sid}/captions`;
const HOST = 'host ***1234';
const SPEAKER = 'speaker ***5678';
// CF1's transcript (of its mix, RE1): the last line past the audio's end shows an hour's format.
const LINES = [
  { start: 0, end: 4, speaker: HOST, text: 'Welcome to the show, everyone.' },
  { start: 4.2, end: 8, speaker: SPEAKER, text: 'Thanks! Let us talk about the budget.' },
  { start: 8, end: 11.5, speaker: '', text: MARKUP },
  { start: 3601.7, end: 3605, speaker: HOST, text: 'Goodbye.' },
];
// The host's own track (RE5) in its own time line: the search finds this phrase there only.
const TRACK_LINES = [{ start: 1.5, end: 2.5, speaker: HOST, text: 'Only my microphone heard this.' }];
const INJECTED = '<img src=x onerror=alert(1) data-testid=injected-summary>';
const SUMMARY = [
  '# Weekly show',
  '',
  'The host **welcomed** everyone',
  'and the speaker raised the budget.',
  '',
  '## Decisions',
  '- Budget *approved* for **Q1**',
  '* Next show on Friday',
  '  at noon',
  '',
  '### Notes',
  `A caller typed ${INJECTED} in the chat.`,
  '1. not a list here',
  '> nor a quote',
].join('\n');

// The WebVTT the service stores beside a recording.
function vttOf(lines) {
  const at = (s) => new Date(Math.round(s * 1000)).toISOString().slice(11, 23);
  return 'WEBVTT\n\n' + lines.map((l) => `${at(l.start)} --> ${at(l.end)}\n` +
    (l.speaker ? `<v ${l.speaker}>` : '') + l.text.replace(/</g, '&lt;') + '\n').join('\n');
}

// The sessions the fake holds, newest first (as the service answers them).
function library() {
  return [
    {
      conference_sid: CF1, room: 'partyline', started_at: '2026-12-02T15:00:00.000Z',
      ended_at: '2026-12-02T16:02:03.000Z', duration_seconds: 3723, peak_participants: 5,
      recordings: [
        recording(RE1, 'stored', {
          bytes: 1_258_291, duration_seconds: 3720, expires_at: '2027-03-02T15:00:00.000Z',
          captions: captionsOf(RE1),
        }),
        recording(RE5, 'stored', {
          kind: 'track', call_sid: CA1, caller: '***1234', role: 'host', bytes: 48_044,
          duration_seconds: 3, captions: null,
        }),
      ],
      transcript: { recording_sid: RE1, language: 'en', segments: LINES },
      summary: SUMMARY,
      participants: [
        { call_sid: CA1, caller: '***1234', role: 'host', consent: null,
          joined_at: '2026-12-02T15:00:05.000Z', left_at: '2026-12-02T16:02:03.000Z' },
        { call_sid: CA2, caller: '***5678', role: 'speaker', consent: 'press1',
          joined_at: '2026-12-02T15:01:00.000Z', left_at: '2026-12-02T15:40:00.000Z' },
      ],
      actions: [
        { at: '2026-12-02T15:10:00.000Z', by: 'alice', action: 'mute', call_sid: CA2, caller: '***5678', result: 'ok' },
        { at: '2026-12-02T15:20:00.000Z', by: 'bob', action: 'lock', call_sid: null, caller: null, result: 'ok' },
        { at: '2026-12-02T15:30:00.000Z', by: 'alice', action: 'remove', call_sid: CA2, caller: '***5678', result: REFUSAL },
      ],
    },
    {
      conference_sid: CF2, room: 'studio', started_at: '2026-12-02T03:30:00.000Z',
      ended_at: '2026-12-02T03:42:34.000Z', duration_seconds: 754, peak_participants: 2,
      recordings: [recording(RE2, 'dead', { last_error: 'S3 answered 403 Forbidden' })],
      participants: [
        { call_sid: CA3, caller: '***4321', role: 'producer', consent: 'notice',
          joined_at: '2026-12-02T03:30:01.000Z', left_at: null },
      ],
      actions: [],
    },
    {
      conference_sid: CF3, room: 'partyline', started_at: '2026-12-01T14:00:00.000Z',
      ended_at: '2026-12-01T14:00:59.000Z', duration_seconds: 59, peak_participants: 1,
      recordings: [recording(RE3, 'failed', { last_error: MARKUP }), recording(RE4, 'deleted')],
      participants: [], actions: [],
    },
    {
      conference_sid: CF4, room: 'studio', started_at: '2026-11-30T12:00:00.000Z',
      ended_at: null, duration_seconds: null, peak_participants: 0, recordings: [],
      participants: [], actions: [],
    },
  ];
}

const cursorOf = (offset) => Buffer.from(JSON.stringify({ offset })).toString('base64');
const offsetOf = (cursor) => JSON.parse(Buffer.from(cursor, 'base64').toString()).offset;

// The service's API as the page sees it; every request is recorded.
class FakeApi extends EventEmitter {
  constructor() {
    super();
    this.sessions = new Set();
    this.requests = [];
    this.everyPath = [];  // every path asked for, over all the tests
    this.reset();
  }

  reset({ role = 'admin', rooms = ['partyline', 'studio'], pageSize = 50 } = {}) {
    this.role = role;
    this.rooms = rooms;
    this.pageSize = pageSize;
    this.library = library();
    // Each recording's own transcript, as the search reads them (the mix's is its session's).
    this.transcripts = new Map([[RE1, LINES], [RE5, TRACK_LINES]]);
    this.requests = [];
    this.answers = [];  // queued answers for the next retry or delete
  }

  answerNext(answer) { this.answers.push(answer); }

  recordingOf(sid) {
    for (const s of this.library) {
      const rec = s.recordings.find((r) => r.recording_sid === sid);
      if (rec) return rec;
    }
    return null;
  }

  count(pred) { return this.requests.filter(pred).length; }

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
}

async function waitUntil(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

// The audio as the service sends a stored file: whole, or the asked byte range (206).
function sendAudio(req, res, download, wav) {
  const headers = { 'Content-Type': 'audio/wav', 'Accept-Ranges': 'bytes' };
  if (download) headers['Content-Disposition'] = 'attachment; filename="partyline.wav"';
  const size = wav.length;
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m || (m[1] === '' && m[2] === '')) {
    res.writeHead(200, { ...headers, 'Content-Length': size });
    return res.end(wav);
  }
  let start = Number(m[1]);
  let end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[1] === '') [start, end] = [Math.max(0, size - Number(m[2])), size - 1];
  if (start > end || start >= size) {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
    return res.end();
  }
  res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
  return res.end(wav.subarray(start, end + 1));
}

// A search of words: the session's first line (of its recordings' transcripts) holding them all.
function matchIn(api, session, q) {
  const words = q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
  for (const rec of session.recordings) {
    const line = (api.transcripts.get(rec.recording_sid) ?? [])
        .find((l) => words.every((w) => l.text.toLowerCase().includes(w)));
    if (line) return { recording_sid: rec.recording_sid, at: line.start, speaker: line.speaker, text: line.text };
  }
  return null;
}

function listSessions(api, query, res) {
  const { room, from, to, q, cursor } = query;
  if (from && to && from > to) return sendJson(res, 400, { error: 'from is after to' });
  const digits = /^\d{1,4}$/.test(q ?? '');
  const all = api.library
      .filter((s) => !room || s.room === room)
      .filter((s) => !q || !digits || s.participants.some((p) => p.caller.endsWith(q)))
      .map((s) => (q && !digits ? { ...s, match: matchIn(api, s, q) } : s))
      .filter((s) => s.match !== null);
  const offset = cursor ? offsetOf(cursor) : 0;
  // As the service lists them: no report, transcript or summary, no captions yet.
  const page = all.slice(offset, offset + api.pageSize)
      .map(({ participants, actions, transcript, summary, ...row }) => ({
        ...row, recordings: row.recordings.map((r) => ({ ...r, captions: null })),
      }));
  const next = offset + api.pageSize < all.length ? cursorOf(offset + api.pageSize) : null;
  return sendJson(res, 200, { sessions: page, next_cursor: next });
}

async function handle(api, req, res) {
  const url = new URL(req.url, 'http://localhost');
  const raw = await readBody(req);
  let body = null;
  try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
  const record = {
    method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
    range: req.headers.range, contentType: req.headers['content-type'], body,
  };
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
    if (body?.username !== USER || body?.password !== PASSWORD) return sendJson(res, 401, { error: 'wrong username or password' });
    const token = randomBytes(16).toString('hex');
    api.sessions.add(token);
    res.writeHead(204, { 'Set-Cookie': `partyline_session=${token}; HttpOnly; SameSite=Strict; Path=/` });
    return res.end();
  }
  if (!url.pathname.startsWith('/api/')) return sendJson(res, 404, { error: 'not found' });
  if (!api.sessions.has(sessionOf(req))) return sendJson(res, 401, { error: 'sign in first' });
  if (url.pathname === '/api/session' && req.method === 'GET') return sendJson(res, 200, { user: USER, role: api.role });
  if (url.pathname === '/api/session' && req.method === 'DELETE') {
    api.sessions.delete(sessionOf(req));
    return sendJson(res, 204);
  }
  if (url.pathname === '/api/rooms' && req.method === 'GET') {
    return sendJson(res, 200, api.rooms.map((name) => ({
      name, locked: false, max_participants: 15, participants: 0, conference: null,
    })));
  }
  if (url.pathname === '/api/sessions' && req.method === 'GET') return listSessions(api, record.query, res);
  let m = /^\/api\/sessions\/([^/]+)$/.exec(url.pathname);
  if (m && req.method === 'GET') {
    const session = api.library.find((s) => s.conference_sid === decodeURIComponent(m[1]));
    return session ? sendJson(res, 200, session) : sendJson(res, 404, { error: 'no such session' });
  }
  m = /^\/api\/recordings\/([^/]+)(\/audio|\/retry|\/captions)?$/.exec(url.pathname);
  const rec = m && api.recordingOf(decodeURIComponent(m[1]));
  if (!rec) return sendJson(res, 404, { error: 'no such recording' });
  if (m[2] === '/audio' && req.method === 'GET') {
    if (rec.state !== 'stored') return sendJson(res, 404, { error: 'not stored' });
    return sendAudio(req, res, url.searchParams.get('download') === '1', wavOf(rec.recording_sid));
  }
  if (m[2] === '/captions' && req.method === 'GET') {
    const lines = api.transcripts.get(rec.recording_sid);
    if (rec.state !== 'stored' || !lines) return sendJson(res, 404, { error: 'no transcript yet' });
    record.served = 'text/vtt; charset=utf-8';
    res.writeHead(200, { 'Content-Type': record.served, 'Cache-Control': 'private, no-cache' });
    return res.end(vttOf(lines));
  }
  if (m[2] === '/retry' && req.method === 'POST') {
    const answer = api.answers.shift();
    if (answer) return sendJson(res, answer.status, answer.body);
    Object.assign(rec, { state: 'copying', last_error: null });
    return sendJson(res, 202, {});
  }
  if (m[2] === undefined && req.method === 'DELETE') {
    if (api.role !== 'admin') return sendJson(res, 403, { error: 'admins only' });
    const answer = api.answers.shift();
    if (answer) return sendJson(res, answer.status, answer.body);
    // Its transcript, captions, summary and search entries go with it.
    Object.assign(rec, { state: 'deleted', bytes: null, expires_at: null, captions: null });
    api.transcripts.delete(rec.recording_sid);
    for (const s of api.library) {
      if (s.transcript?.recording_sid === rec.recording_sid) Object.assign(s, { transcript: null, summary: null });
    }
    return sendJson(res, 204);
  }
  return sendJson(res, 405, { error: 'method not allowed' });
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
  const context = await browser.newContext({ baseURL: origin, viewport: { width, height }, ...BROWSER });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const page = await newWatchedPage(context, problems);
  page.on('request', (req) => {
    if (new URL(req.url()).origin !== origin) problems.push(`another origin: ${req.url()}`);
  });
  return { context, page, problems };
}

async function signedIn(opts) {
  const opened = await openPage(opts);
  const res = await opened.context.request.post('/api/session', { data: { username: USER, password: PASSWORD } });
  assert.equal(res.status(), 204);
  return opened;
}

const testid = (page, name) => page.getByTestId(name);
const text = (page, name) => testid(page, name).textContent();
const listRequests = () => api.requests.filter((r) => r.method === 'GET' && r.path === '/api/sessions');

// The test ids of the session rows under a day's heading, in the page's order.
function rowsOf(page, day) {
  return testid(page, 'day-' + day).locator('a.session').evaluateAll((links) => links.map((a) => a.dataset.testid));
}

async function openList(page, path = '/console/sessions') {
  await page.goto(path);
  await page.locator('a.session').first().waitFor();
}

// Resolves once the player knows its duration.
function metadataOf(audio) {
  return audio.evaluate((a) => new Promise((ok, fail) => {
    if (a.readyState >= 1) return ok();
    a.addEventListener('loadedmetadata', ok, { once: true });
    a.addEventListener('error', () => fail(new Error(`media error ${a.error?.code}`)), { once: true });
  }));
}

// Waits until the player's time is within 0.1 s of `at`; its last time otherwise.
async function waitForTime(audio, at, what) {
  let now = null;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    now = await audio.evaluate((a) => a.currentTime);
    if (Math.abs(now - at) <= 0.1) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: currentTime ${now}, not ${at}`);
}

// The test ids of the transcript's lines marked as spoken (aria-current and the class agree).
function spoken(page) {
  return testid(page, 'transcript').locator('.line').evaluateAll((lines) => lines
      .filter((l) => l.getAttribute('aria-current') === 'true' || l.classList.contains('is-current'))
      .map((l) => `${l.dataset.testid}${l.getAttribute('aria-current') === 'true' && l.classList.contains('is-current') ? '' : ' (half marked)'}`));
}

async function waitForSpoken(page, expected, what) {
  const deadline = Date.now() + WAIT_MS;
  let now = null;
  while (Date.now() < deadline) {
    now = await spoken(page);
    if (JSON.stringify(now) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(now, expected, what);
}

describe('the library page in chromium', () => {
  it('lists sessions newest first, grouped by the local day, with their facts', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      const days = await testid(page, 'days').locator('section.day').evaluateAll((s) => s.map((d) => d.dataset.testid));
      assert.deepEqual(days, ['day-2026-12-02', 'day-2026-12-01', 'day-2026-11-30']);
      assert.equal(await text(page, 'day-title-2026-12-02'), 'Wednesday 2 December 2026');
      assert.equal(await text(page, 'day-title-2026-12-01'), 'Tuesday 1 December 2026');
      assert.equal(await text(page, 'day-title-2026-11-30'), 'Monday 30 November 2026');
      // 03:30 UTC on the 2nd is 22:30 on the 1st in New York.
      assert.deepEqual(await rowsOf(page, '2026-12-01'), ['session-' + CF2, 'session-' + CF3]);

      assert.equal(await text(page, 'room-' + CF1), 'partyline');
      assert.equal(await text(page, 'start-' + CF1), '10:00');
      assert.equal(await text(page, 'duration-' + CF1), '1:02:03');
      assert.equal(await text(page, 'peak-' + CF1), '5 people at most');
      assert.equal(await text(page, 'row-state-' + RE1), 'Stored');
      assert.equal(await text(page, 'row-size-' + RE1), '1.2 MB');
      assert.equal(await text(page, 'row-expires-' + RE1), 'expires 2 March 2027');

      assert.equal(await text(page, 'start-' + CF2), '22:30');
      assert.equal(await text(page, 'duration-' + CF2), '12:34');
      assert.equal(await text(page, 'row-state-' + RE2), 'Copy gave up');
      assert.equal(await text(page, 'row-error-' + RE2), 'S3 answered 403 Forbidden');
      assert.equal(await text(page, 'duration-' + CF3), '0:59');
      assert.equal(await text(page, 'peak-' + CF3), '1 person at most');
      assert.equal(await text(page, 'row-state-' + RE3), 'Copy failed');
      assert.equal(await testid(page, 'row-recording-' + RE3).getAttribute('data-state'), 'failed');
      assert.equal(await text(page, 'row-state-' + RE4), 'Deleted');
      assert.equal(await text(page, 'duration-' + CF4), '–');
      assert.equal(await text(page, 'no-recording-' + CF4), 'No recording');

      // The service's text is text, never markup.
      assert.equal(await text(page, 'row-error-' + RE3), MARKUP);
      assert.equal(await page.locator('[data-testid=injected]').count(), 0);
      assert.ok(await testid(page, 'load-more').isHidden());
      assert.equal(await testid(page, 'nav-live').getAttribute('href'), '/console');
      assert.deepEqual(listRequests().map((r) => r.query), [{}]);
      await page.screenshot({ path: join(ARTIFACTS, 'library-list.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('filters: sent to the API, kept in the URL over a reload, undone by back; a 400 shows its error', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      // The room select is filled from /api/rooms.
      await testid(page, 'filter-room').locator('option[value="studio"]').waitFor({ state: 'attached' });
      const options = await testid(page, 'filter-room').locator('option').allTextContents();
      assert.deepEqual(options, ['All rooms', 'partyline', 'studio']);

      await testid(page, 'filter-room').selectOption('studio');
      await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.room === 'studio');
      await testid(page, 'session-' + CF1).waitFor({ state: 'detached' });
      await testid(page, 'filter-from').fill('2026-12-01');
      await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.from === '2026-12-01');
      await testid(page, 'filter-to').fill('2026-12-02');
      await testid(page, 'filter-q').fill('4321');
      await testid(page, 'filter-submit').click();
      const wanted = { room: 'studio', from: '2026-12-01', to: '2026-12-02', q: '4321' };
      const filtered = await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.q === '4321');
      assert.deepEqual(filtered.query, wanted);
      const filteredUrl = `${origin}/console/sessions?room=studio&from=2026-12-01&to=2026-12-02&q=4321`;
      await page.waitForURL(filteredUrl);
      await testid(page, 'session-' + CF4).waitFor({ state: 'detached' });
      assert.equal(await page.locator('a.session').count(), 1);
      await testid(page, 'session-' + CF2).waitFor();

      // A reload asks again with the same filters and shows them in the form.
      const before = listRequests().length;
      await page.reload();
      await testid(page, 'session-' + CF2).waitFor();
      assert.deepEqual(listRequests().slice(before).map((r) => r.query), [wanted]);
      assert.equal(await testid(page, 'filter-room').inputValue(), 'studio');
      assert.equal(await testid(page, 'filter-from').inputValue(), '2026-12-01');
      assert.equal(await testid(page, 'filter-to').inputValue(), '2026-12-02');
      assert.equal(await testid(page, 'filter-q').inputValue(), '4321');

      // The filter changes made one history entry: back is the unfiltered list.
      await page.goBack();
      await page.waitForURL(`${origin}/console/sessions`);
      await testid(page, 'session-' + CF1).waitFor();
      assert.equal(await testid(page, 'filter-room').inputValue(), '');
      assert.equal(await testid(page, 'filter-q').inputValue(), '');
      await page.goForward();
      await page.waitForURL(filteredUrl);
      await testid(page, 'session-' + CF1).waitFor({ state: 'detached' });

      // The service refuses a range that ends before it starts: its message, no rows.
      await testid(page, 'filter-from').fill('2026-12-05');
      const bad = await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.from === '2026-12-05');
      assert.equal(bad.query.to, '2026-12-02');
      await testid(page, 'page-message').getByText('Could not load the sessions: from is after to').waitFor();
      assert.equal(await page.locator('a.session').count(), 0);
      assert.equal(await testid(page, 'page-message').getAttribute('role'), 'alert');
      await page.waitForURL(/from=2026-12-05/);
      // A good range clears the message.
      await testid(page, 'filter-from').fill('2026-12-01');
      await testid(page, 'session-' + CF2).waitFor();
      await testid(page, 'page-message').waitFor({ state: 'hidden' });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('paging: Load more passes the cursor and appends the next page', async () => {
    api.reset({ pageSize: 2 });
    const { context, page, problems } = await signedIn();
    try {
      await openList(page, '/console/sessions?room=');
      await testid(page, 'session-' + CF2).waitFor();
      assert.deepEqual(listRequests()[0].query, {});  // an empty filter is left out
      assert.equal(await page.locator('a.session').count(), 2);
      const more = testid(page, 'load-more');
      await more.waitFor();
      await more.click();
      const next = await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.cursor !== undefined);
      assert.deepEqual(next.query, { cursor: cursorOf(2) });
      await testid(page, 'session-' + CF4).waitFor();
      // The next page's first session joins its day's group.
      assert.deepEqual(await rowsOf(page, '2026-12-01'), ['session-' + CF2, 'session-' + CF3]);
      assert.equal(await page.locator('a.session').count(), 4);
      await more.waitFor({ state: 'hidden' });
      assert.equal(listRequests().length, 2);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a session: its own URL, the report, the audio plays and seeks, download, back to the list', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      await testid(page, 'session-' + CF1).click();
      await page.waitForURL(`${origin}/console/sessions?session=${CF1}`);
      await testid(page, 'detail-title').waitFor();
      assert.ok(await testid(page, 'list-view').isHidden());
      assert.equal(await text(page, 'detail-title'), 'partyline — Wednesday 2 December 2026');
      assert.equal(await text(page, 'detail-started'), '10:00');
      assert.equal(await text(page, 'detail-ended'), '11:02');
      assert.equal(await text(page, 'detail-duration'), '1:02:03');
      assert.equal(await text(page, 'state-' + RE1), 'Stored');
      assert.equal(await text(page, 'length-' + RE1), '1:02:00');

      assert.equal(await text(page, 'caller-' + CA1), '***1234');
      assert.equal(await text(page, 'role-' + CA1), 'host');
      assert.equal(await text(page, 'consent-' + CA1), 'No consent asked');
      assert.equal(await text(page, 'joined-' + CA1), '10:00:05');
      assert.equal(await text(page, 'left-' + CA1), '11:02:03');
      assert.equal(await testid(page, 'taken-' + CA1).count(), 0);
      assert.equal(await text(page, 'role-' + CA2), 'speaker');
      assert.equal(await text(page, 'consent-' + CA2), 'Pressed 1');
      assert.equal(await text(page, 'taken-' + CA2), `Console: mute by alice, remove (refused: ${REFUSAL}) by alice`);
      assert.equal(await testid(page, 'actions').locator('li').count(), 3);
      assert.equal(await text(page, 'action-1'), '10:20:00 bob lock — ok');
      assert.equal(await text(page, 'action-2'), `10:30:00 alice remove ***5678 — refused: ${REFUSAL}`);

      // The player: metadata from the real file, then a seek served by a Range request.
      const audio = testid(page, 'audio-' + RE1);
      assert.equal(await audio.getAttribute('src'), `/api/recordings/${RE1}/audio`);
      assert.equal(await audio.getAttribute('preload'), 'metadata');
      await audio.evaluate((a) => new Promise((ok, fail) => {
        if (a.readyState >= 1) return ok();
        a.addEventListener('loadedmetadata', ok, { once: true });
        a.addEventListener('error', () => fail(new Error(`media error ${a.error?.code}`)), { once: true });
      }));
      const duration = await audio.evaluate((a) => a.duration);
      assert.ok(Math.abs(duration - 12.0) <= 0.1, `duration ${duration}`);
      const seeked = await audio.evaluate((a) => new Promise((ok) => {
        a.addEventListener('seeked', () => ok(a.currentTime), { once: true });
        a.currentTime = 2.0;
      }));
      assert.ok(Math.abs(seeked - 2.0) <= 0.05, `currentTime ${seeked}`);
      const ranged = api.requests.filter((r) => r.path === `/api/recordings/${RE1}/audio` && r.range);
      assert.ok(ranged.length > 0, 'no Range request for the audio');
      assert.ok((await audio.evaluate((a) => a.seekable.length > 0 && a.seekable.end(0))) >= 11.9);

      const download = testid(page, 'download-' + RE1);
      assert.equal(await download.getAttribute('href'), `/api/recordings/${RE1}/audio?download=1`);
      const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
      assert.equal(file.suggestedFilename(), 'partyline.wav');
      assert.equal(file.url(), `${origin}/api/recordings/${RE1}/audio?download=1`);
      await page.screenshot({ path: join(ARTIFACTS, 'library-session.png'), fullPage: true });

      // Back: the list as it was, not asked again.
      const lists = listRequests().length;
      await page.goBack();
      await page.waitForURL(`${origin}/console/sessions`);
      await testid(page, 'list-view').waitFor();
      assert.ok(await testid(page, 'detail-view').isHidden());
      assert.equal(await page.locator('a.session').count(), 4);
      assert.equal(listRequests().length, lists);

      // A session's link opened on its own; its back link leads to the list.
      await page.goto(`/console/sessions?session=${CF2}`);
      await testid(page, 'caller-' + CA3).waitFor();
      assert.equal(await text(page, 'consent-' + CA3), 'Heard the notice');
      assert.equal(await text(page, 'left-' + CA3), '–');
      assert.equal(await text(page, 'no-actions'), 'None.');
      await testid(page, 'back').click();
      await page.waitForURL(`${origin}/console/sessions`);
      await testid(page, 'session-' + CF1).waitFor();

      await page.goto('/console/sessions?session=CF' + '99'.repeat(16));
      await testid(page, 'page-message').getByText('Could not load the session: no such session').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('retry: a dead copy is queued again; a refusal shows its message; producers get no Delete', async () => {
    api.reset({ role: 'producer' });
    const { context, page, problems } = await signedIn();
    try {
      await page.goto(`/console/sessions?session=${CF2}`);
      await testid(page, 'retry-' + RE2).waitFor();
      assert.equal(await testid(page, 'recording-' + RE2).getAttribute('data-state'), 'dead');
      assert.equal(await text(page, 'error-' + RE2), 'S3 answered 403 Forbidden');
      assert.equal(await page.locator('[data-testid^="delete-"]').count(), 0);

      const reloads = () => api.count((r) => r.path === `/api/sessions/${CF2}`);
      const before = reloads();
      await testid(page, 'retry-' + RE2).click();
      const retry = await api.waitForRequest((r) => r.path === `/api/recordings/${RE2}/retry`);
      assert.equal(retry.method, 'POST');
      assert.equal(retry.contentType, 'application/json');
      await testid(page, 'note-' + RE2).getByText('Queued again.').waitFor();
      assert.ok(reloads() > before);
      assert.equal(await text(page, 'state-' + RE2), 'Copying…');
      assert.equal(await testid(page, 'retry-' + RE2).count(), 0);
      assert.equal(await testid(page, 'error-' + RE2).count(), 0);

      // The list, opened from here, shows the new state.
      await testid(page, 'back').click();
      await testid(page, 'row-state-' + RE2).getByText('Copying…').waitFor();

      // A failed copy the service will not queue: its message, and the button stays.
      await page.goto(`/console/sessions?session=${CF3}`);
      assert.equal(await text(page, 'error-' + RE3), MARKUP);
      assert.equal(await page.locator('[data-testid=injected]').count(), 0);
      api.answerNext({ status: 409, body: { error: 'a copy is already running' } });
      await testid(page, 'retry-' + RE3).click();
      const alert = testid(page, 'message-' + RE3);
      await alert.getByText('Retrying the copy failed: a copy is already running').waitFor();
      assert.equal(await alert.getAttribute('role'), 'alert');
      assert.ok(await testid(page, 'retry-' + RE3).isEnabled());

      // A producer sees no Delete even on a stored recording.
      await page.goto(`/console/sessions?session=${CF1}`);
      await testid(page, 'download-' + RE1).waitFor();
      assert.equal(await page.locator('[data-testid^="delete-"]').count(), 0);
      assert.equal(api.count((r) => r.method === 'DELETE'), 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('delete (admin): asks first, cancel sends nothing, OK deletes and the list shows it', async () => {
    api.reset({ role: 'admin' });
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      await testid(page, 'session-' + CF1).click();
      const del = testid(page, 'delete-' + RE1);
      await del.click();
      const dialog = testid(page, 'confirm-dialog');
      await dialog.waitFor();
      assert.equal(await text(page, 'confirm-ok'), 'Delete');
      assert.match(await dialog.textContent(),
                   /Delete the recording of partyline from Wednesday 2 December 2026, 10:00\? It cannot be undone\./);
      await page.screenshot({ path: join(ARTIFACTS, 'library-confirm-delete.png') });
      await testid(page, 'confirm-cancel').click();
      await dialog.waitFor({ state: 'hidden' });

      await del.click();
      await testid(page, 'confirm-ok').click();
      const removal = await api.waitForRequest((r) => r.method === 'DELETE');
      assert.equal(removal.path, `/api/recordings/${RE1}`);
      assert.equal(removal.contentType, 'application/json');
      await testid(page, 'note-' + RE1).getByText('Deleted.').waitFor();
      // Only the confirmed click reached the service.
      assert.equal(api.count((r) => r.method === 'DELETE'), 1);
      assert.equal(await text(page, 'state-' + RE1), 'Deleted');
      assert.equal(await testid(page, 'recording-' + RE1).getAttribute('data-state'), 'deleted');
      for (const gone of ['audio-', 'download-', 'delete-', 'size-', 'expires-', 'captions-']) {
        assert.equal(await testid(page, gone + RE1).count(), 0, gone);
      }
      // Its transcript and the summary went with it.
      assert.equal(await testid(page, 'transcript').count(), 0);
      assert.equal(await testid(page, 'summary').count(), 0);
      // Dead and failed recordings can be deleted too; a deleted one cannot.
      await page.goBack();
      await testid(page, 'row-state-' + RE1).getByText('Deleted').waitFor();
      assert.equal(await testid(page, 'row-size-' + RE1).count(), 0);
      await testid(page, 'session-' + CF3).click();
      await testid(page, 'delete-' + RE3).waitFor();
      assert.equal(await testid(page, 'delete-' + RE4).count(), 0);

      api.answerNext({ status: 409, body: { error: 'the copy is still running' } });
      await testid(page, 'delete-' + RE3).click();
      await testid(page, 'confirm-ok').click();
      await testid(page, 'message-' + RE3).getByText('Deleting the recording failed: the copy is still running').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a 401 sends the user to sign in, with the page to come back to', async () => {
    api.reset();
    {
      const { context, page, problems } = await openPage();
      try {
        await page.goto('/console/sessions?room=studio');
        await page.waitForURL(`${origin}/console/sign-in?next=%2Fconsole%2Fsessions%3Froom%3Dstudio`);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    }
    for (const via of ['retry', 'load more']) {
      api.reset({ pageSize: 2 });
      const { context, page, problems } = await signedIn();
      try {
        let here;
        if (via === 'retry') {
          here = `/console/sessions?session=${CF2}`;
          await page.goto(here);
          await testid(page, 'retry-' + RE2).waitFor();
          api.sessions.clear();
          await testid(page, 'retry-' + RE2).click();
        } else {
          here = '/console/sessions';
          await openList(page, here);
          await testid(page, 'load-more').waitFor();
          api.sessions.clear();
          await testid(page, 'load-more').click();
        }
        await page.waitForURL(`${origin}/console/sign-in?next=${encodeURIComponent(here)}`);
        assert.deepEqual(problems, [], via);
      } finally {
        await context.close();
      }
    }
  });

  it('the live page and the library link to each other; sign-out works here too', async () => {
    api.reset({ rooms: [] });
    const { context, page, problems } = await signedIn();
    try {
      await page.goto('/console');
      await page.getByText('No rooms are set up.').waitFor();
      await testid(page, 'nav-sessions').click();
      await page.waitForURL(`${origin}/console/sessions`);
      await testid(page, 'session-' + CF1).waitFor();
      await testid(page, 'nav-live').click();
      await page.waitForURL(`${origin}/console`);
      await page.goto('/console/sessions');
      await testid(page, 'sign-out').click();
      await page.waitForURL(`${origin}/console/sign-in`);
      await api.waitForRequest((r) => r.method === 'DELETE' && r.path === '/api/session');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a session\'s summary on top: headings, paragraphs, lists and bold built as elements, the rest as text', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await page.goto(`/console/sessions?session=${CF1}`);
      const summary = testid(page, 'summary');
      await summary.waitFor();
      const blocks = await summary.evaluate((s) => [...s.children].map((n) => [n.tagName, n.textContent]));
      assert.deepEqual(blocks, [
        ['H4', 'Weekly show'],
        ['P', 'The host welcomed everyone\nand the speaker raised the budget.'],
        ['H5', 'Decisions'],
        ['UL', 'Budget *approved* for Q1Next show on Friday at noon'],
        ['H6', 'Notes'],
        ['P', `A caller typed ${INJECTED} in the chat.\n1. not a list here\n> nor a quote`],
      ]);
      assert.deepEqual(await summary.locator('strong').allTextContents(), ['welcomed', 'Q1']);
      assert.deepEqual(await summary.locator('ul > li').allTextContents(), ['Budget *approved* for Q1', 'Next show on Friday at noon']);
      // The markup in it is text: no image, no element of its test id, every character shown.
      assert.equal(await page.locator('[data-testid=injected-summary]').count(), 0);
      assert.equal(await summary.locator('img, em').count(), 0);
      assert.ok((await summary.innerText()).includes(INJECTED));
      // On top: above the recordings.
      const order = await page.evaluate(() => [...document.querySelectorAll('#detail > *')]
          .map((n) => n.querySelector('h3')?.textContent ?? n.dataset.testid ?? n.tagName));
      assert.deepEqual(order, ['detail-title', 'UL', 'Summary', 'Recordings', 'Participants', 'Console actions']);

      // No summary (null, or none sent): no block.
      await page.goto(`/console/sessions?session=${CF2}`);
      await testid(page, 'retry-' + RE2).waitFor();
      assert.equal(await testid(page, 'summary').count(), 0);
      assert.equal(await page.getByRole('heading', { name: 'Summary' }).count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the transcript beside its player: a line per segment with its time and speaker; captions on the player', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await page.goto(`/console/sessions?session=${CF1}`);
      const transcript = testid(page, 'transcript');
      await transcript.waitFor();
      // Beside the mix's player, in its recording.
      assert.equal(await testid(page, 'recording-' + RE1).getByTestId('transcript').count(), 1);
      assert.equal(await testid(page, 'recording-' + RE5).getByTestId('transcript').count(), 0);
      assert.equal(await transcript.getAttribute('lang'), 'en');
      assert.equal(await transcript.locator('.line').count(), LINES.length);
      const times = [];
      const lines = [];
      for (let i = 0; i < LINES.length; i++) {
        times.push(await text(page, 'line-time-' + i));
        lines.push(await text(page, 'line-' + i));
        assert.equal(await testid(page, 'line-' + i).evaluate((n) => n.tagName), 'BUTTON');
      }
      assert.deepEqual(times, ['0:00', '0:04', '0:08', '1:00:01']);
      assert.deepEqual(lines, [
        `0:00 ${HOST} Welcome to the show, everyone.`,
        `0:04 ${SPEAKER} Thanks! Let us talk about the budget.`,
        `0:08 ${MARKUP}`,  // no speaker known
        `1:00:01 ${HOST} Goodbye.`,
      ]);
      assert.equal(await testid(page, 'line-time-1').getAttribute('datetime'), 'PT4S');
      assert.equal(await page.locator('[data-testid=injected]').count(), 0);
      assert.equal(await transcript.locator('[aria-current]').count(), 0);  // nothing played yet

      // Next to the player on a wide screen.
      const player = await testid(page, 'audio-' + RE1).boundingBox();
      const box = await transcript.boundingBox();
      assert.ok(box.x >= player.x + player.width, `transcript at x ${box.x}, player ends at ${player.x + player.width}`);

      // The captions: a <track> on the mix's player, on by default, fetched by Chromium as WebVTT.
      const captions = testid(page, 'captions-' + RE1);
      assert.equal(await captions.evaluate((t) => t.parentElement.dataset.testid), 'audio-' + RE1);
      assert.deepEqual(await captions.evaluate((t) => [t.kind, t.srclang, t.label, t.getAttribute('src'), t.default]),
                       ['captions', 'en', 'Transcript', captionsOf(RE1), true]);
      const fetched = await api.waitForRequest((r) => r.path === captionsOf(RE1));
      assert.equal(fetched.method, 'GET');
      assert.equal(fetched.served, 'text/vtt; charset=utf-8');
      const cues = await captions.evaluate((t) => new Promise((ok, fail) => {
        const read = () => ok([...t.track.cues].map((c) => [c.startTime, c.text]));
        if (t.readyState === 2) return read();
        t.addEventListener('load', read, { once: true });
        t.addEventListener('error', () => fail(new Error('the captions did not load')), { once: true });
      }));
      assert.deepEqual(cues.slice(0, 2), [[0, `<v ${HOST}>Welcome to the show, everyone.`], [4.2, `<v ${SPEAKER}>Thanks! Let us talk about the budget.`]]);
      // A recording without captions (the track, not transcribed yet) has no <track>.
      assert.equal(await testid(page, 'captions-' + RE5).count(), 0);
      assert.equal(await testid(page, 'audio-' + RE5).locator('track').count(), 0);
      // The caller's track keeps its label.
      assert.equal(await text(page, 'track-' + RE5), 'Track · ***1234 · host');
      await page.screenshot({ path: join(ARTIFACTS, 'library-transcript.png'), fullPage: true });

      // A session without a transcript shows none.
      await page.goto(`/console/sessions?session=${CF2}`);
      await testid(page, 'retry-' + RE2).waitFor();
      assert.equal(await testid(page, 'transcript').count(), 0);
      assert.equal(await page.locator('[data-testid^="line-"]').count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the transcript plays: a line seeks its recording there and plays it; the spoken line follows playback', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await page.goto(`/console/sessions?session=${CF1}`);
      const audio = testid(page, 'audio-' + RE1);
      await metadataOf(audio);

      // Line 2: the player seeks to its start (the seek served by a Range request) and plays.
      const seekedAt = audio.evaluate((a, ms) => new Promise((ok) => {
        a.addEventListener('seeked', () => ok(a.currentTime), { once: true });
        setTimeout(() => ok('no seek'), ms);
      }), WAIT_MS);
      await testid(page, 'line-2').click();
      const at = await seekedAt;
      assert.ok(Math.abs(at - LINES[2].start) <= 0.1, `currentTime ${at} after line 2`);
      await page.waitForFunction((sid) => !document.querySelector(`[data-testid="audio-${sid}"]`).paused, RE1);
      const ranged = api.requests.filter((r) => r.path === `/api/recordings/${RE1}/audio` && r.range);
      assert.ok(ranged.length > 0, 'no Range request for the audio');
      assert.equal(await testid(page, 'audio-' + RE5).evaluate((a) => a.currentTime), 0);  // the other player stays
      await waitForSpoken(page, ['line-2'], 'after a click on line 2');

      // A seek inside line 1 marks line 1 (a time in no line marks none)...
      await audio.evaluate((a) => { a.pause(); a.currentTime = 5.5; });
      await waitForSpoken(page, ['line-1'], 'at 5.5 s');
      await audio.evaluate((a) => { a.currentTime = 11.8; });
      await waitForSpoken(page, [], 'at 11.8 s, after the last line that ends in the audio');

      // ...and playing on from the end of line 0 moves the mark to line 1 as it is spoken.
      await audio.evaluate((a) => { a.currentTime = 3.6; });
      await waitForSpoken(page, ['line-0'], 'at 3.6 s');
      await audio.evaluate((a) => a.play());
      await waitForSpoken(page, ['line-1'], 'playing past 4.2 s');
      await audio.evaluate((a) => a.pause());

      // A keyboard user: Tab to a line, Enter plays from there.
      await testid(page, 'line-0').focus();
      await page.keyboard.press('Enter');
      await waitForSpoken(page, ['line-0'], 'after Enter on line 0');
      assert.ok((await audio.evaluate((a) => a.currentTime)) < 1.5);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'line-0');
      await audio.evaluate((a) => a.pause());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a search of words: the line found under its row, and its link opens the session at that time', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      assert.equal(await testid(page, 'match-' + CF1).count(), 0);  // no search, no line
      const box = page.getByLabel("Caller's last 4 digits or words said");
      assert.equal(await box.getAttribute('data-testid'), 'filter-q');
      await box.fill('the BUDGET');
      await testid(page, 'filter-submit').click();
      const asked = await api.waitForRequest((r) => r.path === '/api/sessions' && r.query.q === 'the BUDGET');
      assert.deepEqual(asked.query, { q: 'the BUDGET' });
      const match = testid(page, 'match-' + CF1);
      await match.waitFor();
      assert.equal(await match.textContent(), `0:04 ${SPEAKER}: Thanks! Let us talk about the budget.`);
      assert.equal(await page.locator('a.session').count(), 1);  // only the sessions found
      await page.screenshot({ path: join(ARTIFACTS, 'library-search.png') });
      const link = testid(page, 'session-' + CF1);
      assert.equal(await link.getAttribute('href'), `/console/sessions?q=the+BUDGET&session=${CF1}&t=4.2`);

      // The link opens the session at that moment: the mix's player there, its line marked.
      await match.click();
      await page.waitForURL(`${origin}/console/sessions?q=the+BUDGET&session=${CF1}&t=4.2`);
      const audio = testid(page, 'audio-' + RE1);
      await waitForTime(audio, 4.2, 'opened at t=4.2');
      await waitForSpoken(page, ['line-1'], 'opened at t=4.2');
      assert.equal(await audio.evaluate((a) => a.paused), true);  // there, not playing on its own
      await page.screenshot({ path: join(ARTIFACTS, 'library-transcript-at.png'), fullPage: true });

      // Back: the list, its line still there.
      await page.goBack();
      await match.waitFor();
      assert.equal(await match.textContent(), `0:04 ${SPEAKER}: Thanks! Let us talk about the budget.`);

      // A line found on a caller's track opens that track's player at the track's own time.
      await testid(page, 'filter-q').fill('microphone');
      await testid(page, 'filter-submit').click();
      await testid(page, 'match-' + CF1).getByText('Only my microphone heard this.').waitFor();
      assert.equal(await text(page, 'match-' + CF1), `0:01 ${HOST}: Only my microphone heard this.`);
      const trackHref = `/console/sessions?q=microphone&session=${CF1}&t=1.5&rec=${RE5}`;
      assert.equal(await testid(page, 'session-' + CF1).getAttribute('href'), trackHref);
      await testid(page, 'session-' + CF1).click();
      await page.waitForURL(origin + trackHref);
      await waitForTime(testid(page, 'audio-' + RE5), 1.5, 'the track opened at t=1.5');
      await metadataOf(audio);
      assert.equal(await audio.evaluate((a) => a.currentTime), 0);
      assert.deepEqual(await spoken(page), []);

      // No line holds the words: no session.
      await page.goto('/console/sessions?q=nobody+said+this');
      await testid(page, 'list-status').getByText('No sessions match these filters.').waitFor();

      // A session's URL with t opens there too, once the player knows its length.
      await page.goto(`/console/sessions?session=${CF1}&t=8`);
      await waitForTime(testid(page, 'audio-' + RE1), 8, 'opened at t=8');
      await waitForSpoken(page, ['line-2'], 'opened at t=8');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a 375-px phone screen: the list and a session fit across', async () => {
    api.reset();
    api.library[0].room = 'a-room-with-a-rather-long-name-for-a-phone';
    api.library[0].recordings[0].key = 'x/'.repeat(60) + 'long-key.wav';
    const { context, page, problems } = await signedIn({ width: 375, height: 812 });
    try {
      for (const [path, shot] of [['/console/sessions', 'library-phone-list.png'],
        [`/console/sessions?session=${CF1}`, 'library-phone-session.png'],
        [`/console/sessions?session=${CF3}`, null]]) {
        await page.goto(path);
        await page.locator('a.session, [data-testid="detail-title"]').first().waitFor();
        if (path.includes('session=')) await testid(page, 'actions').or(testid(page, 'no-actions')).waitFor();
        const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert.ok(widths[0] <= widths[1], `${path}: page ${widths[0]} px wide on a ${widths[1]} px screen`);
        if (path.endsWith(CF1)) {
          // The transcript below the player, not beside it.
          const player = await testid(page, 'audio-' + RE1).boundingBox();
          const transcript = await testid(page, 'transcript').boundingBox();
          assert.ok(transcript.y >= player.y + player.height, `transcript at y ${transcript.y}, player ends at ${player.y + player.height}`);
        }
        if (shot) await page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the page fetched nothing but its own files and the API', () => {
    assert.ok(api.everyPath.includes('/console/assets/sessions.js'));
    const other = api.everyPath.filter((p) => !p.startsWith('/console') && !p.startsWith('/api/'));
    assert.deepEqual(other, []);
  });

  // The checks above can fail: an inline style attribute under the same policy is reported.
  it('the CSP watch sees a violation when there is one', async () => {
    api.reset();
    const { context, page, problems } = await signedIn();
    try {
      await openList(page);
      await page.evaluate(() => document.body.setAttribute('style', 'color: red'));
      await waitUntil(() => problems.some((p) => p.startsWith('CSP: style-src')), WAIT_MS, 'the violation report');
    } finally {
      await context.close();
    }
  });
});
