// HTTP surface: /health, 404, 405, 415, 400, 413, missing fields; the server survives all of it.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { earlyAnswerRequest, FORM, request, sign, signedPost } from './lib/http.mjs';
import { voiceParams } from './lib/ids.mjs';
import { startServer } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

const WEBHOOKS = ['/voice', '/check-pin', '/consent', '/conf-status', '/silence', '/recording-callback'];
const allow = (r) => (r.headers.allow ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean).sort();

describe('HTTP surface', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { CONSENT_MODE: 'press1' } }); });
  after(() => srv?.stop());

  it('GET /health -> 200 OK', async () => {
    const r = await request(srv.port, { path: '/health' });
    assert.equal(r.status, 200);
    assert.equal(r.body.trim(), 'OK');
  });

  it('HEAD /health -> 200, no body', async () => {
    const r = await request(srv.port, { method: 'HEAD', path: '/health' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  for (const [method, path] of [['GET', '/nope'], ['POST', '/nope'], ['GET', '/voice/extra'], ['GET', '/']]) {
    it(`${method} ${path} -> 404`, async () => {
      const r = await request(srv.port, { method, path, headers: { 'Content-Type': FORM }, body: method === 'POST' ? 'a=b' : undefined });
      assert.equal(r.status, 404);
    });
  }

  for (const path of WEBHOOKS) {
    it(`GET ${path} -> 405, Allow: POST`, async () => {
      const r = await request(srv.port, { path });
      assert.equal(r.status, 405);
      assert.deepStrictEqual(allow(r), ['POST']);
    });
  }

  it('POST /health -> 405, Allow: GET, HEAD', async () => {
    const r = await request(srv.port, { method: 'POST', path: '/health', headers: { 'Content-Type': FORM }, body: 'a=b' });
    assert.equal(r.status, 405);
    assert.deepStrictEqual(allow(r), ['GET', 'HEAD']);
  });

  for (const path of WEBHOOKS) {
    it(`POST ${path} with Content-Type application/json -> 415`, async () => {
      const url = srv.publicBaseUrl + path;
      const r = await request(srv.port, {
        method: 'POST', path,
        headers: { 'Content-Type': 'application/json', 'X-Twilio-Signature': sign(srv.authToken, url, {}) },
        body: JSON.stringify(voiceParams(srv.accountSid)),
      });
      assert.equal(r.status, 415);
    });
  }

  it('POST /voice with Content-Type text/plain -> 415', async () => {
    const r = await request(srv.port, {
      method: 'POST', path: '/voice', headers: { 'Content-Type': 'text/plain', 'X-Twilio-Signature': 'x' }, body: 'CallSid=CA1',
    });
    assert.equal(r.status, 415);
  });

  for (const body of ['CallSid=%ZZ', 'a=%4', 'CallSid=CA%']) {
    it(`malformed form encoding ${JSON.stringify(body)} -> 400`, async () => {
      const r = await request(srv.port, {
        method: 'POST', path: '/voice',
        headers: { 'Content-Type': FORM, 'X-Twilio-Signature': sign(srv.authToken, srv.publicBaseUrl + '/voice', {}) },
        body,
      });
      assert.equal(r.status, 400);
    });
  }

  it('body over 64 KiB (2 MB, with Content-Length) -> 413', async () => {
    const big = 'CallSid=CA' + 'a'.repeat(2 * 1024 * 1024);
    const r = await earlyAnswerRequest(srv.port, {
      method: 'POST', path: '/voice',
      headers: { 'Content-Type': FORM, 'X-Twilio-Signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      body: big,
    });
    assert.equal(r.status, 413, r.raw);
  });

  it('POST /voice signed but without CallSid -> 400', async () => {
    const { CallSid, ...p } = voiceParams(srv.accountSid);
    const r = await signedPost(srv, '/voice', p);
    assert.equal(r.status, 400);
  });

  it('Content-Type with charset is still a form', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    });
    assert.equal(r.status, 200, r.body);
  });

  it('after all of that: GET /health -> 200 and the process is still running', async () => {
    const r = await request(srv.port, { path: '/health' });
    assert.equal(r.status, 200);
    assert.equal(srv.exit, null);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});
