// The server the design prescribes (shared/spec/partyline-design.md, section 9: Express,
// body-parser, twilio, axios, @aws-sdk/client-s3), written as a careful Node developer would
// from its sections 2, 4, 5.2, 6, 7 and 11: the Node.js baseline that bench/run measures
// Partyline against. Same environment variables, endpoints and TwiML as Partyline (absolute
// callback URLs built from PUBLIC_BASE_URL), X-Twilio-Signature checked on every webhook.
//
//   PORT=8080 PUBLIC_BASE_URL=https://calls.example.com TWILIO_ACCOUNT_SID=AC… \
//   TWILIO_AUTH_TOKEN=… node index.js
//
// Not a product: no durable queue, no retries of its own (the design's v1 leaves retries to
// Twilio). The recording is streamed from Twilio to S3 (axios stream → PutObject with the
// media's Content-Length), never held whole in memory.
import { randomBytes } from 'node:crypto';
import express from 'express';
import bodyParser from 'body-parser';
import twilio from 'twilio';
import axios from 'axios';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';

const env = process.env;
const ACCOUNT_SID = env.TWILIO_ACCOUNT_SID ?? '';
const AUTH_TOKEN = env.TWILIO_AUTH_TOKEN ?? '';
const PORT = Number(env.PORT ?? 8080);
const HOST = env.HOST ?? '0.0.0.0';
const BASE = (env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${PORT}`).replace(/\/+$/, '');
const VALIDATE = (env.TWILIO_VALIDATE_SIGNATURE ?? 'true') !== 'false';
const API_BASE = (env.TWILIO_API_BASE ?? 'https://api.twilio.com').replace(/\/+$/, '');
const PIN_SPEAKER = env.PIN_SPEAKER ?? '';
const PIN_PRODUCER = env.PIN_PRODUCER ?? '';
const S3_PREFIX = env.S3_PREFIX ?? 'partyline/';
const RECORDING_FORMAT = env.RECORDING_FORMAT === 'wav' ? 'wav' : 'mp3';

if (!ACCOUNT_SID || !AUTH_TOKEN) {
  console.error('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required');
  process.exit(2);
}

const s3 = new S3Client({
  region: env.AWS_REGION ?? 'us-east-1',
  ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
  forcePathStyle: env.S3_FORCE_PATH_STYLE ? env.S3_FORCE_PATH_STYLE === 'true' : Boolean(env.S3_ENDPOINT),
});

// Design section 6: JSON lines; phone numbers redacted to their last 4 digits (section 12).
function log(evt, fields = {}) {
  console.log(JSON.stringify({ ts: new Date().toISOString(), evt, ...fields }));
}
const redact = (phone) => (phone ? `***${String(phone).slice(-4)}` : '');

// Design section 5.2, as a middleware on every webhook.
function fromTwilio(req, res, next) {
  if (!req.is('application/x-www-form-urlencoded')) return res.status(415).type('text').send('Unsupported Media Type\n');
  if (!VALIDATE) return next();
  const signature = req.headers['x-twilio-signature'];
  const url = `${BASE}${req.originalUrl}`;
  if (!signature || !twilio.validateRequest(AUTH_TOKEN, signature, url, req.body ?? {})) {
    return res.status(403).type('text').send('Forbidden\n');
  }
  if (req.body.AccountSid && req.body.AccountSid !== ACCOUNT_SID) return res.status(403).type('text').send('Forbidden\n');
  return next();
}

const isSid = (value, prefix) => typeof value === 'string' && new RegExp(`^${prefix}[0-9a-f]{32}$`).test(value);

function conference(node, muted) {
  const attrs = {
    beep: 'onEnter',
    maxParticipants: 15,
    record: 'record-from-start',
    statusCallback: `${BASE}/conf-status`,
    statusCallbackEvent: 'start end join leave mute hold',
    recordingStatusCallback: `${BASE}/recording-callback`,
    recordingStatusCallbackEvent: 'completed',
    waitUrl: 'silence',
  };
  if (muted) attrs.muted = true;
  node.dial().conference(attrs, 'partyline');
}

function twiml(res, response) {
  res.type('text/xml').send(response.toString());
}

const app = express();
app.disable('x-powered-by');
const form = bodyParser.urlencoded({ extended: false, limit: '64kb' });

app.get('/health', (req, res) => res.type('text').send('OK'));

app.post('/voice', form, fromTwilio, (req, res) => {
  const { CallSid, From, To, CallStatus } = req.body;
  if (!isSid(CallSid, 'CA')) return res.status(400).type('text').send('Bad Request\n');
  log('voice.hit', { CallSid, From: redact(From), To: redact(To), CallStatus });
  const r = new twilio.twiml.VoiceResponse();
  r.say('This call is recorded. By continuing, you consent to recording.');
  if (PIN_SPEAKER || PIN_PRODUCER) {
    const gather = r.gather({ input: 'dtmf', timeout: 6, numDigits: 4, action: `${BASE}/check-pin` });
    gather.say('Enter your four digit PIN, then press pound.');
    r.say('No input received. Goodbye.');
    r.hangup();
  } else {
    conference(r, false);
  }
  twiml(res, r);
});

app.post('/check-pin', form, fromTwilio, (req, res) => {
  const { CallSid, Digits } = req.body;
  if (!isSid(CallSid, 'CA')) return res.status(400).type('text').send('Bad Request\n');
  const r = new twilio.twiml.VoiceResponse();
  if (PIN_PRODUCER && Digits === PIN_PRODUCER) {
    log('pin.producer', { CallSid, role: 'producer' });
    r.say('Joining as a producer, you are muted on entry.');
    conference(r, true);
  } else if (PIN_SPEAKER && Digits === PIN_SPEAKER) {
    log('pin.speaker', { CallSid, role: 'speaker' });
    r.say('Joining as a speaker.');
    conference(r, false);
  } else {
    log('pin.invalid', { CallSid });
    r.say('Sorry, that PIN is not valid. Goodbye.');
    r.hangup();
  }
  twiml(res, r);
});

app.post('/conf-status', form, fromTwilio, (req, res) => {
  const { StatusCallbackEvent, ConferenceSid, FriendlyName, CallSid, Timestamp } = req.body;
  log(`conf.${String(StatusCallbackEvent ?? 'unknown').replace(/^(participant|conference)-/, '')}`,
    { ConferenceSid, name: FriendlyName, CallSid, Timestamp });
  res.status(204).end();
});

// waitUrl="silence" is relative: Twilio requests /silence while a caller waits alone.
app.post('/silence', form, fromTwilio, (req, res) => {
  const r = new twilio.twiml.VoiceResponse();
  r.pause({ length: 600 });
  twiml(res, r);
});

// Design 2.4 and 7: fetch RecordingUrl + ".mp3" with Basic auth, put it into S3, 200 on success,
// 5xx on failure so that Twilio retries.
app.post('/recording-callback', form, fromTwilio, async (req, res) => {
  const { RecordingSid, RecordingUrl, RecordingStatus, ConferenceSid, RecordingDuration } = req.body;
  if (!isSid(RecordingSid, 'RE') || typeof RecordingUrl !== 'string' ||
      !RecordingUrl.startsWith(`${API_BASE}/`)) {
    return res.status(400).type('text').send('Bad Request\n');
  }
  if (RecordingStatus && RecordingStatus !== 'completed') {
    log('recording.failed', { RecordingSid, status: RecordingStatus });
    return res.status(200).end();
  }
  log('recording.ready', { RecordingSid, url: RecordingUrl });
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const key = `${S3_PREFIX}${stamp}-${RecordingSid}.${RECORDING_FORMAT}`;
  const started = Date.now();
  try {
    const media = await axios.get(`${RecordingUrl}.${RECORDING_FORMAT}`, {
      auth: { username: ACCOUNT_SID, password: AUTH_TOKEN },
      responseType: 'stream',
      timeout: 30000,
      maxRedirects: 5,
    });
    log('s3.put.begin', { key });
    await s3.send(new PutObjectCommand({
      Bucket: env.S3_BUCKET,
      Key: key,
      Body: media.data,
      ContentLength: Number(media.headers['content-length']),
      ContentType: RECORDING_FORMAT === 'wav' ? 'audio/wav' : 'audio/mpeg',
      Metadata: { duration: String(RecordingDuration ?? ''), confsid: String(ConferenceSid ?? '') },
    }));
    log('s3.put.ok', { key, ms: Date.now() - started });
    res.status(200).end();
  } catch (e) {
    log('s3.put.error', { key, reason: e.message });
    res.status(502).type('text').send('Bad Gateway\n');
  }
});

// Design 2.5: a Voice JS access token, 1 h.
app.get('/token', (req, res) => {
  if (!env.TWILIO_API_KEY || !env.TWILIO_API_SECRET) return res.status(404).type('text').send('Not Found\n');
  if (env.APP_BEARER_TOKEN && req.headers.authorization !== `Bearer ${env.APP_BEARER_TOKEN}`) {
    return res.status(401).type('text').send('Unauthorized\n');
  }
  const { AccessToken } = twilio.jwt;
  const identity = `web-${randomBytes(4).toString('hex')}`;
  const token = new AccessToken(ACCOUNT_SID, env.TWILIO_API_KEY, env.TWILIO_API_SECRET, { identity, ttl: 3600 });
  token.addGrant(new AccessToken.VoiceGrant({ outgoingApplicationSid: env.TWILIO_TWIML_APP_SID, incomingAllow: true }));
  log('token.issued', { identity });
  res.set('Cache-Control', 'no-store').json({ identity, token: token.toJwt() });
});

const server = app.listen(PORT, HOST, () => {
  log('http.listen', { host: HOST, port: server.address().port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
