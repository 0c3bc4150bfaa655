// X-Twilio-Signature checks on every webhook.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { formBody, signedPost, sign } from './lib/http.mjs';
import { confParams, DEAD_API_BASE, hex, NO_FETCH_ENV, PIN_PRODUCER, PIN_SPEAKER, recordingParams, voiceParams } from './lib/ids.mjs';
import { startServer } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { assertSameTwiml, golden } from './lib/twiml.mjs';

const PINS = { PIN_SPEAKER, PIN_PRODUCER };

// Past the guard: 2xx; the recording callback answers 503 here because its media origin is a
// dead loopback port (the job was accepted; the copy cannot run in this test).
const accepted = (path, status) =>
  (status >= 200 && status < 300) || (path === '/recording-callback' && status === 503);

// path -> params factory
const WEBHOOKS = {
  '/voice': (acc) => voiceParams(acc),
  '/check-pin': (acc) => voiceParams(acc, { Digits: PIN_SPEAKER }),
  '/consent': (acc) => voiceParams(acc, { Digits: '1' }),
  '/conf-status': (acc) => confParams(acc, 'participant-join'),
  '/silence': (acc) => voiceParams(acc, { ConferenceSid: 'CF' + hex(32) }),
  '/recording-callback': (acc) => recordingParams(acc, {}, DEAD_API_BASE),
};

describe('signature validation on every webhook', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { ...PINS, CONSENT_MODE: 'press1', ...NO_FETCH_ENV } }); });
  after(() => srv?.stop());

  for (const [path, make] of Object.entries(WEBHOOKS)) {
    describe(path, () => {
      it('correctly signed -> 2xx', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid));
        assert.ok(accepted(path, r.status), `status ${r.status}: ${r.body}`);
      });

      it('missing X-Twilio-Signature -> 403', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), { signature: null });
        assert.equal(r.status, 403);
      });

      it('garbage signature -> 403', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
        assert.equal(r.status, 403);
      });

      it('signature with one character changed -> 403', async () => {
        const p = make(srv.accountSid);
        const good = sign(srv.authToken, srv.publicBaseUrl + path, p);
        const bad = (good[0] === 'A' ? 'B' : 'A') + good.slice(1);
        const r = await signedPost(srv, path, p, { signature: bad });
        assert.equal(r.status, 403);
      });

      it('signed with another auth token -> 403', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), { token: hex(32) });
        assert.equal(r.status, 403);
      });

      it('signed for http:// instead of https:// -> 403', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), {
          signUrl: srv.publicBaseUrl.replace(/^https:/, 'http:') + path,
        });
        assert.equal(r.status, 403);
      });

      it('signed for another path -> 403', async () => {
        const other = path === '/voice' ? '/check-pin' : '/voice';
        const r = await signedPost(srv, path, make(srv.accountSid), { signUrl: srv.publicBaseUrl + other });
        assert.equal(r.status, 403);
      });

      it('body changed after signing -> 403', async () => {
        const p = make(srv.accountSid);
        const r = await signedPost(srv, path, { ...p, AccountSid: 'AC' + hex(32) }, { signParams: p });
        assert.equal(r.status, 403);
      });

      it('param added after signing -> 403', async () => {
        const p = make(srv.accountSid);
        const r = await signedPost(srv, path, { ...p, Extra: 'x' }, { signParams: p });
        assert.equal(r.status, 403);
      });

      it('signed for the URL with the default port :443 -> accepted', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), {
          signUrl: srv.publicBaseUrl.replace('calls.example.com', 'calls.example.com:443') + path,
        });
        assert.ok(accepted(path, r.status), `status ${r.status}`);
      });

      it('signed for a non-default port :8443 -> 403', async () => {
        const r = await signedPost(srv, path, make(srv.accountSid), {
          signUrl: srv.publicBaseUrl.replace('calls.example.com', 'calls.example.com:8443') + path,
        });
        assert.equal(r.status, 403);
      });
    });
  }

  it('Host header is ignored: Host evil.example.org, signed for PUBLIC_BASE_URL -> 200', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), {
      headers: { Host: 'evil.example.org', 'X-Forwarded-Host': 'evil.example.org', 'X-Forwarded-Proto': 'http' },
    });
    assert.equal(r.status, 200, r.body);
  });

  it('signed for the Host header URL instead of PUBLIC_BASE_URL -> 403', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), {
      headers: { Host: 'evil.example.org' }, signUrl: 'https://evil.example.org/voice',
    });
    assert.equal(r.status, 403);
  });

  it('raw query string is part of the signed URL: POST /voice?foo=1%20a -> 200', async () => {
    const p = voiceParams(srv.accountSid);
    const path = '/voice?foo=1%20a';
    const r = await signedPost(srv, path, p);
    assert.equal(r.status, 200, r.body);
  });

  it('query string not signed (URL signed without it) -> 403', async () => {
    const r = await signedPost(srv, '/voice?foo=1%20a', voiceParams(srv.accountSid), {
      signUrl: srv.publicBaseUrl + '/voice',
    });
    assert.equal(r.status, 403);
  });

  it('query string re-encoded before signing (%20 -> +) -> 403', async () => {
    const r = await signedPost(srv, '/voice?foo=1%20a', voiceParams(srv.accountSid), {
      signUrl: srv.publicBaseUrl + '/voice?foo=1+a',
    });
    assert.equal(r.status, 403);
  });

  it('form values with + % & = and unicode are decoded before signing -> 200', async () => {
    const p = voiceParams(srv.accountSid, { CallerName: 'Zoë 日本 100% & a=b+c' });
    const r = await signedPost(srv, '/voice', p);
    assert.equal(r.status, 200, r.body);
    assert.match(formBody(p), /%25/); // sanity: the body really carries encoded characters
  });

  it('stops cleanly, stdout clean', async () => {
    await stopAndCheck(srv, { pins: [PIN_SPEAKER, PIN_PRODUCER] });
  });
});

describe('PUBLIC_BASE_URL with a path prefix (https://calls.example.com/pl)', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PUBLIC_BASE_URL: 'https://calls.example.com/pl', ...NO_FETCH_ENV } }); });
  after(() => srv?.stop());

  it('POST /voice signed for https://calls.example.com/pl/voice -> 200 with /pl callbacks', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), { signUrl: 'https://calls.example.com/pl/voice' });
    assert.equal(r.status, 200, r.body);
    assertSameTwiml(r.body, golden.voiceNoPin('https://calls.example.com/pl'));
  });

  it('POST /voice signed for https://calls.example.com/voice (prefix missing) -> 403', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), { signUrl: 'https://calls.example.com/voice' });
    assert.equal(r.status, 403);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});
