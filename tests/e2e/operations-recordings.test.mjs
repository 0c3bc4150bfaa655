// `partyline recordings list | show SID | retry SID`: the job table, readable, against a
// local-mode service that `partyline simulate` fed one recording.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import { runCommand, startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

describe('partyline recordings', () => {
  let srv;
  after(() => srv?.stop());

  it('list, show and retry a stored recording; an unknown SID is an error', async () => {
    srv = await startServer({ local: true });
    const file = join(srv.dataDir, 'local-credentials.json');
    await waitFor(() => existsSync(file), { timeout: 5000, what: file });
    const creds = JSON.parse(readFileSync(file, 'utf8'));
    const env = { ...srv.env };
    srv.env.TWILIO_AUTH_TOKEN = creds.auth_token; // stopAndCheck: never in stdout

    const sim = await runCommand(['simulate'], env, { timeout: 30000, cwd: srv.dataDir });
    assert.equal(sim.code, 0, sim.stderr);
    const sid = sim.stdout.match(/recording (RE[0-9a-f]{32})/)[1];

    const list = await runCommand(['recordings', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split('\n').find((l) => l.startsWith(sid));
    assert.ok(row, list.stdout);
    assert.match(row, /\bstored\b/);
    assert.match(row, new RegExp(`partyline/\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z-${sid}\\.mp3`));

    const show = await runCommand(['recordings', 'show', sid], env);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^state\s+stored$/m);
    const location = show.stdout.match(/^location\s+(\S+)$/m)[1];
    assert.ok(existsSync(location), location);
    assert.match(show.stdout, /^sha256\s+[0-9a-f]{64}$/m);

    // retry: queued again, the running service copies it again and finds it already there.
    const retry = await runCommand(['recordings', 'retry', sid], env);
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, /queued again \(was stored\)/);
    await srv.waitForLog((l) => l.evt === 'recording.duplicate' && l.RecordingSid === sid, 'recording.duplicate after retry', 15000);
    await waitFor(async () => /^state\s+stored$/m.test((await runCommand(['recordings', 'show', sid], env)).stdout),
      { timeout: 10000, interval: 100, what: 'stored again' });

    const unknown = await runCommand(['recordings', 'show', 'RE' + '0'.repeat(32)], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no recording/);
    await stopAndCheck(srv);
  });
});
