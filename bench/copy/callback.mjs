// One recording callback for bench/copy/run: POST /recording-callback signed the way Twilio signs
// it (the twilio npm package of tests/e2e), then wait for the service's recording.stored line.
//   node callback.mjs SERVICE_PORT LOG_FILE RECORDING_SID [TIMEOUT_S]
// Reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, TWILIO_API_BASE from the environment.
// Prints one JSON line: { status, answer_ms, stored_ms, fetch_ms, put_ms, bytes, key }, where
// stored_ms runs from just before the request to the `ts` of the recording.stored line.
import { closeSync, openSync, readSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const twilio = createRequire(join(repo, 'tests', 'e2e', 'package.json'))('twilio');

const [port, logFile, recordingSid, timeoutS = '600'] = process.argv.slice(2);
const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, PUBLIC_BASE_URL: publicBase,
  TWILIO_API_BASE: apiBase } = process.env;
if (!recordingSid || !accountSid || !authToken || !publicBase || !apiBase) {
  console.error('usage: node callback.mjs SERVICE_PORT LOG_FILE RECORDING_SID [TIMEOUT_S] (+ env)');
  process.exit(2);
}

const params = {
  AccountSid: accountSid,
  ConferenceSid: 'CF' + randomBytes(16).toString('hex'),
  RecordingSid: recordingSid,
  RecordingUrl: `${apiBase}/2010-04-01/Accounts/${accountSid}/Recordings/${recordingSid}`,
  RecordingStatus: 'completed',
  RecordingDuration: '42',
  RecordingChannels: '1',
  RecordingSource: 'Conference',
  RecordingStartTime: new Date().toUTCString().replace('GMT', '+0000'),
};
const path = '/recording-callback';
const body = new URLSearchParams(params).toString();
const signature = twilio.getExpectedTwilioSignature(authToken, publicBase + path, params);

function post() {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: Number(port), method: 'POST', path, agent: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body),
        'X-Twilio-Signature': signature },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.setTimeout(120000, () => req.destroy(new Error('callback request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

// Incremental reader of the service's JSON-lines log.
let offset = 0;
let partial = '';
const seen = [];
function readLog() {
  const fd = openSync(logFile, 'r');
  const buf = Buffer.alloc(1 << 16);
  for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n) partial += buf.toString('utf8', 0, n);
  closeSync(fd);
  const lines = partial.split('\n');
  partial = lines.pop();
  for (const line of lines) {
    try {
      const o = JSON.parse(line);
      if (o.RecordingSid === recordingSid) seen.push(o);
    } catch { /* not JSON: ignore */ }
  }
}
const find = (evt) => seen.find((o) => o.evt === evt);

const t0 = Date.now();
const status = await post();
const answerMs = Date.now() - t0;
const deadline = Date.now() + Number(timeoutS) * 1000;
for (;;) {
  readLog();
  const failed = seen.find((o) => ['recording.fetch.error', 's3.put.error', 'recording.dead'].includes(o.evt));
  if (failed) {
    console.error(`copy failed: ${JSON.stringify(failed)}`);
    process.exit(1);
  }
  if (find('recording.stored')) break;
  if (Date.now() > deadline) {
    console.error(`no recording.stored for ${recordingSid} within ${timeoutS} s (callback answered ${status})`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 20));
}
const stored = find('recording.stored');
console.log(JSON.stringify({
  status,
  answer_ms: answerMs,
  stored_ms: Date.parse(stored.ts) - t0,
  fetch_ms: find('recording.fetch.ok')?.ms,
  put_ms: find('s3.put.ok')?.ms,
  bytes: find('s3.put.ok')?.bytes ?? find('recording.fetch.ok')?.bytes,
  key: stored.key,
}));
