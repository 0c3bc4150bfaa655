// The library in a real browser (Debian's chromium, driven by playwright-core) against the real
// service: sign in, open yesterday's session, play its recording (a real WAV the fake Twilio
// served, copied by the service), check its duration, seek, then delete it with the confirmation
// and see it gone. Twice: with the local store (the service serves the file, with byte ranges) and
// with S3 on the loopback Swift (a presigned link the page's Content-Security-Policy must allow).
// No CSP violation, no request to any origin but the service's (and S3's for the audio).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { launchChromium, newWatchedPage } from './lib/browser.mjs';
import { signedPost } from './lib/http.mjs';
import { account, confParams, hex, recordingParams, voiceParams } from './lib/ids.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { headObject } from './lib/s3.mjs';
import { freePort, runCommand, startServer, waitFor } from './lib/server.mjs';
import { serviceEnv, swiftForSuite } from './lib/swift.mjs';
import { sineWav } from './lib/wav.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, 'artifacts');
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const WAIT_MS = 5000; // the deadline of every wait not given its own
const DAY = 24 * 3600 * 1000;
const SECONDS = 3.0;

const rfc2822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');

// A session at `at` with one caller and a WAV recording the service copies; its SIDs.
async function addSession(srv, fake, at, wav) {
  const acct = srv.accountSid;
  const v = voiceParams(acct, { From: '+15550009876' });
  assert.equal((await signedPost(srv, '/voice', v)).status, 200);
  const p = (event, seq, when, extra = {}) => confParams(acct, event, { SequenceNumber: String(seq), Timestamp: rfc2822(when), ...extra });
  const start = p('conference-start', 1, at);
  const conf = start.ConferenceSid;
  for (const q of [start, p('participant-join', 2, at + 1000, { ConferenceSid: conf, CallSid: v.CallSid }),
    p('participant-leave', 3, at + 60000, { ConferenceSid: conf, CallSid: v.CallSid }), p('conference-end', 4, at + 61000, { ConferenceSid: conf })]) {
    assert.equal((await signedPost(srv, '/conf-status', q)).status, 204);
  }
  const r = recordingParams(acct, { ConferenceSid: conf, RecordingStartTime: rfc2822(at), RecordingDuration: '3' });
  r.RecordingUrl = fake.addRecording(r.RecordingSid, wav, { ext: 'wav', contentType: 'audio/wav' });
  assert.equal((await signedPost(srv, '/recording-callback', r)).status, 200);
  return { conf, rec: r.RecordingSid };
}

/**
 * The walk through the page; `mediaOrigin` is where the audio may come from besides the service.
 * Returns the key of the deleted recording (from the page's API), for the caller to check storage.
 */
