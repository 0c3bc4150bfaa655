// Durability: a full DATA_DIR (a small tmpfs) and SIGKILLs during `partyline simulate`.
// Local mode (recordings in DATA_DIR/recordings), so nothing but the binary is needed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, mkdtempSync, unlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import { request, signedPost } from './lib/http.mjs';
import { confParams, recordingParams, sid } from './lib/ids.mjs';
import { BIN, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { cpuSeconds, filesUnder, fillDisk, freePort, mountTmpfs, startLocal, TEMP_FILE_RE } from './lib/durability.mjs';

const STORE_ERRORS = new Set(['calls.store_error', 'recordings.worker_error', 'recordings.store_error']);
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// A later request's line proves that every line written before it is out (lines keep their
// order), so what was not logged by then was not logged.
async function allLinesOut(srv) {
  const health = () => srv.logs.filter((l) => l.evt === 'http.request' && l.path === '/health').length;
  const before = health();
  assert.equal((await request(srv.port, { path: '/health' })).status, 200);
  await waitFor(() => health() > before, { what: 'a later request logged' });
}

describe('a full DATA_DIR', () => {
  const cleanups = [];
  after(async () => { for (const f of cleanups.reverse()) await f().catch(() => {}); });

  it('backs off instead of spinning, logs rate-limited, answers 503, and recovers once space returns', { timeout: 180000 }, async (t) => {
    const fs = mountTmpfs('8m');
    if (!fs) return t.skip('cannot mount a tmpfs here (needs root)');
    cleanups.push(async () => fs.unmount());
    const srv = await startLocal({
      dataDir: fs.dir,
      env: { RECORDING_RETRY_MIN: '100ms', RECORDING_RETRY_MAX: '500ms', RECORDING_CALLBACK_WAIT: '0s' },
    });
    cleanups.push(() => srv.stop());
    const media = await startFakeTwilio({ requireAuth: false });
    cleanups.push(() => media.stop());

    const conference = sid('CF');
    let sequence = 0;
    const event = () => signedPost(srv, '/conf-status', confParams(srv.accountSid, 'participant-join',
      { ConferenceSid: conference, SequenceNumber: String(++sequence) }));
    assert.equal((await event()).status, 204);

    // A recording whose media is not there yet: its job stays pending, retrying.
    const p = recordingParams(srv.accountSid, { ConferenceSid: conference });
    p.RecordingUrl = media.recordingUrl(p.RecordingSid, srv.accountSid);
    assert.equal((await signedPost(srv, '/recording-callback', p)).status, 503);
    await srv.waitForLog((l) => l.evt === 'recording.fetch.error' && l.RecordingSid === p.RecordingSid,
      'the job retrying');

    const filler = join(fs.dir, 'filler');
    fillDisk(filler);
    media.addRecording(p.RecordingSid, randomBytes(200 * 1024), { accountSid: srv.accountSid });

    // Twilio keeps sending events: the first one the store cannot keep is answered 503.
    const refused = await waitFor(async () => { const r = await event(); return r.status === 503 && r; },
      { timeout: 10000, interval: 50, what: 'a 503 for an event that cannot be stored' });
    assert.equal(refused.status, 503);
    await srv.waitForLog((l) => l.evt === 'http.request' && l.status === 503 && /disk is full/.test(l.reason ?? ''),
      'the 503 logged with its reason');
    await srv.waitForLog((l) => STORE_ERRORS.has(l.evt), 'a store error line');

    // Over two seconds of a full disk, the service uses a small fraction of a core and writes a
    // few error lines, not thousands.
    const cpu0 = cpuSeconds(srv.proc.pid);
    const lines0 = srv.logs.length;
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) { await event(); await delay(50); }
    const cpu = cpuSeconds(srv.proc.pid) - cpu0;
    const seconds = (Date.now() - t0) / 1000;
    await allLinesOut(srv);
    const errors = srv.logs.slice(lines0).filter((l) => STORE_ERRORS.has(l.evt));
    assert.ok(cpu < 0.25 * seconds, `${cpu} s of CPU in ${seconds} s with a full disk`);
    assert.ok(errors.length <= 6, `${errors.length} store error lines in ${seconds} s:\n${errors.map((l) => JSON.stringify(l)).join('\n')}`);

    // Held-back lines are counted: the next line of the same reason says how many.
    const counted = await waitFor(async () => {
      await event();
      return srv.logs.find((l) => STORE_ERRORS.has(l.evt) && l.suppressed > 0);
    }, { timeout: 40000, interval: 100, what: 'a store error line with a suppressed count' });
    assert.match(counted.reason, /disk is full/);
    await allLinesOut(srv);
    const all = srv.logs.filter((l) => STORE_ERRORS.has(l.evt)).length;
    assert.ok(all <= 30, `${all} store error lines in all`);

    // Space returns: events are kept again, the recording is stored, its report written.
    unlinkSync(filler);
    await waitFor(async () => (await event()).status === 204,
      { timeout: 45000, interval: 100, what: 'an event answered 204 again' });
    await srv.waitForLog((l) => l.evt === 'recording.stored' && l.RecordingSid === p.RecordingSid,
      'recording.stored after the disk has room', 45000);
    const report = await srv.waitForLog((l) => l.evt === 'report.stored' && l.RecordingSid === p.RecordingSid,
      'report.stored', 45000);
    assert.ok(report.participants >= 1, JSON.stringify(report));
    await stopAndCheck(srv);
  });
});

