// The library (issue 16) with thousands of past sessions, for bench/library/run.
//   node library.mjs rooms FILE
//   node library.mjs seed PORT SESSIONS RECORDINGS MEDIA_PORT CONCURRENCY
//   node library.mjs measure PORT PID REQUESTS WARMUP CLIENTS SECONDS SEARCH
//   node library.mjs page PORT RUNS SELECTOR
// Reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, BENCH_USER, BENCH_PASSWORD from
// the environment; the server must already have that user. measure and page use the console
// session BENCH_COOKIE ("partyline_session=…") when set, else sign in.
//
//  rooms: writes the ROOMS_FILE: 3 rooms, each with a number (a /voice To it joins that room).
//  seed: SESSIONS past sessions spread over the last 90 days (oldest first), each 1–3 callers from
//    a pool of recurring numbers: a signed /voice per caller (To the room's number), then signed
//    /conf-status conference-start, participant-join each, participant-leave each, conference-end,
//    with SequenceNumber and an RFC 2822 Timestamp of the session's own time; CONCURRENCY
//    sessions in flight. Then the newest RECORDINGS sessions get a signed /recording-callback each
//    (CONCURRENCY in flight); their media (16 KiB) is served on 127.0.0.1:MEDIA_PORT (the service's
//    TWILIO_API_BASE) until each callback has answered 200 (stored). The data is the same every run (a fixed PRNG seed), only
//    the SIDs and "now" differ. Progress on stderr every tenth; then one line:
//      SEED sessions=… callers=… requests=… recordings=… seconds=… recording_seconds=… search=DIGITS
//        search_matches=…
//        rps_first=… rps_last=… voice_p50_first_us=… … conf_p50_last_us=… (the first and last tenth)
//    and, when BENCH_USER is set, COOKIE partyline_session=… (a console session, signed in last).
//  measure: waits for /health (polled every millisecond: the server was just spawned), then times
//    the very first GET /api/sessions (it waits for the start's index catch-up), then per route REQUESTS sequential requests (one in flight, after WARMUP) and prints
//      ROUTE name=… n=… p50_us=… p99_us=… max_us=… cpu_us=… (server CPU per request) bytes=… rows=…
//    for: session (GET /api/session, the baseline), first (the first page), filtered (room + 7
//    days), search (q=SEARCH), deep (page 20, through the cursors), detail (one session); then
//    CLIENTS concurrent clients for SECONDS on the first page and on the baseline:
//      CONCURRENT name=… clients=… requests=… rps=… p50_us=… p99_us=… max_us=… errors=… cpu_us=…
//    then (last, as they add rows) min(REQUESTS, 200) rounds of a signed /conf-status (mute/unmute
//    of the detail's first participant), a signed /voice, and another signed /voice at once:
//      WEBHOOK name=conf_event|voice_after_event|voice_again n=… p50_us=… p99_us=… max_us=…
//    and FIRST first_us=… rows=… health_after_spawn_ms=… answered_after_spawn_ms=… (BENCH_SPAWN_MS:
//    the wall-clock ms at which the server was spawned) plus INFO lines (what was picked).
//  page: Debian's chromium (playwright-core), signed in by cookie, opens /console/sessions RUNS
//    times (a new tab each, one browser context) and prints
//      PAGE runs=… fcp_p50_ms=… fcp_max_ms=… row_p50_ms=… row_max_ms=… cold_fcp_ms=… cold_row_ms=…
//      html_p50_ms=… dcl_p50_ms=… api_start_p50_ms=… api_end_p50_ms=… chromium=…
//    (first-contentful-paint, and the first element matching SELECTOR in the DOM, both from the
//    navigation's start; "cold": the first navigation; then where the time goes, p50: the HTML
//    received, DOMContentLoaded, GET /api/sessions sent and answered).
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireE2e = createRequire(join(repo, 'tests', 'e2e', 'package.json'));

const [mode, ...args] = process.argv.slice(2);
const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, PUBLIC_BASE_URL: base,
  BENCH_USER: user, BENCH_PASSWORD: password } = process.env;
const USAGE = `usage: node library.mjs rooms FILE
       node library.mjs seed PORT SESSIONS RECORDINGS MEDIA_PORT CONCURRENCY
       node library.mjs measure PORT PID REQUESTS WARMUP CLIENTS SECONDS SEARCH
       node library.mjs page PORT RUNS SELECTOR`;
