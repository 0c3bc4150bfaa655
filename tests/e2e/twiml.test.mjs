// TwiML answers of /voice, /check-pin, /consent, /silence (compared as parsed XML with the golden blocks).
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { PIN_PRODUCER, PIN_SPEAKER, voiceParams } from './lib/ids.mjs';
import { startServer } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { assertSameTwiml, findAll, golden, parseTwiml } from './lib/twiml.mjs';

const PINS = { PIN_SPEAKER, PIN_PRODUCER };

function assertTwimlResponse(r) {
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers['content-type'] ?? '', /^text\/xml\b/);
}

async function post(srv, path, extra = {}) {
  const r = await signedPost(srv, path, voiceParams(srv.accountSid, extra));
  assertTwimlResponse(r);
  return r.body;
}

describe('no PIN, no consent gate', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(() => srv?.stop());

  it('POST /voice -> consent <Say> + <Dial><Conference> with absolute callbacks (block 1)', async () => {
    assertSameTwiml(await post(srv, '/voice'), golden.voiceNoPin(srv.publicBaseUrl));
  });

  it('POST /voice logs voice.hit with From redacted to the last 4 digits', async () => {
    await post(srv, '/voice');
    const hit = await srv.waitForLog((l) => l.evt === 'voice.hit', 'voice.hit');
    const key = Object.keys(hit).find((k) => k.toLowerCase() === 'from');
    assert.ok(key, `voice.hit has a From field: ${JSON.stringify(hit)}`);
    const from = String(hit[key]);
    assert.ok(from.endsWith('4567'), `From ends with 4567: ${from}`);
    assert.doesNotMatch(from.slice(0, -4), /\d/, `no other digits of the number: ${from}`);
  });

  it('POST /silence -> <Response> with only <Pause>', async () => {
    const doc = parseTwiml(await post(srv, '/silence'));
    for (const c of doc.children) assert.equal(c.name, 'Pause', `unexpected child in /silence: ${JSON.stringify(c)}`);
    for (const verb of ['Dial', 'Gather', 'Hangup', 'Conference']) assert.equal(findAll(doc, verb).length, 0);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('PIN gate (PIN_SPEAKER and PIN_PRODUCER set)', () => {
  let srv;
  before(async () => { srv = await startServer({ env: PINS }); });
  after(() => srv?.stop());

  it('POST /voice -> consent + <Gather action=B/check-pin> (block 2)', async () => {
    assertSameTwiml(await post(srv, '/voice'), golden.voicePinGate(srv.publicBaseUrl));
  });

  it('POST /check-pin with PIN_PRODUCER -> muted conference (block 3), logs pin.producer', async () => {
    assertSameTwiml(await post(srv, '/check-pin', { Digits: PIN_PRODUCER }), golden.producer(srv.publicBaseUrl));
    await srv.waitForLog((l) => l.evt === 'pin.producer', 'pin.producer');
  });

  it('POST /check-pin with PIN_SPEAKER -> unmuted conference (block 5), logs pin.speaker', async () => {
    assertSameTwiml(await post(srv, '/check-pin', { Digits: PIN_SPEAKER }), golden.speaker(srv.publicBaseUrl));
    await srv.waitForLog((l) => l.evt === 'pin.speaker', 'pin.speaker');
  });

  for (const [name, extra] of [
    ['wrong PIN', { Digits: '0000' }],
    ['PIN + extra digit', { Digits: PIN_SPEAKER + '1' }],
    ['empty Digits', { Digits: '' }],
    ['no Digits', {}],
  ]) {
    it(`POST /check-pin with ${name} -> error + <Hangup/>, no <Dial> (block 6)`, async () => {
      const body = await post(srv, '/check-pin', extra);
      assertSameTwiml(body, golden.invalidPin());
      assert.equal(findAll(parseTwiml(body), 'Dial').length, 0);
    });
  }

  it('logs pin.invalid', async () => {
    await srv.waitForLog((l) => l.evt === 'pin.invalid', 'pin.invalid');
  });

  it('stops cleanly, stdout clean (no PIN digits logged)', async () => {
    await stopAndCheck(srv, { pins: [PIN_SPEAKER, PIN_PRODUCER] });
  });
});

describe('CONSENT_MODE=press1 without PINs', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { CONSENT_MODE: 'press1' } }); });
  after(() => srv?.stop());

  it('POST /voice -> <Gather numDigits=1 action=B/consent> (block 7)', async () => {
    assertSameTwiml(await post(srv, '/voice'), golden.consentGate(srv.publicBaseUrl));
  });

  it('POST /consent Digits=1 -> <Say> then the /voice conference', async () => {
    const doc = parseTwiml(await post(srv, '/consent', { Digits: '1' }));
    assert.equal(doc.children.length, 2, JSON.stringify(doc));
    assert.equal(doc.children[0].name, 'Say');
    const expectedDial = parseTwiml(golden.conferenceOnly(srv.publicBaseUrl)).children[0];
    assert.deepStrictEqual(doc.children[1], expectedDial);
  });

  for (const [name, extra] of [['Digits=2', { Digits: '2' }], ['Digits=11', { Digits: '11' }], ['no Digits', {}]]) {
    it(`POST /consent ${name} -> refusal + <Hangup/>, no <Dial>`, async () => {
      assertSameTwiml(await post(srv, '/consent', extra), golden.noConsent());
    });
  }

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('CONSENT_MODE=press1 with PINs', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { CONSENT_MODE: 'press1', ...PINS } }); });
  after(() => srv?.stop());

  it('POST /voice -> consent gather (block 7)', async () => {
    assertSameTwiml(await post(srv, '/voice'), golden.consentGate(srv.publicBaseUrl));
  });

  it('POST /consent Digits=1 -> PIN gather with action B/check-pin (block 7, second document)', async () => {
    assertSameTwiml(await post(srv, '/consent', { Digits: '1' }), golden.consentThenPin(srv.publicBaseUrl));
  });

  it('POST /consent Digits=9 -> refusal + <Hangup/>', async () => {
    assertSameTwiml(await post(srv, '/consent', { Digits: '9' }), golden.noConsent());
  });

  it('POST /check-pin still works after consent', async () => {
    assertSameTwiml(await post(srv, '/check-pin', { Digits: PIN_SPEAKER }), golden.speaker(srv.publicBaseUrl));
  });

  it('stops cleanly, stdout clean', async () => {
    await stopAndCheck(srv, { pins: [PIN_SPEAKER, PIN_PRODUCER] });
  });
});

describe('PUBLIC_BASE_URL with a path prefix', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PUBLIC_BASE_URL: 'https://calls.example.com/pl', ...PINS } }); });
  after(() => srv?.stop());

  it('callbacks and actions carry the prefix', async () => {
    assert.equal(srv.publicBaseUrl, 'https://calls.example.com/pl');
    assertSameTwiml(await post(srv, '/voice'), golden.voicePinGate('https://calls.example.com/pl'));
    assertSameTwiml(await post(srv, '/check-pin', { Digits: PIN_PRODUCER }), golden.producer('https://calls.example.com/pl'));
  });

  it('stops cleanly, stdout clean', async () => {
    await stopAndCheck(srv, { pins: [PIN_SPEAKER, PIN_PRODUCER] });
  });
});
