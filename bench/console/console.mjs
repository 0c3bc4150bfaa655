// The console's live streams under load, for bench/console/run.
//   node console.mjs latency PORT PID STREAMS PARTICIPANTS EVENTS
//   node console.mjs load PORT PID STREAMS PARTICIPANTS INTERVAL_MS
// Reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, BENCH_USER, BENCH_PASSWORD from
// the environment; the server must already have that user.
//
// Both modes sign in, open STREAMS event streams on room "partyline" and fill its conference with
// PARTICIPANTS callers (a signed /voice, then a signed participant-join each), then:
//  latency: sends EVENTS signed participant-mute / participant-unmute, one at a time, each to a
//    random participant, and times each from the POST's first byte to the moment each stream has
//    received a state showing it. Prints one line:
//      CONSOLE samples=… p50_us=… p99_us=… max_us=… post_p50_us=… post_p99_us=… bytes=… server_cpu_ms=… missing=…
//  load: prints READY once set up, then sends one mute/unmute every INTERVAL_MS until SIGTERM,
//    then prints: LOAD events=… failed=… received=… (states received, all streams together)
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const twilio = createRequire(join(repo, 'tests', 'e2e', 'package.json'))('twilio');

const [mode, portArg, pidArg, streamsArg, participantsArg, lastArg] = process.argv.slice(2);
const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, PUBLIC_BASE_URL: base,
  BENCH_USER: user, BENCH_PASSWORD: password } = process.env;
if (!['latency', 'load'].includes(mode) || !lastArg || !accountSid || !authToken || !base || !user) {
  console.error('usage: node console.mjs latency|load PORT PID STREAMS PARTICIPANTS EVENTS|INTERVAL_MS');
  process.exit(2);
}
const port = Number(portArg);
const STREAMS = Number(streamsArg);
const PARTICIPANTS = Number(participantsArg);
const ROOM = 'partyline';
const hex = (n) => randomBytes(n).toString('hex');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// One request; resolves { status, headers, body } and the time (ms) to its whole answer.
function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data, ms: performance.now() - t0, t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function signed(path, params) {
  const sig = twilio.getExpectedTwilioSignature(authToken, base + path, params);
  return request('POST', path, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig },
    new URLSearchParams(params).toString());
}

