// The console in a real browser (Debian's chromium, driven by playwright-core) against the real
// service and the fake Twilio: sign in through the page, see a caller join within a second of
// Twilio's event, mute them, lock the room, end the conference, sign out. The page must break no
// Content-Security-Policy rule and fetch nothing from another origin.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { launchChromium, newWatchedPage } from './lib/browser.mjs';
import { request, signedPost } from './lib/http.mjs';
import { account, sid, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { freePort, runCommand, startServer, waitFor } from './lib/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, 'artifacts');
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const ROOM = 'partyline';
const WAIT_MS = 5000; // the deadline of every wait not given its own


describe('console in chromium against the service', () => {
  let fake;
  let srv;
  let origin;
  let browser;
  let acct;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    acct = account();
    fake = await startFakeTwilio({ ...acct, conferences: 'any' });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    srv = await startServer({
      env: {
        TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin,
        PORT: String(port), PUBLIC_BASE_URL: origin,
      },
    });
    assert.equal(srv.port, port);
    const add = await runCommand(['users', 'add', USER], srv.env, { stdin: `${PASSWORD}\n` });
    assert.equal(add.code, 0, add.stderr);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
    await fake?.stop();
  });

  async function confStatus(cf, event, callSid, seq, extra = {}) {
    const r = await signedPost(srv, '/conf-status', {
      AccountSid: srv.accountSid, ConferenceSid: cf, StatusCallbackEvent: event, FriendlyName: ROOM,
      SequenceNumber: String(seq), ...(callSid ? { CallSid: callSid } : {}), ...extra,
    });
    assert.equal(r.status, 204, `${event}: ${r.body}`);
  }

  const voice = (callSid, from) => signedPost(srv, '/voice', voiceParams(srv.accountSid, { CallSid: callSid, From: from }));

  // Resolves with the first conference request of the fake Twilio matching `pred`.
  const twilioReceived = (pred, what) => waitFor(() => fake.conferenceRequests().find(pred), { timeout: WAIT_MS, what });

  it('sign in, a join within 1 s, mute, lock, end, sign out: no CSP violation, nothing from elsewhere', async () => {
    const context = await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(WAIT_MS);
    const problems = [];
    const elsewhere = [];
    const unserved = []; // the pages' own files (scripts, styles, images) not served (200, or 304 when cached)
    context.on('request', (req) => {
      if (new URL(req.url()).origin !== origin) elsewhere.push(`${req.method()} ${req.url()}`);
    });
    context.on('response', (res) => {
      const type = res.request().resourceType();
      if (['script', 'stylesheet', 'image', 'font'].includes(type) && ![200, 304].includes(res.status())) {
        unserved.push(`${type} ${new URL(res.url()).pathname}: ${res.status()}`);
      }
    });
    const page = await newWatchedPage(context, problems);
    const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `browser-${name}.png`), fullPage: true });
    const testid = (id) => page.getByTestId(id);
    const room = (attrs) => page.locator(`[data-testid="room-${ROOM}"]${attrs}`);

    try {
      // Sign in through the page: the service sends an unsigned visitor there.
      await page.goto('/console');
      await page.waitForURL((u) => u.origin === origin && u.pathname === '/console/sign-in' && u.searchParams.get('next') === '/console');
      await shot('1-sign-in');
      // Without a session, the sign-in page's own files must load, or its form posts natively.
      assert.deepEqual(unserved, []);
      await testid('sign-in-username').fill(USER);
      await testid('sign-in-password').fill(PASSWORD);
      await testid('sign-in-submit').click();
      await page.waitForURL(`${origin}/console`);
      await testid('room-' + ROOM).waitFor();
      await testid('reconnecting-' + ROOM).waitFor({ state: 'hidden' });
      await room('[data-running="false"][data-locked="false"]').waitFor();
      assert.equal(await testid('state-' + ROOM).textContent(), 'Not running');
      const cookie = (await context.cookies()).find((c) => c.name === 'partyline_session');
      assert.ok(cookie, 'a session cookie');
      await shot('2-signed-in');

      // A caller joins: the row shows within a second of Twilio's event reaching the service.
      const cf = sid('CF');
      const ca = sid('CA');
      assert.equal((await voice(ca, '+15550004321')).status, 200);
      await confStatus(cf, 'conference-start', '', 1);
      const sent = Date.now();
      await confStatus(cf, 'participant-join', ca, 2);
      await testid('participant-' + ca).waitFor({ timeout: 1000 });
      const latency = Date.now() - sent;
      assert.ok(latency < 1000, `${latency} ms`);
      assert.equal(await testid('caller-' + ca).textContent(), '***4321');
      assert.equal(await testid('state-' + ROOM).textContent(), 'Live');
      assert.equal(await testid('participant-' + ca).getAttribute('data-muted'), 'false');
      await shot('3-joined');

      // Mute: Twilio is asked, with the account's credentials; the row waits for Twilio's event.
      await testid('mute-' + ca).click();
      const mute = await twilioReceived(
        (q) => q.method === 'POST' && q.path === `/2010-04-01/Accounts/${acct.accountSid}/Conferences/${cf}/Participants/${ca}.json`,
        'the mute request');
      assert.deepEqual(mute.form, { Muted: 'true' });
      assert.equal(mute.headers.authorization, 'Basic ' + Buffer.from(`${acct.accountSid}:${acct.authToken}`).toString('base64'));
      assert.equal(mute.authOk, true);
      await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.disabled === false, 'mute-' + ca);
      assert.equal(await testid('participant-' + ca).getAttribute('data-muted'), 'false', 'not muted before the event');
      assert.equal(await testid('mute-' + ca).textContent(), 'Mute');
      await shot('4-mute-asked');
      await confStatus(cf, 'participant-mute', ca, 3, { Muted: 'true' });
      await page.locator(`[data-testid="participant-${ca}"][data-muted="true"]`).waitFor();
      assert.equal(await testid('mute-' + ca).textContent(), 'Unmute');
      await shot('5-muted');

      // Lock: the page shows it, and the next caller is turned away.
      await testid('lock-' + ROOM).click();
      await room('[data-locked="true"]').waitFor();
      assert.equal(await testid('locked-' + ROOM).textContent(), 'Locked');
      assert.equal(await testid('lock-' + ROOM).textContent(), 'Unlock');
      const refused = await voice(sid('CA'), '+15550008765');
      assert.equal(refused.status, 200);
      assert.match(refused.body, /The line is closed\./);
      await shot('6-locked');

      // End, after the confirmation: Twilio is asked; the room stops on Twilio's event.
      await testid('end-' + ROOM).click();
      await testid('confirm-dialog').waitFor();
      assert.match(await testid('confirm-dialog').textContent(), /End the conference in partyline for everyone\?/);
      await shot('7-confirm-end');
      await testid('confirm-ok').click();
      const end = await twilioReceived(
        (q) => q.method === 'POST' && q.path === `/2010-04-01/Accounts/${acct.accountSid}/Conferences/${cf}.json`,
        'the end request');
      assert.deepEqual(end.form, { Status: 'completed' });
      assert.equal(end.authOk, true);
      await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.disabled === false, 'end-' + ROOM);
      assert.equal(await testid('state-' + ROOM).textContent(), 'Live', 'still live before the event');
      await confStatus(cf, 'conference-end', '', 4);
      await room('[data-running="false"]').waitFor();
      await testid('no-participants-' + ROOM).waitFor();
      assert.equal(await testid('state-' + ROOM).textContent(), 'Not running');
      await shot('8-ended');

      // Sign out: back to the sign-in page, and the old cookie opens nothing.
      await testid('sign-out').click();
      await page.waitForURL(`${origin}/console/sign-in`);
      await testid('sign-in-form').waitFor();
      await shot('9-signed-out');
      const old = await request(srv.port, { path: '/api/rooms', headers: { Cookie: `partyline_session=${cookie.value}` } });
      assert.equal(old.status, 401, old.body);

      assert.deepEqual(problems, []);
      assert.deepEqual(elsewhere, []);
      assert.deepEqual(unserved, []);
    } finally {
      await context.close();
    }
  });
});
