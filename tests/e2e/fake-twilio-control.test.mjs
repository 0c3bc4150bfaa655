// The fake Twilio's conference control resources (Participants, Conference, conference
// Recordings), exercised directly with fetch so that the service's console tests can rely on them:
// answers shaped like Twilio's, every request recorded, failures and silence scriptable.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { account, sid } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';

describe('fake Twilio: conference control', () => {
  const fakes = [];
  after(() => Promise.all(fakes.map((f) => f.stop())));

  async function setup(opts = {}) {
    const acct = account();
    const fake = await startFakeTwilio({ ...acct, ...opts });
    fakes.push(fake);
    const auth = 'Basic ' + Buffer.from(`${acct.accountSid}:${acct.authToken}`).toString('base64');
    const base = `${fake.origin}/2010-04-01/Accounts/${acct.accountSid}`;
    /** One request the way the service sends it (form body, Basic auth unless given). */
    const send = async (method, path, form, { authorization = auth, signal } = {}) => {
      const headers = { Authorization: authorization, Accept: 'application/json' };
      let body;
      if (form) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(form).toString();
      }
      const res = await fetch(base + path, { method, headers, body, signal });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    return { acct, fake, send, base };
  }

  it('mutes, unmutes, holds and removes a declared participant, and records each request', async () => {
    const { acct, fake, send } = await setup();
    const cf = sid('CF');
    const ca = sid('CA');
    fake.addConference(cf, { participants: [ca] });
    const path = `/Conferences/${cf}/Participants/${ca}.json`;

    let r = await send('POST', path, { Muted: 'true' });
    assert.equal(r.status, 200);
    assert.equal(r.body.call_sid, ca);
    assert.equal(r.body.conference_sid, cf);
    assert.equal(r.body.account_sid, acct.accountSid);
    assert.equal(r.body.muted, true);
    assert.equal(r.body.hold, false);
    assert.equal(r.body.status, 'connected');
    assert.deepEqual(fake.conference(cf).participants[ca], { muted: true, hold: false });

    r = await send('POST', path, { Hold: 'true' });
    assert.equal(r.status, 200);
    assert.deepEqual({ muted: r.body.muted, hold: r.body.hold }, { muted: true, hold: true });
    r = await send('POST', path, { Muted: 'false', Hold: 'false' });
    assert.deepEqual(fake.conference(cf).participants[ca], { muted: false, hold: false });

    r = await send('DELETE', path);
    assert.equal(r.status, 204);
    assert.deepEqual(fake.conference(cf).participants, {});
    r = await send('POST', path, { Muted: 'true' });
    assert.equal(r.status, 404, 'a removed participant is gone');

    const seen = fake.conferenceRequests();
    assert.deepEqual(seen.map((q) => [q.method, q.form, q.authOk, q.status]), [
      ['POST', { Muted: 'true' }, true, 200],
      ['POST', { Hold: 'true' }, true, 200],
      ['POST', { Muted: 'false', Hold: 'false' }, true, 200],
      ['DELETE', {}, true, 204],
      ['POST', { Muted: 'true' }, true, 404],
    ]);
    for (const q of seen) assert.equal(q.path, `/2010-04-01/Accounts/${acct.accountSid}${path}`);
    assert.deepEqual(fake.restRequests(), [], 'conference requests are not recording REST requests');
  });

  it('pauses and resumes the recording, then ends the conference', async () => {
    const { fake, send } = await setup();
    const cf = sid('CF');
    const re = sid('RE');
    const ca = sid('CA');
    fake.addConference(cf, { participants: [ca], recording: re });
    const rec = `/Conferences/${cf}/Recordings/Twilio.CURRENT.json`;

    let r = await send('POST', rec, { Status: 'paused' });
    assert.equal(r.status, 200);
    assert.equal(r.body.sid, re, 'Twilio.CURRENT answers with the recording it names');
    assert.equal(r.body.conference_sid, cf);
    assert.equal(r.body.status, 'paused');
    assert.equal(fake.conference(cf).recording, 'paused');
    r = await send('POST', rec, { Status: 'in-progress' });
    assert.equal(r.body.status, 'in-progress');
    assert.equal(fake.conference(cf).recording, 'in-progress');
    r = await send('POST', rec, { Status: 'sideways' });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /Status/);
    r = await send('POST', rec, {});
    assert.equal(r.status, 400);

    r = await send('POST', `/Conferences/${cf}.json`, { Status: 'in-progress' });
    assert.equal(r.status, 400, 'completed is the only Status a conference accepts');
    assert.equal(fake.conference(cf).status, 'in-progress');
    r = await send('POST', `/Conferences/${cf}.json`, { Status: 'completed' });
    assert.equal(r.status, 200);
    assert.equal(r.body.sid, cf);
    assert.equal(r.body.status, 'completed');
    assert.equal(r.body.reason_conference_ended, 'conference-ended-via-api');
    assert.deepEqual(fake.conference(cf), { sid: cf, status: 'completed', participants: {}, recording: 'stopped' });

    // Once ended: its participants and recording are gone; ending it again changes nothing.
    assert.equal((await send('POST', `/Conferences/${cf}/Participants/${ca}.json`, { Muted: 'true' })).status, 404);
    assert.equal((await send('POST', rec, { Status: 'paused' })).status, 404);
    r = await send('POST', `/Conferences/${cf}.json`, { Status: 'completed' });
    assert.equal(r.status, 200);
    assert.deepEqual(fake.conferenceRequests().map((q) => q.form.Status ?? q.form.Muted),
      ['paused', 'in-progress', 'sideways', undefined, 'in-progress', 'completed', 'true', 'paused', 'completed']);
  });

  it('answers 404 in Twilio\'s error JSON for what the test did not declare', async () => {
    const { fake, send } = await setup();
    const cf = sid('CF');
    const known = sid('CA');
    fake.addConference(cf, { participants: [known], recording: false });
    const cases = [
      ['POST', `/Conferences/${sid('CF')}/Participants/${known}.json`, { Muted: 'true' }],
      ['POST', `/Conferences/${cf}/Participants/${sid('CA')}.json`, { Hold: 'true' }],
      ['DELETE', `/Conferences/${cf}/Participants/${sid('CA')}.json`],
      ['POST', `/Conferences/${sid('CF')}.json`, { Status: 'completed' }],
      ['POST', `/Conferences/${cf}/Recordings/Twilio.CURRENT.json`, { Status: 'paused' }],
    ];
    for (const [method, path, form] of cases) {
      const r = await send(method, path, form);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.code, 20404);
      assert.equal(r.body.status, 404);
      assert.match(r.body.message, /^The requested resource \/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Conferences\/.* was not found$/);
    }
    assert.deepEqual(fake.conference(cf).participants, { [known]: { muted: false, hold: false } });
  });

  it('accepts any well-formed conference and participant when started with conferences: any', async () => {
    const { fake, send } = await setup({ conferences: 'any' });
    const cf = sid('CF');
    const ca = sid('CA');
    assert.equal((await send('POST', `/Conferences/${cf}/Participants/${ca}.json`, { Muted: 'true' })).status, 200);
    assert.deepEqual(fake.conference(cf).participants, { [ca]: { muted: true, hold: false } });
    assert.equal((await send('DELETE', `/Conferences/${cf}/Participants/${ca}.json`)).status, 204);
    assert.equal((await send('DELETE', `/Conferences/${cf}/Participants/${ca}.json`)).status, 404,
      'a removed participant stays removed');
    assert.equal((await send('POST', `/Conferences/${cf}/Participants/CA123.json`, { Muted: 'true' })).status, 404);
    assert.equal((await send('POST', `/Conferences/${cf}/Recordings/Twilio.CURRENT.json`, { Status: 'paused' })).status, 200);
  });

  it('refuses a wrong Basic auth with 401 and records that it did not match', async () => {
    const { acct, fake, send } = await setup();
    const cf = sid('CF');
    const ca = sid('CA');
    fake.addConference(cf, { participants: [ca] });
    const wrong = 'Basic ' + Buffer.from(`${acct.accountSid}:not-the-token`).toString('base64');
    const r = await send('POST', `/Conferences/${cf}/Participants/${ca}.json`, { Muted: 'true' }, { authorization: wrong });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 20003);
    const [q] = fake.conferenceRequests();
    assert.equal(q.authOk, false);
    assert.deepEqual(q.form, { Muted: 'true' }, 'the form is recorded even when refused');
    assert.deepEqual(fake.conference(cf).participants[ca], { muted: false, hold: false }, 'nothing changed');
  });

  it('answers a scripted failure once, with its status and Twilio message', async () => {
    const { fake, send } = await setup();
    const cf = sid('CF');
    const ca = sid('CA');
    fake.addConference(cf, { participants: [ca] });
    const path = `/Conferences/${cf}/Participants/${ca}.json`;
    fake.failRest('POST', `/Participants/${ca}.json`, 400, { times: 1, code: 21220, message: 'Invalid call state' });
    fake.failRest('POST', `/Conferences/${cf}.json`, 503, { times: 1, message: 'Service Unavailable' });

    let r = await send('POST', path, { Muted: 'true' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { code: 21220, message: 'Invalid call state', more_info: 'https://www.twilio.com/docs/errors/21220', status: 400 });
    assert.equal(fake.conference(cf).participants[ca].muted, false, 'a failed request changes nothing');
    r = await send('POST', path, { Muted: 'true' });
    assert.equal(r.status, 200, 'only the next request fails');

    r = await send('POST', `/Conferences/${cf}.json`, { Status: 'completed' });
    assert.equal(r.status, 503);
    assert.equal(r.body.message, 'Service Unavailable');
    assert.equal(fake.conference(cf).status, 'in-progress');
    assert.equal((await send('POST', `/Conferences/${cf}.json`, { Status: 'completed' })).status, 200);
  });

  it('holds a scripted request open without answering, and answers the next', async () => {
    const { fake, send } = await setup();
    const cf = sid('CF');
    fake.addConference(cf);
    const rec = `/Conferences/${cf}/Recordings/Twilio.CURRENT.json`;
    fake.hangRest('POST', '/Recordings/Twilio.CURRENT.json');

    const hung = send('POST', rec, { Status: 'paused' }, { signal: AbortSignal.timeout(500) });
    await assert.rejects(hung, (e) => e.name === 'TimeoutError');
    const [q] = fake.conferenceRequests();
    assert.equal(q.status, 0, 'never answered');
    assert.deepEqual(q.form, { Status: 'paused' });
    assert.equal(fake.conference(cf).recording, 'in-progress');

    const r = await send('POST', rec, { Status: 'paused' });
    assert.equal(r.status, 200);
    assert.equal(fake.conference(cf).recording, 'paused');
  });

  it('can hang a recordings REST request too, leaving the others as they were', async () => {
    const { fake, send } = await setup();
    fake.hangRest('GET', '/Recordings.json');
    await assert.rejects(send('GET', '/Recordings.json', null, { signal: AbortSignal.timeout(500) }),
      (e) => e.name === 'TimeoutError');
    const r = await send('GET', '/Recordings.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.recordings, []);
    assert.deepEqual(fake.restRequests().map((q) => q.status), [0, 200]);
  });
});
