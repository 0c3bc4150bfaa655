// Test identifiers and fixed values shared by the test files.
import { randomBytes } from 'node:crypto';

export const PUBLIC_BASE = 'https://calls.example.com';
export const PIN_SPEAKER = '2468';
export const PIN_PRODUCER = '1357';
export const FROM = '+15551234567';
export const TO = '+18005550100';

// Strings that must never occur inside a generated SID, so that scanning the logs for
// PINs and phone-number fragments cannot hit a random SID by chance.
const AVOID = [PIN_SPEAKER, PIN_PRODUCER, '4567', '5551', '0100'];

export function hex(n) {
  for (;;) {
    const h = randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
    if (!AVOID.some((a) => h.includes(a))) return h;
  }
}
export const sid = (prefix) => prefix + hex(32);

// A fresh account: SID and auth token.
export function account() {
  return { accountSid: sid('AC'), authToken: hex(32) };
}

export function voiceParams(accountSid, extra = {}) {
  return {
    CallSid: sid('CA'),
    AccountSid: accountSid,
    From: FROM,
    To: TO,
    CallStatus: 'ringing',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
    ...extra,
  };
}

// A loopback origin where nothing listens: services that must not fetch real media (tests of
// the call flow and of signatures) use it as TWILIO_API_BASE, so no request leaves the machine.
export const DEAD_API_BASE = 'http://127.0.0.1:9';
export const NO_FETCH_ENV = { TWILIO_API_BASE: DEAD_API_BASE, RECORDING_CALLBACK_WAIT: '0s' };

export function recordingParams(accountSid, extra = {}, apiBase = 'https://api.twilio.com') {
  const RecordingSid = sid('RE');
  return {
    AccountSid: accountSid,
    ConferenceSid: sid('CF'),
    RecordingSid,
    RecordingUrl: `${apiBase}/2010-04-01/Accounts/${accountSid}/Recordings/${RecordingSid}`,
    RecordingStatus: 'completed',
    RecordingDuration: '42',
    RecordingChannels: '1',
    RecordingSource: 'Conference',
    RecordingStartTime: 'Sat, 25 Oct 2025 19:17:43 +0000',
    ...extra,
  };
}

export function confParams(accountSid, event, extra = {}) {
  const p = {
    AccountSid: accountSid,
    ConferenceSid: sid('CF'),
    FriendlyName: 'partyline',
    StatusCallbackEvent: event,
    SequenceNumber: '1',
    Timestamp: 'Sat, 25 Oct 2025 19:17:43 +0000',
    ...extra,
  };
  if (event.startsWith('participant-') && !('CallSid' in p)) p.CallSid = sid('CA');
  return p;
}
