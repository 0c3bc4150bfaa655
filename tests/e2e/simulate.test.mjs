// Local mode (no TWILIO_*, AWS_*, S3_BUCKET): recordings go to DATA_DIR/recordings/<key>, media
// may come from any loopback port; and `partyline simulate` drives a whole call against it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { describe, it, after } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { PIN_SPEAKER, recordingParams, voiceParams } from './lib/ids.mjs';
import { runCommand, startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { startFakeTwilio, expectedKey } from './lib/fake-twilio.mjs';

const KEY_RE = /^recordings\/partyline\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-RE[0-9a-f]{32}\.mp3$/;

/** Start a local-mode service and switch the test's signing to its generated credentials. */
async function startLocal(opts = {}) {
  const srv = await startServer({ local: true, ...opts, env: { RECORDING_RETRY_MIN: '200ms', RECORDING_RETRY_MAX: '1s', ...(opts.env ?? {}) } });
  const file = join(srv.dataDir, 'local-credentials.json');
  await waitFor(() => existsSync(file), { timeout: 5000, what: file });
  const creds = JSON.parse(readFileSync(file, 'utf8'));
  srv.launchEnv = { ...srv.env }; // what `simulate` gets: the service's own environment
  srv.authToken = creds.auth_token;
  srv.env.TWILIO_AUTH_TOKEN = creds.auth_token; // so that stopAndCheck looks for it in stdout
  srv.accountSid = creds.account_sid;
  srv.publicBaseUrl = creds.public_base_url;
  return srv;
}

/** The stored location printed by `simulate`: an absolute path under DATA_DIR/recordings ending in .mp3. */
function printedLocation(out, dataDir) {
  const dir = join(dataDir, 'recordings');
  const m = out.match(/(\/\S+?\.mp3)\b/g) ?? [];
  return m.map((s) => s.replace(/^["'(]+/, '')).find((s) => isAbsolute(s) && resolve(s).startsWith(dir + '/'));
}

describe('local mode: recordings to DATA_DIR/recordings', () => {
  const cleanups = [];
  after(async () => { for (const f of cleanups.reverse()) await f().catch(() => {}); });

  it('a callback with media on a loopback port -> 200, file at DATA_DIR/recordings/<key>, identical', async () => {
    const srv = await startLocal();
    cleanups.push(() => srv.stop());
    const media = await startFakeTwilio({ requireAuth: false });
    cleanups.push(() => media.stop());
    const body = randomBytes(200 * 1024);
    const p = recordingParams(srv.accountSid);
    p.RecordingUrl = media.recordingUrl(p.RecordingSid, srv.accountSid);
    media.addRecording(p.RecordingSid, body, { accountSid: srv.accountSid });
    const r = await signedPost(srv, '/recording-callback', p);
    assert.equal(r.status, 200, r.body);
    const file = join(srv.dataDir, 'recordings', expectedKey('partyline/', p.RecordingSid));
    assert.ok(existsSync(file), `${file} missing`);
    assert.ok(readFileSync(file).equals(body), 'stored bytes differ');
    assert.equal(media.mediaGets(p.RecordingSid).length, 1);
    await stopAndCheck(srv);
  });

  it('libcurl unusable (a broken libcurl.so.4 found first): webhooks answered, the copy fails with a reason, nothing stored', async () => {
    // libcurl is opened on the first transfer (src/net/curl_lazy.cpp): a broken or missing one
    // must cost the copy, with a log line saying what to install, and nothing else.
    const libDir = mkdtempSync(join(tmpdir(), 'partyline-nolibcurl-'));
    cleanups.push(async () => rmSync(libDir, { recursive: true, force: true }));
    writeFileSync(join(libDir, 'libcurl.so.4'), 'not a shared object\n');
    const srv = await startLocal({ env: { LD_LIBRARY_PATH: libDir, RECORDING_CALLBACK_WAIT: '1s' } });
    cleanups.push(() => srv.stop());
    const media = await startFakeTwilio({ requireAuth: false });
    cleanups.push(() => media.stop());
    const p = recordingParams(srv.accountSid);
    p.RecordingUrl = media.recordingUrl(p.RecordingSid, srv.accountSid);
    media.addRecording(p.RecordingSid, randomBytes(1024), { accountSid: srv.accountSid });

    const r = await signedPost(srv, '/recording-callback', p);
    assert.equal(r.status, 503, r.body);
    const failed = await srv.waitForLog((l) => l.evt === 'recording.fetch.error' && l.RecordingSid === p.RecordingSid,
      'recording.fetch.error');
    assert.match(String(failed.reason), /cannot load libcurl\.so\.4 \(install libcurl4\)/, JSON.stringify(failed));
    assert.equal(media.mediaGets(p.RecordingSid).length, 0, 'media fetched without libcurl?');
    assert.ok(!existsSync(join(srv.dataDir, 'recordings', expectedKey('partyline/', p.RecordingSid))));

    const voice = await signedPost(srv, '/voice', voiceParams(srv.accountSid));
    assert.equal(voice.status, 200, voice.body);
    assert.match(voice.body, /<Response>/);
    await stopAndCheck(srv);
  });

  it('a RecordingUrl off loopback -> 400, nothing fetched', async () => {
    const srv = await startLocal();
    cleanups.push(() => srv.stop());
    const rejected = [];
    for (const host of ['192.0.2.10:8080', 'example.com']) {
      const p = recordingParams(srv.accountSid);
      p.RecordingUrl = `http://${host}/2010-04-01/Accounts/${srv.accountSid}/Recordings/${p.RecordingSid}`;
      const r = await signedPost(srv, '/recording-callback', p);
      assert.equal(r.status, 400, `${p.RecordingUrl}: ${r.status} ${r.body}`);
      rejected.push(p.RecordingSid);
    }
    // Then a valid recording through the same service: once its recording.stored line is read,
    // any background work for the rejected ones would have had its chance (and its lines).
    const media = await startFakeTwilio({ requireAuth: false });
    cleanups.push(() => media.stop());
    const ok = recordingParams(srv.accountSid);
    ok.RecordingUrl = media.recordingUrl(ok.RecordingSid, srv.accountSid);
    media.addRecording(ok.RecordingSid, randomBytes(1024), { accountSid: srv.accountSid });
    assert.equal((await signedPost(srv, '/recording-callback', ok)).status, 200);
    await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === ok.RecordingSid, 'recording.stored');
    assert.equal(srv.logs.filter((l) => (l.evt === 'recording.fetch.ok' || l.evt === 'recording.fetch.error') &&
      rejected.includes(l.RecordingSid)).length, 0);
    await stopAndCheck(srv);
  });
});

describe('partyline simulate', () => {
  const cleanups = [];
  after(async () => { for (const f of cleanups.reverse()) await f().catch(() => {}); });

  for (const pins of [false, true]) {
    it(`plays a call${pins ? ' with PIN_SPEAKER set' : ''}; prints the stored location; the file exists`, async () => {
      const srv = await startLocal(pins ? { env: { PIN_SPEAKER } } : {});
      cleanups.push(() => srv.stop());
      const t0 = Date.now();
      const run = await runCommand(['simulate'], srv.launchEnv, { timeout: 30000, cwd: srv.dataDir });
      const out = run.stdout + run.stderr;
      assert.equal(run.timedOut, false, `simulate did not finish in 30 s\n${out}`);
      assert.equal(run.code, 0, `simulate exit ${run.code} ${run.signal}\n${out}`);
      assert.ok(Date.now() - t0 < 30000);
      const loc = printedLocation(out, srv.dataDir);
      assert.ok(loc, `no path under ${srv.dataDir}/recordings/ ending in .mp3 in the output:\n${out}`);
      assert.match(relative(srv.dataDir, loc), KEY_RE);
      assert.ok(existsSync(loc), `${loc} does not exist`);
      assert.ok(statSync(loc).size > 0, `${loc} is empty`);

      // The service saw a whole call: two callers on /voice, conference events, the recording.
      // Its log lines come in batches, after the answers: the recording callback is the last
      // request `simulate` makes, so once its line is read, every earlier line is too.
      await srv.waitForLog((l) => l.evt === 'http.request' && l.path === '/recording-callback' && l.status === 200,
        'the http.request line of the recording callback answered 200');
      const reqs = srv.logs.filter((l) => l.evt === 'http.request');
      assert.ok(reqs.filter((l) => l.path === '/voice' && l.status === 200).length >= 2, 'two /voice requests');
      if (pins) assert.ok(reqs.some((l) => l.path === '/check-pin' && l.status === 200), 'a /check-pin request');
      assert.ok(reqs.some((l) => l.path === '/conf-status'), 'conference events');
      assert.ok(reqs.some((l) => l.path === '/recording-callback' && l.status === 200), 'a recording callback answered 200');
      assert.ok(reqs.every((l) => l.status < 400), `a request failed: ${JSON.stringify(reqs.filter((l) => l.status >= 400))}`);
      await stopAndCheck(srv, { pins: pins ? [PIN_SPEAKER] : [] });
    });
  }

  it('exits non-zero with a message when the service is not running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const srv = await startLocal({ dataDir });
    await stopAndCheck(srv); // local-credentials.json stays, pointing at a port nobody listens on
    assert.ok(existsSync(join(dataDir, 'local-credentials.json')));
    const t0 = Date.now();
    const run = await runCommand(['simulate'], srv.launchEnv, { timeout: 30000, cwd: dataDir });
    const out = (run.stdout + run.stderr).trim();
    assert.equal(run.timedOut, false, 'simulate hung with no service');
    assert.notEqual(run.code, 0, `exit code 0 with no service\n${out}`);
    assert.ok(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms to give up`);
    // A clear message: it names the address it tried, or says what is wrong.
    assert.ok(out.includes(`127.0.0.1:${srv.port}`) || /not running|connect|refused|reach|answer/i.test(out),
      `no clear message: ${JSON.stringify(out)}`);
  });
});