const ARITY = { rooms: 1, seed: 5, measure: 7, page: 3 };
if (!(mode in ARITY) || args.length !== ARITY[mode] || (mode !== 'rooms' && (!accountSid || !authToken || !base))) {
  console.error(USAGE);
  process.exit(2);
}

const ROOMS = [
  { name: 'morning', number: '+18005550101' },
  { name: 'evening', number: '+18005550102' },
  { name: 'weekend', number: '+18005550103' },
];
const DAY = 24 * 3600 * 1000;
const SPAN_DAYS = 90;
// The filtered page: one room, 7 days (UTC, both ends included) a month back.
const FILTER_ROOM = ROOMS[0].name;
const FILTER_FROM_DAYS_AGO = 37;
const FILTER_TO_DAYS_AGO = 31;
const DEEP_PAGE = 20;
const MEDIA_BYTES = 16 * 1024;

const hex = (n) => randomBytes(n).toString('hex');
const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
const us = (ms) => Math.round(ms * 1000);

let port = 0;
let agent = null;

// One request; resolves { status, headers, body, ms } (ms: to the whole answer).
function request(method, path, headers = {}, body = undefined) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(60000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function signed(path, params) {
  const twilio = requireE2e('twilio');
  const sig = twilio.getExpectedTwilioSignature(authToken, base + path, params);
  return request('POST', path, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig },
    new URLSearchParams(params).toString());
}

async function signIn() {
  const r = await request('POST', '/api/session', { 'Content-Type': 'application/json' }, JSON.stringify({ username: user, password }));
  if (r.status !== 204) throw new Error(`sign-in answered ${r.status}: ${r.body}`);
  return (r.headers['set-cookie'] ?? []).find((c) => c.startsWith('partyline_session=')).split(';')[0];
}

// A small deterministic PRNG (mulberry32): the same library every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------ rooms
function roomsFile(file) {
  const text = ['pin_length = 4', ''];
  for (const r of ROOMS) {
    text.push('[[room]]', `name = "${r.name}"`, `numbers = ["${r.number}"]`, 'max_participants = 250', '');
  }
  writeFileSync(file, text.join('\n'));
}

