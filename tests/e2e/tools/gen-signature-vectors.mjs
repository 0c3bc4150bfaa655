#!/usr/bin/env node
// Writes tests/data/signature_vectors.json from the installed `twilio` npm package.
// Deterministic: fixed inputs only, no randomness, no clock.
// Usage (from tests/e2e, after `npm ci`): node tools/gen-signature-vectors.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import twilio from 'twilio';

const here = dirname(fileURLToPath(import.meta.url));
const e2eDir = resolve(here, '..');
const outFile = resolve(e2eDir, '..', 'data', 'signature_vectors.json');
const require = createRequire(import.meta.url);
const twilioVersion = JSON.parse(
  readFileSync(join(dirname(require.resolve('twilio/package.json')), 'package.json'), 'utf8'),
).version;

const { getExpectedTwilioSignature: sign, validateRequest } = twilio;

const T = '12345';
const TOK = '0123456789abcdef0123456789abcdef'; // 32 hex, like a real auth token
const OTHER = 'fedcba9876543210fedcba9876543210';
const ACC = 'AC' + '0'.repeat(32);
const CA = 'CA' + '3'.repeat(32);

const doc = {
  CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234',
  From: '+12349013030', To: '+18005551212',
};
const v4 = {
  AccountSid: ACC,
  ConferenceSid: 'CF' + '1'.repeat(32),
  RecordingSid: 'RE' + '2'.repeat(32),
  RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACC}/Recordings/RE${'2'.repeat(32)}`,
  RecordingStatus: 'completed',
  RecordingDuration: '42',
  RecordingChannels: '1',
  RecordingSource: 'Conference',
  RecordingStartTime: 'Sat, 25 Oct 2025 19:17:43 +0000',
};
const voice = {
  AccountSid: ACC, ApiVersion: '2010-04-01', CallSid: CA, CallStatus: 'ringing',
  Direction: 'inbound', From: '+15551234567', To: '+18005550100',
};

// [name, auth_token, url, params]
const computeCases = [
  ['twilio.md 1.8 row 1 (Twilio docs example)', T, 'https://mycompany.com/myapp.php?foo=1&bar=2', doc],
  ['twilio.md 1.8 row 2 (twilio-php example)', T, 'https://mycompany.com/myapp.php?foo=1&bar=2',
    { ...doc, Caller: '+14158675309', From: '+14158675309' }],
  ['twilio.md 1.8 row 3 (check-pin)', T, 'https://calls.example.com/check-pin',
    { CallSid: CA, Digits: '9876', From: '+15551230000', To: '+18005550100' }],
  ['twilio.md 1.8 row 4 (recording callback)', T, 'https://calls.example.com/recording-callback', v4],
  ['twilio.md 1.8 row 5 (same, URL with :443)', T, 'https://calls.example.com:443/recording-callback', v4],
  ['typical /voice webhook, 32-hex token', TOK, 'https://calls.example.com/voice', voice],
  ['no params at all', TOK, 'https://calls.example.com/silence', {}],
  ['empty values contribute only their names', TOK, 'https://calls.example.com/check-pin',
    { CallSid: CA, Digits: '', From: '', To: '+18005550100' }],
  ['unicode value (UTF-8 bytes are signed)', TOK, 'https://calls.example.com/voice',
    { CallSid: CA, CallerName: 'Zoë 日本', From: '+15551234567' }],
  ["'+', '%', '&', '=' and spaces in values", TOK, 'https://calls.example.com/voice',
    { CallSid: CA, From: '+15551234567', Note: '100% & more = a+b', Space: ' lead and trail ' }],
  ['keys sorted byte-wise, case-sensitive (upper before lower)', TOK, 'https://calls.example.com/conf-status',
    { b: '2', B: '1', a: '3', A: '4', _x: '5', Z9: '6' }],
  ['URL with a raw query (signed as is)', TOK, 'https://calls.example.com/voice?foo=1%20a&bar=%2B1',
    { CallSid: CA, From: '+15551234567' }],
  ['URL with a path prefix', TOK, 'https://calls.example.com/pl/voice', voice],
  ['non-default port :8443 stays in', TOK, 'https://calls.example.com:8443/voice', voice],
  ['local mode http URL with port', TOK, 'http://127.0.0.1:8080/conf-status',
    { ConferenceSid: 'CF' + 'a'.repeat(32), StatusCallbackEvent: 'conference-start', FriendlyName: 'partyline' }],
  ['another token, same input as the /voice case', OTHER, 'https://calls.example.com/voice', voice],
];

const compute = computeCases.map(([name, auth_token, url, params]) => ({
  name, auth_token, url, params, signature: sign(auth_token, url, params),
}));

const B = 'https://calls.example.com';
const s = (url, params = voice, token = TOK) => sign(token, url, params);
// [name, auth_token, signature, url, params]
const validateCases = [
  ['exact URL', TOK, s(`${B}/voice`), `${B}/voice`, voice],
  ['signed without :443, checked with :443', TOK, s(`${B}/voice`), `${B}:443/voice`, voice],
  ['signed with :443, checked without port', TOK, s(`${B}:443/voice`), `${B}/voice`, voice],
  ['signed with :443 and query, checked without port', TOK, s(`${B}:443/voice?foo=1%20a`), `${B}/voice?foo=1%20a`, voice],
  ['http signed with :80, checked without port', TOK, s('http://calls.example.com:80/voice'), 'http://calls.example.com/voice', voice],
  ['signed for https, checked as http', TOK, s(`${B}/voice`), 'http://calls.example.com/voice', voice],
  ['signed for http, checked as https', TOK, s('http://calls.example.com/voice'), `${B}/voice`, voice],
  ['signed with :8443, checked without the port', TOK, s(`${B}:8443/voice`), `${B}/voice`, voice],
  // Not included: signed WITHOUT a port, checked WITH :8443. twilio-node's validateRequest strips
  // any port (removePort) and so answers true; Partyline keeps a non-default port (twilio.md 1.4).
  ['signed with :8443, checked with :8443', TOK, s(`${B}:8443/voice`), `${B}:8443/voice`, voice],
  ['signed with another token', TOK, s(`${B}/voice`, voice, OTHER), `${B}/voice`, voice],
  ['extra param added after signing', TOK, s(`${B}/voice`), `${B}/voice`, { ...voice, Digits: '1' }],
  ['param removed after signing', TOK, s(`${B}/voice`), `${B}/voice`, (({ To, ...rest }) => rest)(voice)],
  ['value changed after signing', TOK, s(`${B}/voice`), `${B}/voice`, { ...voice, From: '+15551234568' }],
  ['different path', TOK, s(`${B}/voice`), `${B}/check-pin`, voice],
  ['path prefix dropped', TOK, s(`${B}/pl/voice`), `${B}/voice`, voice],
  ['empty signature', TOK, '', `${B}/voice`, voice],
];

const validate = validateCases.map(([name, auth_token, signature, url, params]) => ({
  name, auth_token, signature, url, params, valid: validateRequest(auth_token, signature, url, params),
}));

const out = {
  generator: 'tests/e2e/tools/gen-signature-vectors.mjs (twilio.getExpectedTwilioSignature / twilio.validateRequest)',
  twilio_version: twilioVersion,
  compute,
  validate,
};
writeFileSync(outFile, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${outFile}: ${compute.length} compute, ${validate.length} validate`);
