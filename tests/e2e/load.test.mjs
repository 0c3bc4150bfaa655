// 20 keep-alive clients x 200 sequential signed POST /voice.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it, before, after } from 'node:test';
import { request, signedPost } from './lib/http.mjs';
import { voiceParams } from './lib/ids.mjs';
import { startServer, waitFor } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

const CLIENTS = 20;
const PER_CLIENT = 200;

describe('load', () => {
  let srv;
  before(async () => { srv = await startServer({ env: { LOG_LEVEL: 'info' } }); });
  after(() => srv?.stop());

  it(`${CLIENTS} clients x ${PER_CLIENT} keep-alive requests all answered 200`, async () => {
    const statuses = new Map();
    const sockets = new Set();
    const client = async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agent.on('free', (s) => sockets.add(s));
      try {
        for (let i = 0; i < PER_CLIENT; i++) {
          const r = await signedPost(srv, '/voice', voiceParams(srv.accountSid), { agent });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      } finally {
        agent.destroy();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    assert.deepStrictEqual(Object.fromEntries(statuses), { 200: CLIENTS * PER_CLIENT });
    // keep-alive really reused connections (far fewer sockets than requests)
    assert.ok(sockets.size <= CLIENTS * 5, `sockets used: ${sockets.size}`);
    const h = await request(srv.port, { path: '/health' });
    assert.equal(h.status, 200);
  });

  it('one http.request line per request', async () => {
    const total = CLIENTS * PER_CLIENT + 1;
    const count = () => srv.logs.filter((l) => l.evt === 'http.request').length;
    await waitFor(() => count() >= total, { timeout: 10000, what: `${total} http.request lines` });
    assert.equal(count(), total);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});