describe('kill -9 during partyline simulate', () => {
  const cleanups = [];
  after(async () => { for (const f of cleanups.reverse()) await f().catch(() => {}); });

  it('every recording is stored once with its report and both participants; no temp files stay', { timeout: 300000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-kill-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const start = () => startLocal({
      dataDir, env: { PORT: String(port), RECORDING_RETRY_MIN: '100ms', RECORDING_RETRY_MAX: '1s' },
    });
    let srv = await start();
    cleanups.push(() => srv.stop());

    // Where each run is killed: after the service logged this (its lines go out within 5 ms).
    const killAfter = ['voice.hit', 'conf.join', 'conf.end', 'recording.ready', 'recording.fetch.ok',
      'local.put.begin', 'local.put.ok', 'recording.stored', 'report.stored', 'conf.leave'];
    const runs = [];
    for (const [i, evt] of killAfter.entries()) {
      const from = srv.logs.length;
      const sim = spawn(BIN, ['simulate'], { env: srv.launchEnv, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      sim.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      sim.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
      const exited = new Promise((res) => sim.on('exit', (code) => res(code)));
      const timer = setTimeout(() => sim.kill('SIGKILL'), 60000);
      cleanups.push(async () => { clearTimeout(timer); sim.kill('SIGKILL'); });

      await waitFor(() => srv.logs.slice(from).some((l) => l.evt === evt),
        { timeout: 20000, what: `run ${i}: ${evt}` });
      await srv.kill();
      srv = await start();
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `run ${i} (killed after ${evt}): simulate exit ${code}\n${out}`);
      runs.push(out.match(/recording (RE[0-9a-f]{32})/)?.[1]);
    }
    assert.equal(runs.filter(Boolean).length, killAfter.length);

    // Every recording gets its report (follow-ups owed before a kill are done after the restart).
    const root = join(dataDir, 'recordings');
    const reports = await waitFor(() => {
      const files = filesUnder(root);
      const mp3 = files.filter((f) => f.endsWith('.mp3'));
      const json = files.filter((f) => f.endsWith('.json'));
      return mp3.length === killAfter.length && json.length === killAfter.length && json;
    }, { timeout: 30000, what: 'a recording and a report per run' });
    for (const recording of runs) {
      const file = reports.find((f) => f.includes(recording));
      assert.ok(file, `no report for ${recording}`);
      const report = JSON.parse(readFileSync(join(root, file), 'utf8'));
      assert.equal(report.recording_sid, recording);
      assert.equal(report.participants.length, 2, `${recording}: ${JSON.stringify(report)}`);
      assert.ok(report.start && report.end, `${recording}: ${JSON.stringify(report)}`);
    }
    const temps = filesUnder(root).filter((f) => TEMP_FILE_RE.test(f));
    assert.deepEqual(temps, [], 'temp files left in DATA_DIR/recordings');
    assert.deepEqual(filesUnder(join(dataDir, 'spool')), [], 'files left in DATA_DIR/spool');
    await stopAndCheck(srv);
  });
});
