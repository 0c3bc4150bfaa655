// Rooms (ROOMS_FILE): start-up validation, the call flow per room and role, the lock, the
// participants, SIGHUP reloads and the recordings' prefixes and reports.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { signedPost } from './lib/http.mjs';
import { voiceParams } from './lib/ids.mjs';
import { runCommand, runExpectExit, startServer } from './lib/server.mjs';
import { findAll, parseTwiml } from './lib/twiml.mjs';

// Two rooms with PINs for the three roles, and a third one reached by its own number.
const ROOMS = `pin_length = 4

[[room]]
name = "alpha"
max_participants = 3
pins = { host = ["1111"], speaker = ["1234"], producer = ["9876"] }

[[room]]
name = "beta"
prefix = "b/"
wait_for_host = true
pins = { host = ["2222"], speaker = ["2345"], producer = ["8765"] }

[[room]]
name = "hotline"
numbers = ["+18005550199"]
`;

function roomsFile(text) {
  const dir = mkdtempSync(join(tmpdir(), 'partyline-rooms-'));
  const file = join(dir, 'rooms.toml');
  writeFileSync(file, text);
  return { dir, file, write: (t) => writeFileSync(file, t), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('rooms: start-up', () => {
  it('a bad ROOMS_FILE ends the start with exit 2 and one line naming the room and the field', async () => {
    const f = roomsFile(ROOMS.replace('pins = { host = ["2222"]', 'pins = { host = ["22222"]'));
    try {
      const r = await runExpectExit({ env: { ROOMS_FILE: f.file } });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.listened, false);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /room "beta"/);
      assert.match(lines[0], /pins/);
    } finally { f.remove(); }
  });

  it('an unknown key is refused the same way', async () => {
    const f = roomsFile(ROOMS.replace('wait_for_host = true', 'wait_for_hots = true'));
    try {
      const r = await runExpectExit({ env: { ROOMS_FILE: f.file } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /room "beta".*wait_for_hots/);
    } finally { f.remove(); }
  });

  it('partyline check has a Rooms row: PASS for a good file, FAIL naming the room for a bad one', async () => {
    const f = roomsFile(ROOMS);
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    try {
      const env = { PATH: process.env.PATH || '/usr/bin:/bin', DATA_DIR: dataDir, ROOMS_FILE: f.file };
      let r = await runCommand(['check'], env);
      assert.match(r.stdout, /^Rooms\s+PASS\s+3 in .*alpha, beta, hotline$/m, r.stdout);
      f.write(ROOMS.replace('max_participants = 3', 'max_participants = 1'));
      r = await runCommand(['check'], env);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^Rooms\s+FAIL\s+.*room "alpha".*max_participants/m, r.stdout);
    } finally { f.remove(); rmSync(dataDir, { recursive: true, force: true }); }
  });
});
