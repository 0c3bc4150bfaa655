// One http.request line per request, with the right fields; nothing secret on stdout.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { earlyAnswerRequest, FORM, request, sign, signedPost } from './lib/http.mjs';
import { confParams, DEAD_API_BASE, hex, NO_FETCH_ENV, PIN_PRODUCER, PIN_SPEAKER, recordingParams, sid, voiceParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

describe('request logging and redaction', () => {
  let srv;
  const env = {
    PIN_SPEAKER, PIN_PRODUCER,
    TWILIO_API_KEY: sid('SK'), TWILIO_API_SECRET: hex(32), TWILIO_TWIML_APP_SID: sid('AP'),
    APP_BEARER_TOKEN: hex(24),
    ...NO_FETCH_ENV,
  };
  const sent = []; // { method, path, status }
  before(async () => { srv = await startServer({ env }); });
  after(() => srv?.stop());

  async function track(method, path, p) {
    const r = await p;
    sent.push({ method, path, status: r.status });
    return r;
  }

  it('a mix of requests gets the expected statuses', async () => {
    const acc = srv.accountSid;
    const auth = { Authorization: `Bearer ${env.APP_BEARER_TOKEN}` };
    const expect = [
      ['GET', '/health', 200, () => request(srv.port, { path: '/health' })],
      ['POST', '/voice', 200, () => signedPost(srv, '/voice', voiceParams(acc))],
      ['POST', '/check-pin', 200, () => signedPost(srv, '/check-pin', voiceParams(acc, { Digits: PIN_PRODUCER }))],
      ['POST', '/check-pin', 200, () => signedPost(srv, '/check-pin', voiceParams(acc, { Digits: PIN_SPEAKER }))],
      ['POST', '/check-pin', 200, () => signedPost(srv, '/check-pin', voiceParams(acc, { Digits: '0000' }))],
      ['POST', '/conf-status', 204, () => signedPost(srv, '/conf-status', confParams(acc, 'participant-join'))],
      ['POST', '/recording-callback', 503, () => signedPost(srv, '/recording-callback', recordingParams(acc, {}, DEAD_API_BASE))],
      ['POST', '/recording-callback', 400, () => signedPost(srv, '/recording-callback', recordingParams(acc, { RecordingSid: 'RE123' }))],
      ['GET', '/token', 200, () => request(srv.port, { path: '/token', headers: auth })],
      ['GET', '/token', 401, () => request(srv.port, { path: '/token', headers: { Authorization: 'Bearer wrong' } })],
      ['POST', '/voice', 403, () => signedPost(srv, '/voice', voiceParams(acc), { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' })],
      ['POST', '/voice', 415, () => request(srv.port, { method: 'POST', path: '/voice', headers: { 'Content-Type': 'application/json', 'X-Twilio-Signature': sign(srv.authToken, srv.publicBaseUrl + '/voice', {}) }, body: '{}' })],
      ['GET', '/voice', 405, () => request(srv.port, { path: '/voice' })],
      ['GET', '/nope', 404, () => request(srv.port, { path: '/nope' })],
      ['POST', '/voice', 400, () => request(srv.port, { method: 'POST', path: '/voice', headers: { 'Content-Type': FORM, 'X-Twilio-Signature': 'x' }, body: 'a=%4' })],
      ['POST', '/voice', 413, () => earlyAnswerRequest(srv.port, { path: '/voice', headers: { 'Content-Type': FORM, 'X-Twilio-Signature': 'x' }, body: 'a='.padEnd(2 * 1024 * 1024, 'b') })],
    ];
    for (const [method, path, status, send] of expect) {
      const r = await track(method, path, send());
      assert.equal(r.status, status, `${method} ${path}: ${r.body ?? r.raw}`);
    }
  });

  it('exactly one http.request line per request, with method, path, status, integer us', async () => {
    const lines = () => srv.logs.filter((l) => l.evt === 'http.request');
    await waitFor(() => lines().length >= sent.length, { timeout: 5000, what: `${sent.length} http.request lines` });
    const got = lines();
    assert.equal(got.length, sent.length, 'one line per request');
    for (const l of got) {
      assert.equal(typeof l.method, 'string', `method: ${JSON.stringify(l)}`);
      assert.equal(typeof l.path, 'string', `path: ${JSON.stringify(l)}`);
      assert.ok(Number.isInteger(l.status), `status: ${JSON.stringify(l)}`);
      assert.ok(Number.isInteger(l.us) && l.us >= 0, `us: ${JSON.stringify(l)}`);
      if (l.status >= 400 && l.status < 500) {
        assert.equal(typeof l.reason, 'string', `4xx has a reason: ${JSON.stringify(l)}`);
        assert.ok(l.reason.length > 0, `4xx reason non-empty: ${JSON.stringify(l)}`);
      }
    }
    const key = (x) => `${x.method} ${x.path.split('?')[0]} ${x.status}`;
    assert.deepStrictEqual(got.map(key).sort(), sent.map(key).sort());
  });

  it('voice.hit and pin.* events are logged', async () => {
    for (const evt of ['voice.hit', 'pin.producer', 'pin.speaker', 'pin.invalid']) {
      await srv.waitForLog((l) => l.evt === evt, evt);
    }
  });

  it('stops cleanly; no token, secret, PIN, signature or full phone number on stdout', async () => {
    await stopAndCheck(srv, { pins: [PIN_SPEAKER, PIN_PRODUCER] });
  });
});
