// Assertions over everything a server printed on stdout.
import assert from 'node:assert/strict';
import { FROM, TO } from './ids.mjs';

/** Every stdout line is a JSON object with "ts" (UTC ISO-8601, …Z) and "evt". */
export function assertWellFormedLogs(srv) {
  assert.ok(srv.rawLines.length > 0, 'server printed nothing on stdout');
  assert.deepStrictEqual(srv.badLines, [], 'stdout lines that are not JSON objects with ts (…Z) and evt');
}

function* strings(v, key = '') {
  if (typeof v === 'string') yield [key, v];
  else if (Array.isArray(v)) for (const x of v) yield* strings(x, key);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, k);
}

/**
 * No secret appears in stdout: auth token, API secret, bearer token, every X-Twilio-Signature
 * sent, full phone numbers; PIN values in no string field (other than "ts") and in no
 * digit/pin-named field.
 */
export function assertNoSecrets(srv, { pins = [] } = {}) {
  const e = srv.env;
  const secrets = [e.TWILIO_AUTH_TOKEN, e.TWILIO_API_SECRET, e.APP_BEARER_TOKEN].filter((s) => s && s.length >= 6);
  const phones = [FROM, TO].flatMap((p) => [p, p.slice(1), p.slice(2)]); // +1555…, 1555…, 555…
  const text = srv.rawLines.join('\n');
  for (const s of secrets) assert.ok(!text.includes(s), `a secret (${s.slice(0, 4)}…) appears in stdout`);
  // Signatures are 28 base64 characters ("/" possibly escaped as "\/" in JSON): find every such
  // run in the output and look it up, instead of searching the text once per signature.
  for (const m of text.replace(/\\\//g, '/').matchAll(/[A-Za-z0-9+/]{27}=/g)) {
    assert.ok(!srv.sentSignatures.has(m[0]), 'an X-Twilio-Signature value appears in stdout');
  }
  for (const p of phones) assert.ok(!text.includes(p), `full phone number ${p} appears in stdout`);
  for (const obj of srv.logs) {
    for (const [k, v] of strings(obj)) {
      if (k === 'ts') continue;
      for (const pin of pins) assert.ok(!v.includes(pin), `PIN value appears in field ${k}: ${JSON.stringify(obj)}`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (/digit|pin/i.test(k)) {
        for (const pin of pins) assert.ok(!String(v).includes(pin), `PIN value in field ${k}: ${JSON.stringify(obj)}`);
      }
    }
  }
}

/** Stop the server and check exit code 0 on SIGTERM, well-formed stdout and no secrets in it. */
export async function stopAndCheck(srv, { pins = [], timeout = 5000 } = {}) {
  assert.equal(srv.exit, null, `server died during the tests: ${JSON.stringify(srv.exit)}\nstderr:\n${srv.stderrText}`);
  const t0 = Date.now();
  const exit = await srv.stop(timeout);
  assert.deepStrictEqual(exit, { code: 0, signal: null }, `SIGTERM must give exit code 0\nstderr:\n${srv.stderrText}`);
  assert.ok(Date.now() - t0 < timeout, 'SIGTERM took too long');
  assertWellFormedLogs(srv);
  assertNoSecrets(srv, { pins });
}