// ------------------------------------------------------------------ seed
async function seed(sessionsArg, recordingsArg, mediaPortArg, concurrencyArg) {
  const SESSIONS = Number(sessionsArg);
  const RECORDINGS = Math.min(SESSIONS, Number(recordingsArg));
  const CONCURRENCY = Number(concurrencyArg);
  agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
  const rand = prng(16);
  const now = Date.now();
  // Recurring callers: a pool of distinct last-4 digits, each number on ~10 sessions.
  const poolSize = Math.max(20, Math.round(SESSIONS / 5));
  const pool = [];
  const usedDigits = new Set();
  while (pool.length < poolSize) {
    const digits = String(Math.floor(rand() * 10000)).padStart(4, '0');
    if (usedDigits.has(digits)) continue;
    usedDigits.add(digits);
    pool.push(`+1${200 + Math.floor(rand() * 800)}${String(Math.floor(rand() * 1000)).padStart(3, '0')}${digits}`);
  }
  const plan = [];
  for (let i = 0; i < SESSIONS; i++) {
    const startMs = now - 3600 * 1000 - Math.floor(rand() * SPAN_DAYS * DAY);
    const n = 1 + Math.floor(rand() * 3);
    const callers = new Set();
    while (callers.size < n) callers.add(pool[Math.floor(rand() * pool.length)]);
    plan.push({ startMs, minutes: 2 + Math.floor(rand() * 88), room: ROOMS[Math.floor(rand() * ROOMS.length)],
      callers: [...callers] });
  }
  plan.sort((a, b) => a.startMs - b.startMs);  // oldest first, as they happened
  for (let i = SESSIONS - RECORDINGS; i < SESSIONS; i++) plan[i].record = true;
  // The search: the pool number whose session count is the median one.
  const count = new Map();
  for (const s of plan) for (const c of s.callers) count.set(c, (count.get(c) ?? 0) + 1);
  const byCount = [...count].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const [searchNumber, searchMatches] = byCount[Math.floor(byCount.length / 2)];

  // Twilio's media endpoint for the recordings: any RecordingSid, the same bytes, Basic auth.
  const media = randomBytes(MEDIA_BYTES);
  const expected = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
  const prefix = `/2010-04-01/Accounts/${accountSid}/Recordings/`;
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.headers.authorization !== expected) { res.writeHead(401); return res.end(); }
    if (req.method !== 'GET' || !req.url.startsWith(prefix) || !/^RE[0-9a-f]{32}\.mp3$/.test(req.url.slice(prefix.length))) {
      res.writeHead(404); return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': media.length });
    res.end(media);
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(Number(mediaPortArg), '127.0.0.1', resolve); });

  let requests = 0;
  // Progress every tenth of the sessions (stderr): webhooks/s and the p50 of each kind's answer
  // over that tenth, to see whether the webhooks slow down as the database grows.
  const windowMs = { voice: [], conf: [] };
  let windowRequests = 0;
  let windowT0 = performance.now();
  const chunks = [];
  const expect = async (what, status, p) => {
    const r = await p;
    requests++;
    windowRequests++;
    (what === '/voice' ? windowMs.voice : windowMs.conf).push(r.ms);
    if (r.status !== status) throw new Error(`${what} answered ${r.status}: ${r.body}`);
    return r;
  };
  const tenth = Math.max(1, Math.round(SESSIONS / 10));
  let finished = 0;
  const progress = () => {
    if (++finished % tenth !== 0 && finished !== SESSIONS) return;
    const now2 = performance.now();
    const med = (a) => pct(a.sort((x, y) => x - y), 50);
    const c = { rps: windowRequests / ((now2 - windowT0) / 1000), voice: med(windowMs.voice), conf: med(windowMs.conf) };
    chunks.push(c);
    const t = new Date().toISOString().slice(11, 19);
    console.error(`[bench ${t}] seed: ${finished}/${SESSIONS} sessions, ${Math.round(c.rps)} webhooks/s; p50 /voice ` +
      `${c.voice.toFixed(2)} ms, /conf-status ${c.conf.toFixed(2)} ms`);
    windowMs.voice = [];
    windowMs.conf = [];
    windowRequests = 0;
    windowT0 = now2;
  };
  const one = async (s) => {
    const conf = `CF${hex(16)}`;
    const calls = [];
    for (const from of s.callers) {
      const CallSid = `CA${hex(16)}`;
      await expect('/voice', 200, signed('/voice', { AccountSid: accountSid, ApiVersion: '2010-04-01', CallSid,
        CallStatus: 'ringing', Direction: 'inbound', From: from, To: s.room.number }));
      calls.push(CallSid);
    }
    let seq = 0;
    const event = (name, at, extra = {}) => expect(`/conf-status ${name}`, 204, signed('/conf-status', {
      AccountSid: accountSid, ConferenceSid: conf, StatusCallbackEvent: name, FriendlyName: s.room.name,
      SequenceNumber: String(++seq), Timestamp: rfc2822(at), ...extra }));
    const end = s.startMs + s.minutes * 60000;
    await event('conference-start', s.startMs);
    for (const [i, CallSid] of calls.entries()) await event('participant-join', s.startMs + 1000 * (i + 1), { CallSid });
    for (const [i, CallSid] of calls.entries()) {
      await event('participant-leave', end - 1000 * (calls.length - i), { CallSid, ReasonParticipantLeft: 'participant_hung_up' });
    }
    await event('conference-end', end, { ReasonConferenceEnded: 'last-participant-left' });
    s.conf = conf;
    progress();
  };
  // A recording's callback (after every session is in: the webhooks' rate above is of them alone).
  const record = async (s) => {
    const RecordingSid = `RE${hex(16)}`;
    const params = { AccountSid: accountSid, ConferenceSid: s.conf, RecordingSid,
      RecordingUrl: `${process.env.TWILIO_API_BASE}${prefix}${RecordingSid}`, RecordingStatus: 'completed',
      RecordingDuration: String(s.minutes * 60), RecordingChannels: '1', RecordingSource: 'Conference',
      RecordingStartTime: rfc2822(s.startMs) };
    // 200 once stored; a 503 (not within RECORDING_CALLBACK_WAIT) is sent again, as Twilio might.
    for (let attempt = 1; ; attempt++) {
      const r = await signed('/recording-callback', params);
      requests++;
      if (r.status === 200) break;
      if (r.status !== 503 || attempt >= 10) throw new Error(`/recording-callback answered ${r.status}: ${r.body}`);
    }
  };
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < plan.length) await one(plan[next++]);
  }));
  const seconds = (performance.now() - t0) / 1000;
  const recorded = plan.filter((s) => s.record);
  const t1 = performance.now();
  next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < recorded.length) await record(recorded[next++]);
  }));
  const recordingSeconds = (performance.now() - t1) / 1000;
  server.close();
  server.closeAllConnections();
  agent.destroy();
  // A console session for the next start (sessions survive a restart): its first request then
  // goes out right after /health answers, with no sign-in (Argon2id) in between.
  agent = new http.Agent({ keepAlive: false });
  if (user && password) console.log(`COOKIE ${await signIn()}`);
  agent.destroy();
  const callers = plan.reduce((a, s) => a + s.callers.length, 0);
  console.log(`SEED sessions=${SESSIONS} callers=${callers} pool=${poolSize} requests=${requests} recordings=${RECORDINGS} ` +
    `seconds=${seconds.toFixed(1)} recording_seconds=${recordingSeconds.toFixed(1)} search=${searchNumber.slice(-4)} search_matches=${searchMatches} ` +
    `rps_first=${Math.round(chunks[0].rps)} rps_last=${Math.round(chunks.at(-1).rps)} ` +
    `voice_p50_first_us=${us(chunks[0].voice)} voice_p50_last_us=${us(chunks.at(-1).voice)} ` +
    `conf_p50_first_us=${us(chunks[0].conf)} conf_p50_last_us=${us(chunks.at(-1).conf)}`);
}