async function playAndDelete(browser, { origin, mediaOrigin, yesterday, today, name }) {
  const context = await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const elsewhere = [];
  const audioRequests = [];
  context.on('request', (req) => {
    const o = new URL(req.url()).origin;
    if (req.resourceType() === 'media') audioRequests.push({ url: req.url(), range: req.headers().range });
    if (o !== origin && !(o === mediaOrigin && req.resourceType() === 'media')) elsewhere.push(`${req.method()} ${req.url()}`);
  });
  const page = await newWatchedPage(context, problems);
  const shot = (step) => page.screenshot({ path: join(ARTIFACTS, `library-browser-${name}-${step}.png`), fullPage: true });
  const testid = (id) => page.getByTestId(id);
  try {
    await page.goto('/console/sessions');
    await page.waitForURL((u) => u.pathname === '/console/sign-in' && u.searchParams.get('next') === '/console/sessions');
    await testid('sign-in-username').fill(USER);
    await testid('sign-in-password').fill(PASSWORD);
    await testid('sign-in-submit').click();
    await page.waitForURL((u) => u.pathname === '/console/sessions');
    await testid(`session-${today.conf}`).waitFor();
    await testid(`session-${yesterday.conf}`).waitFor();
    await shot('1-list');

    // Yesterday's session: its player, from the service's own audio route.
    await testid(`session-${yesterday.conf}`).click();
    await page.waitForURL((u) => u.searchParams.get('session') === yesterday.conf);
    const audio = testid(`audio-${yesterday.rec}`);
    await audio.waitFor();
    assert.equal(await audio.getAttribute('src'), `/api/recordings/${yesterday.rec}/audio`);
    await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`).readyState >= 1, `audio-${yesterday.rec}`, { timeout: WAIT_MS });
    const duration = await audio.evaluate((a) => a.duration);
    assert.ok(Math.abs(duration - SECONDS) < 0.1, `duration ${duration}`);
    // Press play (the control is the element's own): it plays, time moves on.
    await audio.evaluate((a) => a.play());
    await page.waitForFunction((id) => {
      const a = document.querySelector(`[data-testid="${id}"]`);
      return a.readyState >= 3 && a.currentTime > 0.2 && !a.paused;
    }, `audio-${yesterday.rec}`, { timeout: WAIT_MS });
    await shot('2-playing');
    // Seek: the element lands where asked (a byte range from the store).
    await audio.evaluate((a) => { a.pause(); a.currentTime = 2.0; });
    await page.waitForFunction((id) => {
      const a = document.querySelector(`[data-testid="${id}"]`);
      return !a.seeking && Math.abs(a.currentTime - 2.0) < 0.1;
    }, `audio-${yesterday.rec}`, { timeout: WAIT_MS });
    assert.ok(audioRequests.length >= 1, 'the audio was requested');
    const download = await testid(`download-${yesterday.rec}`).getAttribute('href');
    assert.equal(download, `/api/recordings/${yesterday.rec}/audio?download=1`);

    // Delete: a confirmation first; cancel keeps it, OK deletes.
    await testid(`delete-${yesterday.rec}`).click();
    await testid('confirm-dialog').waitFor({ state: 'visible' });
    await shot('3-confirm');
    await testid('confirm-cancel').click();
    await testid('confirm-dialog').waitFor({ state: 'hidden' });
    assert.equal(await testid(`state-${yesterday.rec}`).textContent().then((t) => /stored/i.test(t)), true);
    await testid(`delete-${yesterday.rec}`).click();
    await testid('confirm-ok').click();
    await page.waitForFunction((id) => {
      const s = document.querySelector(`[data-testid="state-${id}"]`);
      return !s || /deleted/i.test(s.textContent);
    }, yesterday.rec, { timeout: WAIT_MS });
    await shot('4-deleted');
    // Back to the list: yesterday's session is gone, today's stays.
    await testid('back').click();
    await testid(`session-${today.conf}`).waitFor();
    await page.waitForFunction((id) => !document.querySelector(`[data-testid="session-${id}"]`), yesterday.conf, { timeout: WAIT_MS });
    await shot('5-list-after');
    assert.deepEqual(problems, []);
    assert.deepEqual(elsewhere, []);
    return audioRequests;
  } finally {
    await context.close();
  }
}

async function startService(extraEnv, fake, acct) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const srv = await startServer({
    env: {
      TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: acct.authToken, TWILIO_API_BASE: fake.origin,
      RECORDING_FORMAT: 'wav', ...extraEnv, PORT: String(port), PUBLIC_BASE_URL: origin,
    },
  });
  const add = await runCommand(['users', 'add', USER, '--role', 'admin'], srv.env, { stdin: `${PASSWORD}\n` });
  assert.equal(add.code, 0, add.stderr);
  return { srv, origin };
}

let browser;
before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});
after(async () => { await browser?.close(); });

describe('library in chromium: local store', () => {
  let fake, srv, origin;
  before(async () => {
    const acct = account();
    fake = await startFakeTwilio(acct);
    ({ srv, origin } = await startService({}, fake, acct));
  });
  after(async () => { await srv?.stop(); await fake?.stop(); });

  it('sign in, open yesterday\'s session, play, seek, delete with confirmation: gone from the list and the disk', async () => {
    const wav = sineWav(SECONDS);
    const yesterday = await addSession(srv, fake, Date.now() - DAY, wav);
    const today = await addSession(srv, fake, Date.now() - 3600000, wav);
    const requests = await playAndDelete(browser, { origin, mediaOrigin: origin, yesterday, today, name: 'local' });
    assert.ok(requests.some((r) => r.range), `the player asked for byte ranges: ${JSON.stringify(requests)}`);
    await srv.waitForLog((l) => l.evt === 'recording.deleted' && l.RecordingSid === yesterday.rec && l.user === USER, 'recording.deleted');
    const key = (await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === yesterday.rec, 'recording.stored')).key;
    assert.equal(existsSync(join(srv.dataDir, 'recordings', key)), false, 'the file is gone');
  });
});

describe('library in chromium: S3 (loopback Swift, presigned links)', () => {
  const BUCKET = `pl-libb-${hex(8)}`;
  const suite = swiftForSuite({ buckets: [BUCKET] });
  it('the player follows the presigned link (allowed by the page\'s CSP), seeks, and delete removes the object', async () => {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    suite.cleanups.push(() => fake.stop());
    const prefix = `libb-${hex(6)}/`;
    const env = serviceEnv({ acct, fake, s3Endpoint: suite.swift.endpoint, bucket: BUCKET, prefix });
    const { srv, origin } = await startService(env, fake, acct);
    suite.cleanups.push(() => srv.stop());
    const wav = sineWav(SECONDS);
    const yesterday = await addSession(srv, fake, Date.now() - DAY, wav);
    const today = await addSession(srv, fake, Date.now() - 3600000, wav);
    const key = (await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === yesterday.rec, 'recording.stored')).key;
    assert.ok(await headObject(suite.swift.client, BUCKET, key), 'stored in S3');
    const mediaOrigin = new URL(suite.swift.endpoint).origin;
    const requests = await playAndDelete(browser, { origin, mediaOrigin, yesterday, today, name: 's3' });
    assert.ok(requests.some((r) => new URL(r.url).origin === mediaOrigin && r.url.includes('X-Amz-Signature=')),
      `the audio came from the presigned link: ${JSON.stringify(requests.map((r) => r.url.slice(0, 80)))}`);
    await waitFor(async () => (await headObject(suite.swift.client, BUCKET, key)) === null ? true : undefined,
      { timeout: WAIT_MS, what: 'the object deleted from S3' });
  });
});
