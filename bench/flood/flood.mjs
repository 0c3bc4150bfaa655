// The attacks of issue 17 against a running service, measured from outside:
//   node flood.mjs PORT PID CONNECTIONS LEGIT_REQUESTS
// Reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL from the environment.
//
// 1. CONNECTIONS idle and slowloris connections (half each) from 127.0.0.2 that reconnect as soon
//    as they are closed; meanwhile LEGIT_REQUESTS signed POST /voice, one connection each as Twilio
//    does, from 127.0.0.1; each must be answered 200 (time from connect to answer).
// 2. Four connections sending 25 MB of trailer fields each: the service's peak RSS before/after.
// Prints one line: FLOOD answered=… of=… within_100ms=… p50_ms=… p99_ms=… rss_before_kib=… rss_after_kib=… trailer_statuses=…
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const twilio = createRequire(join(repo, 'tests', 'e2e', 'package.json'))('twilio');
const [port, pid, connArg = '1100', legitArg = '500'] = process.argv.slice(2).map(Number);
const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, PUBLIC_BASE_URL: base } = process.env;
const hex = (n) => randomBytes(n).toString('hex');
const vmhwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

let stop = false;
let attackerConnects = 0;
function attacker(slow) {
  if (stop) return;
  const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  attackerConnects++;
  let timer;
  s.on('connect', () => {
    if (!slow) return;
    const head = 'POST /voice HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(4000);
    let i = 0;
    timer = setInterval(() => { if (!s.destroyed) s.write(head[i++ % head.length]); }, 200);
  });
  s.on('error', () => {});
  s.on('close', () => { clearInterval(timer); setTimeout(() => attacker(slow), 1); });
}

function voice() {
  const params = {
    AccountSid: accountSid, ApiVersion: '2010-04-01', CallSid: `CA${hex(16)}`, CallStatus: 'ringing',
    Direction: 'inbound', From: '+15551234567', To: '+18005550100', Caller: '+15551234567', Called: '+18005550100',
  };
  const body = new URLSearchParams(params).toString();
  const sig = twilio.getExpectedTwilioSignature(authToken, `${base}/voice`, params);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/voice', agent: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length, 'X-Twilio-Signature': sig } },
    (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 })); });
    req.setTimeout(30000, () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(body);
  });
}

function trailerBomb() {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    let raw = '';
    let sent = 0;
    const block = Buffer.from(`X-${'b'.repeat(60)}: ${'c'.repeat(1000)}\r\n`.repeat(64));
    s.setEncoding('latin1');
    s.on('data', (d) => { raw += d; });
    s.on('error', () => {});
    s.on('close', () => resolve(Number((/^HTTP\/1\.1 (\d{3})/.exec(raw) ?? [0, 0])[1])));
    s.write('GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n');
    const pump = () => {
      while (!s.destroyed && !raw && sent < 25e6) {
        sent += block.length;
        if (!s.write(block)) { s.once('drain', pump); return; }
      }
    };
    pump();
  });
}

for (let i = 0; i < connArg; i++) attacker(i % 2 === 1);
// Let the flood take every place first.
await new Promise((r) => setTimeout(r, 2000));
const results = [];
for (let i = 0; i < legitArg; i++) results.push(await voice());
stop = true;
const ok = results.filter((r) => r.status === 200);
const ms = ok.map((r) => r.ms).sort((a, b) => a - b);
const q = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : NaN);
const before = vmhwm();
const trailers = await Promise.all([1, 2, 3, 4].map(trailerBomb));
const after = vmhwm();
console.log(`FLOOD answered=${ok.length} of=${legitArg} within_100ms=${ms.filter((x) => x <= 100).length} ` +
  `p50_ms=${q(0.5).toFixed(2)} p99_ms=${q(0.99).toFixed(2)} attacker_connects=${attackerConnects} ` +
  `rss_before_kib=${before} rss_after_kib=${after} trailer_statuses=${trailers.join(',')}`);
process.exit(0);