// ------------------------------------------------------------------ measure
function cpuUs(pid) {  // the server's utime+stime
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e4;  // USER_HZ is 100 on Linux
}

async function measure(pidArg, requestsArg, warmupArg, clientsArg, secondsArg, search) {
  const N = Number(requestsArg);
  const WARMUP = Number(warmupArg);
  const CLIENTS = Number(clientsArg);
  const SECONDS = Number(secondsArg);
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let cookie = process.env.BENCH_COOKIE;  // else signed in once /health answers
  const get = async (path) => {
    const r = await request('GET', path, { Cookie: cookie });
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.body}`);
    return r;
  };
  const list = async (query) => {
    const r = await get(`/api/sessions${query ? '?' + query : ''}`);
    return { ...r, json: JSON.parse(r.body) };
  };

  // The server was just spawned (at BENCH_SPAWN_MS, wall clock): /health every millisecond, then at
  // once the very first list, which waits for the index to catch up.
  for (const deadline = performance.now() + 30000; ;) {
    const ok = await new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) break;
    if (performance.now() > deadline) throw new Error('no 200 from /health within 30 s');
    await new Promise((r) => setTimeout(r, 1));
  }
  const healthAt = Date.now();
  cookie ||= await signIn();
  const first = await list('');
  const spawn = Number(process.env.BENCH_SPAWN_MS ?? NaN);
  console.log(`FIRST first_us=${us(first.ms)} rows=${first.json.sessions.length} ` +
    `health_after_spawn_ms=${Number.isFinite(spawn) ? healthAt - spawn : 'n/a'} ` +
    `answered_after_spawn_ms=${Number.isFinite(spawn) ? Date.now() - spawn : 'n/a'}`);

  const now = Date.now();
  const filtered = `room=${FILTER_ROOM}&from=${isoDay(now - FILTER_FROM_DAYS_AGO * DAY)}&to=${isoDay(now - FILTER_TO_DAYS_AGO * DAY)}`;
  let cursor = null;
  for (let page = 1; page < DEEP_PAGE; page++) {
    const r = await list(cursor ? `cursor=${encodeURIComponent(cursor)}` : '');
    cursor = r.json.next_cursor;
    if (!cursor) throw new Error(`only ${page} pages: no page ${DEEP_PAGE} (seed more sessions)`);
  }
  const chosen = first.json.sessions.find((s) => s.peak_participants === 3 && s.recordings.length > 0) ??
    first.json.sessions.find((s) => s.peak_participants === 3) ?? first.json.sessions[0];
  console.log(`INFO filtered=${filtered} search=q=${search} deep_page=${DEEP_PAGE} detail=${chosen.conference_sid} ` +
    `detail_peak=${chosen.peak_participants} detail_recordings=${chosen.recordings.length}`);
  const routes = [
    ['session', '/api/session'],
    ['first', '/api/sessions'],
    ['filtered', `/api/sessions?${filtered}`],
    ['search', `/api/sessions?q=${search}`],
    ['deep', `/api/sessions?cursor=${encodeURIComponent(cursor)}`],
    ['detail', `/api/sessions/${chosen.conference_sid}`],
  ];
  for (const [name, path] of routes) {
    for (let i = 0; i < WARMUP; i++) await get(path);
    const lat = [];
    let last;
    const c0 = cpuUs(pidArg);
    for (let i = 0; i < N; i++) {
      last = await get(path);
      lat.push(last.ms);
    }
    const cpu = cpuUs(pidArg) - c0;
    lat.sort((a, b) => a - b);
    let rows = '';
    try { const j = JSON.parse(last.body); rows = Array.isArray(j.sessions) ? j.sessions.length : (j.participants?.length ?? ''); } catch { /* text */ }
    console.log(`ROUTE name=${name} n=${N} p50_us=${us(pct(lat, 50))} p99_us=${us(pct(lat, 99))} max_us=${us(lat.at(-1))} ` +
      `cpu_us=${Math.round(cpu / N)} bytes=${Buffer.byteLength(last.body)} rows=${rows === '' ? '-' : rows}`);
  }

  // CLIENTS concurrent clients, each one request at a time on its own connection.
  for (const [name, path] of [['first', '/api/sessions'], ['session', '/api/session']]) {
    const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const run = async (ms, record) => {
      const lat = [];
      let errors = 0;
      const until = performance.now() + ms;
      await Promise.all(agents.map(async (a) => {
        while (performance.now() < until) {
          const t0 = performance.now();
          const ok = await new Promise((resolve) => {
            const req = http.request({ host: '127.0.0.1', port, path, headers: { Cookie: cookie }, agent: a }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200));
            });
            req.on('error', () => resolve(false));
            req.end();
          });
          if (!ok) errors++;
          if (record) lat.push(performance.now() - t0);
        }
      }));
      return { lat, errors };
    };
    await run(1000, false);
    const c0 = cpuUs(pidArg);
    const t0 = performance.now();
    const { lat, errors } = await run(SECONDS * 1000, true);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuUs(pidArg) - c0;
    lat.sort((a, b) => a - b);
    console.log(`CONCURRENT name=${name} clients=${CLIENTS} requests=${lat.length} rps=${Math.round(lat.length / elapsed)} ` +
      `p50_us=${us(pct(lat, 50))} p99_us=${us(pct(lat, 99))} max_us=${us(lat.at(-1))} errors=${errors} ` +
      `cpu_us=${Math.round(cpu / lat.length)}`);
    for (const a of agents) a.destroy();
  }

  // Webhooks on this database (last: they add rows). A signed /voice right after a conference
  // event, then another one at once; the event is a mute/unmute of the detail's first participant.
  const detail = JSON.parse((await get(`/api/sessions/${chosen.conference_sid}`)).body);
  const target = detail.participants[0]?.call_sid;
  if (target) {
    const HOOKS = Math.min(N, 200);
    const lat = { conf_event: [], voice_after_event: [], voice_again: [] };
    const voice = async () => {
      const r = await signed('/voice', { AccountSid: accountSid, ApiVersion: '2010-04-01', CallSid: `CA${hex(16)}`,
        CallStatus: 'ringing', Direction: 'inbound', From: '+15550009999', To: ROOMS[0].number });
      if (r.status !== 200) throw new Error(`/voice answered ${r.status}: ${r.body}`);
      return r.ms;
    };
    for (let i = 0; i < HOOKS + 5; i++) {
      const muted = i % 2 === 0;
      const e = await signed('/conf-status', { AccountSid: accountSid, ConferenceSid: chosen.conference_sid,
        StatusCallbackEvent: muted ? 'participant-mute' : 'participant-unmute', FriendlyName: chosen.room,
        CallSid: target, Muted: String(muted), SequenceNumber: String(1000 + i), Timestamp: rfc2822(Date.now()) });
      if (e.status !== 204) throw new Error(`/conf-status answered ${e.status}: ${e.body}`);
      const a = await voice();
      const b = await voice();
      if (i < 5) continue;  // warm-up
      lat.conf_event.push(e.ms);
      lat.voice_after_event.push(a);
      lat.voice_again.push(b);
    }
    for (const [name, l] of Object.entries(lat)) {
      l.sort((x, y) => x - y);
      console.log(`WEBHOOK name=${name} n=${l.length} p50_us=${us(pct(l, 50))} p99_us=${us(pct(l, 99))} max_us=${us(l.at(-1))}`);
    }
  }
  agent.destroy();
}

// ------------------------------------------------------------------ page
async function page(runsArg, selector) {
  const RUNS = Number(runsArg);
  agent = new http.Agent({ keepAlive: false });
  const cookie = process.env.BENCH_COOKIE || await signIn();
  const { chromium } = requireE2e('playwright-core');
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true, args });
  try {
    const origin = `http://127.0.0.1:${port}`;
    const context = await browser.newContext({ baseURL: origin });
    context.setDefaultTimeout(30000);
    const eq = cookie.indexOf('=');
    const [name, value] = [cookie.slice(0, eq), cookie.slice(eq + 1)];
    await context.addCookies([{ name, value, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' }]);
    // The moment (from the navigation's start) the first element matching the selector is in the DOM.
    await context.addInitScript((sel) => {
      const seen = () => {
        if (window.__firstRow === undefined && document.querySelector(sel)) window.__firstRow = performance.now();
        return window.__firstRow !== undefined;
      };
      new MutationObserver((_m, obs) => { if (seen()) obs.disconnect(); })
        .observe(document, { childList: true, subtree: true });
    }, selector);
    const fcp = [];
    const row = [];
    const parts = {};  // where the time goes: HTML received, DOMContentLoaded, /api/sessions asked, answered
    for (let i = 0; i < RUNS; i++) {
      const tab = await context.newPage();
      await tab.goto('/console/sessions', { waitUntil: 'load' });
      if (!tab.url().startsWith(`${origin}/console/sessions`)) throw new Error(`the page went to ${tab.url()} (not signed in?)`);
      await tab.waitForSelector(selector, { state: 'attached' });
      const t = await tab.evaluate(() => new Promise((resolve) => {
        // FCP is reported once painted: wait for the entry (up to 5 s).
        const facts = (fcp) => {
          const nav = performance.getEntriesByType('navigation')[0];
          const api = performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname === '/api/sessions');
          return { fcp, row: window.__firstRow, html: nav?.responseEnd, dcl: nav?.domContentLoadedEventEnd,
            apiStart: api?.startTime, apiEnd: api?.responseEnd };
        };
        const done = () => {
          const e = performance.getEntriesByName('first-contentful-paint')[0];
          return e ? resolve(facts(e.startTime)) : false;
        };
        if (done() !== false) return;
        const deadline = performance.now() + 5000;
        const poll = () => (done() !== false ? undefined : performance.now() > deadline
          ? resolve(facts(null)) : setTimeout(poll, 10));
        poll();
      }));
      if (typeof t.row !== 'number') throw new Error('the first row was not seen by the observer');
      if (t.fcp !== null) fcp.push(t.fcp);
      row.push(t.row);
      for (const k of ['html', 'dcl', 'apiStart', 'apiEnd']) if (typeof t[k] === 'number') (parts[k] ??= []).push(t[k]);
      await tab.close();
    }
    const cold = { fcp: fcp[0], row: row[0] };
    fcp.sort((a, b) => a - b);
    row.sort((a, b) => a - b);
    const med = (k) => pct((parts[k] ?? []).sort((a, b) => a - b), 50);
    const f = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : 'n/a');
    console.log(`PAGE runs=${RUNS} fcp_n=${fcp.length} fcp_p50_ms=${f(pct(fcp, 50))} fcp_max_ms=${f(fcp.at(-1))} ` +
      `row_p50_ms=${f(pct(row, 50))} row_max_ms=${f(row.at(-1))} cold_fcp_ms=${f(cold.fcp)} cold_row_ms=${f(cold.row)} ` +
      `html_p50_ms=${f(med('html'))} dcl_p50_ms=${f(med('dcl'))} api_start_p50_ms=${f(med('apiStart'))} ` +
      `api_end_p50_ms=${f(med('apiEnd'))} chromium=${browser.version()}`);
  } finally {
    await browser.close();
    agent.destroy();
  }
}

async function main() {
  if (mode === 'rooms') return roomsFile(args[0]);
  port = Number(args[0]);
  if (mode === 'seed') return seed(...args.slice(1));
  if (!user || !password) throw new Error('BENCH_USER and BENCH_PASSWORD are needed');
  if (mode === 'measure') return measure(...args.slice(1));
  return page(...args.slice(1));
}

main().catch((e) => { console.error(`library.mjs: ${e.stack ?? e}`); process.exit(1); });