function cpuMs() {  // the server's utime+stime
  const f = readFileSync(`/proc/${pidArg}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;  // USER_HZ is 100 on Linux
}

// An event stream. Each complete event is stamped when its last byte arrives; its JSON is parsed
// later (setImmediate), so one stream's parsing does not delay the stamps of the others.
function openStream(cookie) {
  const s = { waiters: [], bytes: 0, received: 0, status: 0, parse: true };
  let buffer = '';
  const pending = [];
  const drain = () => {
    while (pending.length) {
      const { at, block } = pending.shift();
      if (!block.startsWith('event: room\n') && !block.includes('\nevent: room\n')) continue;
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      s.bytes = data.length;
      s.received++;
      if (!s.parse) continue;  // under the webhook load only counted: the client's CPU is the server's too
      s.last = { at, room: JSON.parse(data) };
      for (const w of s.waiters.splice(0)) w();
    }
  };
  s.req = http.request({ host: '127.0.0.1', port, path: `/api/rooms/${ROOM}/events`, headers: { Cookie: cookie } }, (res) => {
    s.status = res.statusCode;
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const at = performance.now();
      buffer += chunk;
      let i;
      let any = false;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        pending.push({ at, block: buffer.slice(0, i) });
        buffer = buffer.slice(i + 2);
        any = true;
      }
      if (any) setImmediate(drain);
    });
    res.on('end', () => { s.ended = true; for (const w of s.waiters.splice(0)) w(); });
  });
  s.req.on('error', () => { s.ended = true; });
  s.req.end();
  // The time of the first state (received after `since`) for which pred holds.
  s.until = (pred, since, timeoutMs = 5000) => new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const check = () => {
      if (s.last && s.last.at >= since && pred(s.last.room)) return resolve(s.last.at);
      if (s.ended || performance.now() > deadline) return resolve(null);
      s.waiters.push(check);
      setTimeout(check, Math.max(1, deadline - performance.now())).unref();
    };
    check();
  });
  return s;
}

const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;

async function main() {
  const login = await request('POST', '/api/session', { 'Content-Type': 'application/json' }, JSON.stringify({ username: user, password }));
  if (login.status !== 204) throw new Error(`sign-in answered ${login.status}: ${login.body}`);
  const cookie = (login.headers['set-cookie'] ?? []).find((c) => c.startsWith('partyline_session=')).split(';')[0];
  const streams = Array.from({ length: STREAMS }, () => openStream(cookie));
  await Promise.all(streams.map((s) => s.until(() => true, 0)));
  for (const s of streams) if (s.status !== 200) throw new Error(`event stream answered ${s.status}`);

  const cf = `CF${hex(16)}`;
  let seq = 0;
  const conf = async (event, callSid, extra = {}) => {
    const r = await signed('/conf-status', { AccountSid: accountSid, ConferenceSid: cf, StatusCallbackEvent: event,
      FriendlyName: ROOM, SequenceNumber: String(++seq), ...(callSid ? { CallSid: callSid } : {}), ...extra });
    if (r.status !== 204) throw new Error(`conf-status ${event} answered ${r.status}: ${r.body}`);
    return r;
  };
  await conf('conference-start', '');
  const calls = [];
  for (let i = 0; i < PARTICIPANTS; i++) {
    const CallSid = `CA${hex(16)}`;
    const v = await signed('/voice', { AccountSid: accountSid, ApiVersion: '2010-04-01', CallSid, CallStatus: 'ringing',
      Direction: 'inbound', From: `+1415555${String(1000 + i).padStart(4, '0')}`, To: '+18005550100' });
    if (v.status !== 200) throw new Error(`/voice answered ${v.status}: ${v.body}`);
    await conf('participant-join', CallSid);
    calls.push(CallSid);
  }
  const muted = new Map(calls.map((c) => [c, false]));
  const full = (room) => room.participants?.length === PARTICIPANTS;
  const settled = await Promise.all(streams.map((s) => s.until(full, 0, 30000)));
  if (settled.includes(null)) throw new Error(`not every stream showed ${PARTICIPANTS} participants`);

  // One mute or unmute (whichever changes the participant), sent to a random participant.
  const toggle = () => {
    const callSid = calls[Math.floor(Math.random() * calls.length)];
    const m = !muted.get(callSid);
    muted.set(callSid, m);
    return { callSid, m, sent: conf(m ? 'participant-mute' : 'participant-unmute', callSid, { Muted: String(m) }) };
  };

  if (mode === 'latency') {
    const EVENTS = Number(lastArg);
    const lat = [];
    const post = [];
    let missing = 0;
    const cpu0 = cpuMs();
    for (let n = 0; n < EVENTS; n++) {
      const t0 = performance.now();
      const { callSid, m, sent } = toggle();
      const shows = (room) => room.participants.some((p) => p.call_sid === callSid && p.muted === m);
      const [r, ...seen] = await Promise.all([sent, ...streams.map((s) => s.until(shows, t0))]);
      post.push(r.ms);
      for (const at of seen) at === null ? missing++ : lat.push(at - t0);
    }
    const cpu = cpuMs() - cpu0;
    lat.sort((a, b) => a - b);
    post.sort((a, b) => a - b);
    const us = (ms) => Math.round(ms * 1000);
    console.log(`CONSOLE samples=${lat.length} p50_us=${us(pct(lat, 50))} p99_us=${us(pct(lat, 99))} max_us=${us(lat.at(-1))} ` +
      `post_p50_us=${us(pct(post, 50))} post_p99_us=${us(pct(post, 99))} bytes=${streams[0].bytes} ` +
      `server_cpu_ms=${cpu} missing=${missing}`);
  } else {
    const interval = Number(lastArg);
    let events = 0;
    let failed = 0;
    for (const s of streams) s.parse = false;
    const received0 = streams.reduce((a, s) => a + s.received, 0);
    const timer = setInterval(() => {
      events++;
      toggle().sent.catch(() => { failed++; });
    }, interval);
    process.on('SIGTERM', () => {
      clearInterval(timer);
      const received = streams.reduce((a, s) => a + s.received, 0) - received0;
      console.log(`LOAD events=${events} failed=${failed} received=${received} open=${streams.filter((s) => !s.ended).length}`);
      process.exit(0);
    });
    console.log('READY');
    return;  // the streams stay open until SIGTERM
  }
  for (const s of streams) s.req.destroy();
  agent.destroy();
}

main().catch((e) => { console.error(`console.mjs: ${e.stack ?? e}`); process.exit(1); });
