// Operations (issue 6): `partyline check` tests the configuration for real (fake Twilio account
// fetch, a probe object in the loopback S3, DATA_DIR, PUBLIC_BASE_URL), prints one PASS/FAIL line
// per part and a summary, exits 0 only when all pass, and never prints a secret. One Swift.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { account, hex, PUBLIC_BASE } from './lib/ids.mjs';
import { runCommand } from './lib/server.mjs';
import { startSwift, serviceEnv } from './lib/swift.mjs';
import { startFakeTwilio } from './lib/fake-twilio.mjs';
import { startHttpProxy } from './lib/http-proxy.mjs';
import { S3_SECRET, listKeys, waitForListing } from './lib/s3.mjs';

const BUCKET = `pl-ops-chk-${hex(8)}`;
const PARTS = ['Configuration', 'DATA_DIR', 'PUBLIC_BASE_URL', 'Twilio credentials', 'S3', 'Retention'];

/** The table: { rows: Map name -> { status, detail }, summary, lines }; fails on any other line. */
function parseTable(stdout) {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length >= 2, `check printed too little:\n${stdout}`);
  const rows = new Map();
  for (const line of lines.slice(0, -1)) {
    const m = /^(.+?)\s{2,}(PASS|WARN|FAIL)(?:\s{2,}(.*))?$/.exec(line);
    assert.ok(m, `not a "<name>  PASS|WARN|FAIL  <detail>" line: ${JSON.stringify(line)}\n${stdout}`);
    assert.ok(!rows.has(m[1].trim()), `${m[1]} twice`);
    rows.set(m[1].trim(), { status: m[2], detail: m[3] ?? '' });
  }
  return { rows, summary: lines.at(-1), lines };
}

