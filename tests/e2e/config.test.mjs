// Configuration errors, local mode, signature validation switch, SIGTERM.
import assert from 'node:assert/strict';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import { request, signedPost, formBody, FORM } from './lib/http.mjs';
import { account, voiceParams } from './lib/ids.mjs';
import { runExpectExit, startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

describe('bad configuration exits with code 2 and names the variable on stderr', () => {
  const acct = account();
  const cases = [
    ['PIN_SPEAKER not digits', { PIN_SPEAKER: '12a' }, /PIN_SPEAKER/],
    ['PIN_SPEAKER == PIN_PRODUCER', { PIN_SPEAKER: '1234', PIN_PRODUCER: '1234' }, /PIN_(SPEAKER|PRODUCER)/],
    ['PORT out of range', { PORT: '99999' }, /PORT/],
    ['TWILIO_ACCOUNT_SID malformed', { TWILIO_ACCOUNT_SID: 'XY123' }, /TWILIO_ACCOUNT_SID/],
    ['CONSENT_MODE unknown', { CONSENT_MODE: 'maybe' }, /CONSENT_MODE/],
    ['PUBLIC_BASE_URL not http(s)', { PUBLIC_BASE_URL: 'ftp://x' }, /PUBLIC_BASE_URL/],
    ['only TWILIO_ACCOUNT_SID set', { TWILIO_ACCOUNT_SID: acct.accountSid, TWILIO_AUTH_TOKEN: undefined }, /TWILIO_(AUTH_TOKEN|ACCOUNT_SID)/],
    ['only TWILIO_AUTH_TOKEN set', { TWILIO_ACCOUNT_SID: undefined, TWILIO_AUTH_TOKEN: acct.authToken }, /TWILIO_(AUTH_TOKEN|ACCOUNT_SID)/],
  ];
  for (const [name, env, re] of cases) {
    it(name, async () => {
      const r = await runExpectExit({ env });
      assert.equal(r.listened, false, 'must not start listening');
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `exactly one stderr line, got:\n${r.stderr}`);
      assert.match(lines[0], re);
      if (env.TWILIO_AUTH_TOKEN) assert.ok(!r.stderr.includes(env.TWILIO_AUTH_TOKEN), 'token echoed on stderr');
    });
  }
});

describe('local mode (no TWILIO_* and no AWS_* variables)', () => {
  let srv;
  after(() => srv?.stop());

  it('starts, logs config.local_mode and writes local-credentials.json (0600)', async () => {
    srv = await startServer({ local: true });
    const line = srv.logs.find((l) => l.evt === 'config.local_mode');
    assert.ok(line, 'config.local_mode line');
    assert.match(JSON.stringify(line), /TWILIO_AUTH_TOKEN|TWILIO_ACCOUNT_SID/, 'lists what is missing for production');
    const file = join(srv.dataDir, 'local-credentials.json');
    await waitFor(() => existsSync(file), { timeout: 5000, what: file });
    assert.equal(statSync(file).mode & 0o777, 0o600, 'file mode 0600');
    const creds = JSON.parse(readFileSync(file, 'utf8'));
    assert.match(creds.account_sid, /^AC[0-9a-fA-F]{32}$/);
    assert.equal(typeof creds.auth_token, 'string');
    assert.ok(creds.auth_token.length >= 16, 'auth_token is long enough');
    assert.equal(creds.public_base_url, `http://127.0.0.1:${srv.port}`);
    // From now on sign with the generated credentials (and check the token never reaches stdout).
    srv.authToken = creds.auth_token;
    srv.env.TWILIO_AUTH_TOKEN = creds.auth_token;
    srv.accountSid = creds.account_sid;
    srv.publicBaseUrl = creds.public_base_url;
  });

  it('accepts a webhook signed with the local token and base URL', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid));
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /<Response/);
  });

  it('rejects an unsigned webhook with 403', async () => {
    const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), { signature: null });
    assert.equal(r.status, 403);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('TWILIO_VALIDATE_SIGNATURE=false', () => {
  let srv;
  after(() => srv?.stop());

  it('accepts unsigned webhooks and warns about it', async () => {
    srv = await startServer({ env: { TWILIO_VALIDATE_SIGNATURE: 'false' } });
    const r = await request(srv.port, {
      method: 'POST', path: '/voice', headers: { 'Content-Type': FORM }, body: formBody(voiceParams(srv.accountSid)),
    });
    assert.equal(r.status, 200, r.body);
    const warn = srv.logs.find((l) => l.evt === 'config.signature_validation_disabled');
    assert.ok(warn, 'config.signature_validation_disabled line');
    assert.equal(warn.level, 'warn');
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('SIGTERM', () => {
  it('exits 0 within a few seconds', async () => {
    const srv = await startServer();
    try {
      const h = await request(srv.port, { path: '/health' });
      assert.equal(h.status, 200);
      const t0 = Date.now();
      const exit = await srv.stop(5000);
      assert.deepStrictEqual(exit, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await srv.stop();
    }
  });
});
