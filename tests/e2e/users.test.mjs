// `partyline users add|list|passwd|remove`: console users in DATA_DIR/console.db, passwords read
// from standard input (piped here: one line), exit codes 0 / 1 (no such user, name taken) /
// 2 (bad name, role or password), and no hash ever printed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { runCommand } from './lib/server.mjs';

const HASH_RE = /\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+/g;

describe('partyline users', () => {
  let dataDir;
  let env;
  const file = () => join(dataDir, 'console.db');
  const users = (args, opts) => runCommand(['users', ...args], env, opts);
  // Every Argon2id string in the database file (and its write-ahead log, if one is left).
  const hashesInFile = () => {
    let bytes = readFileSync(file()).toString('latin1');
    if (existsSync(`${file()}-wal`)) bytes += readFileSync(`${file()}-wal`).toString('latin1');
    return new Set(bytes.match(HASH_RE) ?? []);
  };
  const oneLine = (text) => {
    const lines = text.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one line expected: ${JSON.stringify(text)}`);
    return lines[0];
  };

  before(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'partyline-e2e-')), 'data'); // created by the command
    env = { PATH: process.env.PATH || '/usr/bin:/bin', DATA_DIR: dataDir };
  });
  after(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));

  it('adds users to console.db in DATA_DIR (mode 0600), an Argon2id hash and never the password', async () => {
    let r = await users(['add', 'alice', '--role', 'admin'], { stdin: 'first-Secret\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(oneLine(r.stdout), 'alice added (admin)');
    assert.equal(r.stderr, '');
    assert.ok(existsSync(file()), 'console.db in DATA_DIR');
    assert.equal(statSync(file()).mode & 0o777, 0o600);
    assert.equal(hashesInFile().size, 1);
    assert.ok(!readFileSync(file()).includes('first-Secret'), 'the password is not in the file');

    r = await users(['add', 'bob'], { stdin: 'bob-pw' }); // no line end: still one line
    assert.equal(r.code, 0, r.stderr);
    assert.equal(oneLine(r.stdout), 'bob added (producer)');
    assert.equal(hashesInFile().size, 2);
  });

  it('lists name, role and creation time, and never a hash', async () => {
    const r = await users(['list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NAME\s+ROLE\s+CREATED$/);
    assert.match(lines[1], /^alice\s+admin\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.match(lines[2], /^bob\s+producer\s+\d{4}-\d{2}-\d{2}T/);
    assert.equal(lines.length, 3);
    assert.ok(!r.stdout.includes('$argon2') && !r.stdout.includes('Secret'), r.stdout);
    const bare = await users([]); // `users` alone lists too
    assert.equal(bare.code, 0);
    assert.equal(bare.stdout, r.stdout);
  });

  it('refuses a taken name with exit 1 and one line, before reading a password', async () => {
    const before = hashesInFile();
    const r = await users(['add', 'alice']); // stdin is /dev/null: not read
    assert.equal(r.code, 1);
    assert.equal(oneLine(r.stderr), 'partyline users add: user alice exists');
    assert.equal(r.stdout, '');
    assert.deepEqual(hashesInFile(), before);
  });

  it('refuses a bad name, a bad role and an unusable password with exit 2', async () => {
    const cases = [
      [['add', 'bad name'], 'x\n', /bad user name 'bad name': 1 to 64 characters/],
      [['add', 'x'.repeat(65)], 'x\n', /bad user name/],
      [['add', 'carol', '--role', 'owner'], 'x\n', /the role is admin or producer, not 'owner'/],
      [['add', 'carol'], '', /the password is empty/],
      [['add', 'carol'], '\n', /the password is empty/],
      [['add', 'carol'], `${'p'.repeat(1025)}\n`, /longer than 1024 bytes/],
      [['passwd', 'alice'], '\n', /the password is empty/],
    ];
    for (const [args, stdin, message] of cases) {
      const r = await users(args, { stdin });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), message);
      assert.match(r.stderr, new RegExp(`^partyline users ${args[0]}: `));
    }
    const list = await users(['list']);
    assert.ok(!list.stdout.includes('carol'), list.stdout);
  });

  it('takes a password of exactly 1024 bytes (a CR LF line end is not counted)', async () => {
    const r = await users(['add', 'dave'], { stdin: `${'p'.repeat(1024)}\r\n` });
    assert.equal(r.code, 0, r.stderr);
  });

  it('passwd stores a new hash for an existing user only', async () => {
    const before = hashesInFile();
    let r = await users(['passwd', 'alice'], { stdin: 'second-Secret\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(oneLine(r.stdout), /^alice: password changed, 0 sessions ended$/);
    const after = hashesInFile();
    assert.ok([...after].some((h) => !before.has(h)), 'a new hash in the file');

    r = await users(['passwd', 'nobody'], { stdin: 'x\n' });
    assert.equal(r.code, 1);
    assert.equal(oneLine(r.stderr), 'partyline users passwd: no user nobody');
  });

  it('remove deletes the user; a second remove is exit 1', async () => {
    let r = await users(['remove', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(oneLine(r.stdout), 'bob removed');
    r = await users(['remove', 'bob']);
    assert.equal(r.code, 1);
    assert.equal(oneLine(r.stderr), 'partyline users remove: no user bob');
    const list = await users(['list']);
    assert.doesNotMatch(list.stdout, /^bob\s/m);
    assert.match(list.stdout, /^alice\s+admin/m);
  });
});