describe('operations: partyline check', () => {
  let swift;
  let proxy;
  const cleanups = [];
  before(async () => {
    swift = await startSwift({ buckets: [BUCKET] });
    proxy = await startHttpProxy(swift.port);
  });
  after(async () => {
    for (const f of cleanups.reverse()) await f().catch(() => {});
    await proxy?.stop();
    await swift?.stop();
  });

  /** A good set-up (through the recording S3 proxy), with `extra` overriding. */
  async function setup(name, extra = {}) {
    const acct = account();
    const fake = await startFakeTwilio(acct);
    cleanups.push(() => fake.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const prefix = `${name}-${hex(8)}/`;
    const env = {
      PATH: process.env.PATH || '/usr/bin:/bin',
      DATA_DIR: dataDir,
      PUBLIC_BASE_URL: PUBLIC_BASE,
      ...serviceEnv({ acct, fake, s3Endpoint: proxy.endpoint, bucket: BUCKET, prefix }),
    };
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete env[k]; else env[k] = v;
    }
    return { acct, fake, prefix, env, dataDir };
  }

  async function check(ctx, secrets = []) {
    const r = await runCommand(['check'], ctx.env, { timeout: 30000 });
    assert.equal(r.timedOut, false, 'check did not finish');
    const out = r.stdout + r.stderr;
    for (const s of [ctx.acct.authToken, S3_SECRET, ...secrets]) {
      assert.ok(!out.includes(s), `a secret (${s.slice(0, 3)}…) appears in the check output:\n${out}`);
    }
    return { ...r, ...parseTable(r.stdout) };
  }

  // Without RETENTION_DAYS, and Swift keeping no lifecycle rule, Retention is a warning.
  function assertRows(r, failing, warning = ['Retention']) {
    assert.deepStrictEqual([...r.rows.keys()], PARTS, `the parts, in order:\n${r.stdout}`);
    for (const name of PARTS) {
      const want = failing.includes(name) ? 'FAIL' : warning.includes(name) ? 'WARN' : 'PASS';
      assert.equal(r.rows.get(name).status, want, `${name}: ${r.rows.get(name).status} ${r.rows.get(name).detail}\n${r.stdout}\n${r.stderr}`);
    }
  }

  it('a good set-up: every line PASS, exit 0; the account fetched; the probe object written, read back, deleted', async () => {
    const ctx = await setup('good');
    const before = proxy.requests.length;
    const r = await check(ctx);
    assertRows(r, []);
    assert.equal(r.summary, `check passed: ${PARTS.length} passed, 0 failed`, r.stdout);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);

    const acctFetch = ctx.fake.requests.filter((q) => q.method === 'GET' && q.path === `/2010-04-01/Accounts/${ctx.acct.accountSid}.json`);
    assert.equal(acctFetch.length, 1, JSON.stringify(ctx.fake.requests.map((q) => q.path)));
    assert.equal(acctFetch[0].status, 200);
    // The probe: one key under S3_PREFIX, PUT then GET then DELETE, and gone afterwards.
    const s3 = proxy.requests.slice(before).filter((q) => q.path.split('?')[0].startsWith(`/${BUCKET}/${ctx.prefix}`));
    const probeKeys = new Set(s3.map((q) => q.path.split('?')[0]));
    assert.equal(probeKeys.size, 1, `probe object paths: ${JSON.stringify([...probeKeys])}`);
    const methods = s3.filter((q) => q.method !== 'HEAD').map((q) => `${q.method} ${q.status}`);
    assert.deepStrictEqual(methods.filter((m) => /^(PUT|GET|DELETE) 2\d\d$/.test(m)).map((m) => m.split(' ')[0]),
      ['PUT', 'GET', 'DELETE'], JSON.stringify(s3));
    // The DELETE was answered 2xx above; the container listing follows it a little later.
    const empty = (keys) => keys.length === 0;
    assert.deepStrictEqual(await waitForListing(() => listKeys(swift.client, BUCKET, ctx.prefix), empty,
      { what: 'the probe object gone from the listing' }), [], 'the probe object is still there');
    assert.deepStrictEqual(await waitForListing(() => listKeys(swift.client, BUCKET, ''), empty,
      { what: 'an empty bucket listing' }), [], 'check left objects in the bucket');
    // check tests and leaves nothing: no database, no credentials, no spool in DATA_DIR.
    assert.deepStrictEqual(readdirSync(ctx.dataDir), [], 'check left files in DATA_DIR');
  });

  it('Retention: WARN without RETENTION_DAYS and without a lifecycle rule, PASS with RETENTION_DAYS', async () => {
    const ctx = await setup('retention');
    const warned = await check(ctx);
    assert.match(warned.rows.get('Retention').detail, /RETENTION_DAYS not set/, warned.stdout);
    assert.equal(warned.code, 0, 'a warning is not a failure');
    // The bucket's lifecycle was asked for (GET ?lifecycle on the bucket itself).
    assert.ok(proxy.requests.some((q) => q.method === 'GET' && q.path === `/${BUCKET}?lifecycle` ||
      q.method === 'GET' && q.path === `/${BUCKET}?lifecycle=`), JSON.stringify(proxy.requests.map((q) => q.path).slice(-5)));
    ctx.env.RETENTION_DAYS = '30';
    const kept = await check(ctx);
    assertRows(kept, [], []);
    assert.match(kept.rows.get('Retention').detail, /older than 30 days are deleted/);
    const local = await runCommand(['check'], { PATH: process.env.PATH || '/usr/bin:/bin', DATA_DIR: ctx.dataDir },
      { timeout: 30000 });
    const t = parseTable(local.stdout);
    assert.equal(t.rows.get('Retention').status, 'WARN', local.stdout);
    assert.match(t.rows.get('Retention').detail, /kept forever/);
  });

  it('a DATA_DIR not there yet: PASS (the service creates it), and check does not create it', async () => {
    const ctx = await setup('nodir');
    const dataDir = join(ctx.dataDir, 'not', 'yet');
    ctx.env.DATA_DIR = dataDir;
    const r = await check(ctx);
    assertRows(r, []);
    assert.match(r.rows.get('DATA_DIR').detail, /does not exist yet; the service creates it/);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.equal(existsSync(join(ctx.dataDir, 'not')), false, 'check created DATA_DIR');
  });

  it('local mode on an empty DATA_DIR: credentials and storage are not created by check', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'partyline-e2e-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const r = await runCommand(['check'], { PATH: process.env.PATH || '/usr/bin:/bin', DATA_DIR: dataDir },
      { timeout: 30000 });
    const t = parseTable(r.stdout);
    assert.equal(t.rows.get('DATA_DIR').status, 'PASS', r.stdout);
    assert.equal(t.rows.get('Storage (local)').status, 'PASS', r.stdout);
    assert.equal(t.rows.get('Twilio credentials').status, 'FAIL', r.stdout);
    assert.deepStrictEqual(readdirSync(dataDir), [], 'check left files in DATA_DIR');
  });

  it('wrong auth token: "Twilio credentials" FAIL (401), the rest PASS, exit 1; the token never printed', async () => {
    const ctx = await setup('badtok');
    const wrong = hex(32);
    ctx.env.TWILIO_AUTH_TOKEN = wrong;
    const r = await check(ctx, [wrong]);
    assertRows(r, ['Twilio credentials']);
    assert.match(r.rows.get('Twilio credentials').detail, /401/, r.stdout);
    assert.equal(r.summary, `check failed: ${PARTS.length - 1} passed, 1 failed`, r.stdout);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(ctx.fake.requests.at(-1)?.status, 401);
  });

  it('wrong S3 secret: "S3" FAIL, the rest PASS, exit 1; the secret never printed', async () => {
    const ctx = await setup('bads3');
    const wrong = `wrong-${hex(20)}`;
    ctx.env.AWS_SECRET_ACCESS_KEY = wrong;
    const r = await check(ctx, [wrong]);
    assertRows(r, ['S3']);
    assert.match(r.rows.get('S3').detail, /403/, r.stdout);
    assert.equal(r.summary, `check failed: ${PARTS.length - 1} passed, 1 failed`, r.stdout);
    assert.equal(r.code, 1, r.stdout);
    assert.deepStrictEqual(await listKeys(swift.client, BUCKET, ctx.prefix), []);
  });

  it('http:// PUBLIC_BASE_URL: "PUBLIC_BASE_URL" FAIL, exit 1', async () => {
    const ctx = await setup('http', { PUBLIC_BASE_URL: 'http://calls.example.com' });
    const r = await check(ctx);
    assertRows(r, ['PUBLIC_BASE_URL']);
    assert.equal(r.summary, `check failed: ${PARTS.length - 1} passed, 1 failed`, r.stdout);
    assert.equal(r.code, 1, r.stdout);
  });

  it('all three broken at once: each named, exit 1, no secret printed', async () => {
    const ctx = await setup('all3');
    const tok = hex(32);
    const sec = `wrong-${hex(20)}`;
    Object.assign(ctx.env, { TWILIO_AUTH_TOKEN: tok, AWS_SECRET_ACCESS_KEY: sec, PUBLIC_BASE_URL: 'http://calls.example.com' });
    const r = await check(ctx, [tok, sec]);
    assertRows(r, ['PUBLIC_BASE_URL', 'Twilio credentials', 'S3']);
    assert.equal(r.summary, `check failed: ${PARTS.length - 3} passed, 3 failed`, r.stdout);
    assert.equal(r.code, 1);
  });
});
