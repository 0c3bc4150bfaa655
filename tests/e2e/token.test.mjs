// GET /token: Twilio Voice Access Token (JWT HS256).
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, it, before, after } from 'node:test';
import { request } from './lib/http.mjs';
import { hex, sid } from './lib/ids.mjs';
import { startServer } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

const b64urlJson = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

function tokenEnv() {
  return { TWILIO_API_KEY: sid('SK'), TWILIO_API_SECRET: hex(32), TWILIO_TWIML_APP_SID: sid('AP') };
}

describe('GET /token without TWILIO_API_KEY/SECRET', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(() => srv?.stop());

  it('-> 404 with a JSON error', async () => {
    const r = await request(srv.port, { path: '/token' });
    assert.equal(r.status, 404);
    assert.match(r.headers['content-type'] ?? '', /^application\/json\b/);
    assert.ok(JSON.parse(r.body).error, r.body);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('GET /token with an API key', () => {
  let srv;
  const env = tokenEnv();
  before(async () => { srv = await startServer({ env }); });
  after(() => srv?.stop());

  it('-> 200 JSON {identity, token}, Cache-Control: no-store, a valid Voice access token', async () => {
    const r = await request(srv.port, { path: '/token' });
    const now = Math.floor(Date.now() / 1000);
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'] ?? '', /^application\/json\b/);
    assert.match(r.headers['cache-control'] ?? '', /\bno-store\b/);
    const { identity, token } = JSON.parse(r.body);
    assert.equal(typeof identity, 'string');
    assert.ok(identity.startsWith('web-') && identity.length > 4, identity);

    const parts = token.split('.');
    assert.equal(parts.length, 3, 'JWT has three parts');
    const [h, p, s] = parts;
    for (const part of parts) assert.match(part, /^[A-Za-z0-9_-]+$/, 'base64url without padding');
    const header = b64urlJson(h);
    assert.equal(header.alg, 'HS256');
    assert.equal(header.typ, 'JWT');
    assert.equal(header.cty, 'twilio-fpa;v=1');

    const expected = createHmac('sha256', env.TWILIO_API_SECRET).update(`${h}.${p}`).digest();
    const got = Buffer.from(s, 'base64url');
    assert.ok(got.length === expected.length && timingSafeEqual(got, expected), 'HS256 signature with the API secret');

    const payload = b64urlJson(p);
    assert.equal(payload.iss, env.TWILIO_API_KEY);
    assert.equal(payload.sub, srv.accountSid);
    assert.equal(typeof payload.jti, 'string');
    assert.ok(payload.jti.startsWith(env.TWILIO_API_KEY + '-'), payload.jti);
    assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp));
    assert.equal(payload.exp - payload.iat, 3600);
    assert.ok(Math.abs(payload.exp - (now + 3600)) <= 60, 'exp within a minute of now + 3600');
    assert.equal(payload.grants.identity, identity);
    assert.equal(payload.grants.voice.outgoing.application_sid, env.TWILIO_TWIML_APP_SID);
  });

  it('two calls give two different identities', async () => {
    const a = JSON.parse((await request(srv.port, { path: '/token' })).body);
    const b = JSON.parse((await request(srv.port, { path: '/token' })).body);
    assert.notEqual(a.identity, b.identity);
  });

  it('POST /token -> 405', async () => {
    const r = await request(srv.port, { method: 'POST', path: '/token', body: '' });
    assert.equal(r.status, 405);
  });

  it('stops cleanly, stdout clean (no API secret, no token)', async () => { await stopAndCheck(srv); });
});

describe('GET /token with APP_BEARER_TOKEN', () => {
  let srv;
  const env = { ...tokenEnv(), APP_BEARER_TOKEN: 'xyz-' + hex(16) };
  before(async () => { srv = await startServer({ env }); });
  after(() => srv?.stop());

  for (const [name, auth] of [['no Authorization', undefined], ['wrong bearer', 'Bearer wrong'],
    ['bearer with a suffix', `Bearer ${env.APP_BEARER_TOKEN}x`], ['Basic scheme', `Basic ${env.APP_BEARER_TOKEN}`]]) {
    it(`${name} -> 401`, async () => {
      const r = await request(srv.port, { path: '/token', headers: auth ? { Authorization: auth } : {} });
      assert.equal(r.status, 401);
      assert.ok(!r.body.includes('"token"'));
    });
  }

  it('right bearer -> 200 with a token', async () => {
    const r = await request(srv.port, { path: '/token', headers: { Authorization: `Bearer ${env.APP_BEARER_TOKEN}` } });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).token.split('.').length, 3);
  });

  it('stops cleanly, stdout clean (no bearer token)', async () => { await stopAndCheck(srv); });
});
