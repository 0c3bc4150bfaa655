// /conf-status and /recording-callback.
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { request, signedPost } from './lib/http.mjs';
import { confParams, DEAD_API_BASE, NO_FETCH_ENV, recordingParams, sid } from './lib/ids.mjs';
import { startServer } from './lib/server.mjs';
import { stopAndCheck } from './lib/logcheck.mjs';

const EVENTS = {
  'conference-start': 'conf.start',
  'participant-join': 'conf.join',
  'participant-leave': 'conf.leave',
  'participant-mute': 'conf.mute',
  'participant-unmute': 'conf.unmute',
  'participant-hold': 'conf.hold',
  'conference-end': 'conf.end',
};

describe('POST /conf-status', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(() => srv?.stop());

  let seq = 0;
  for (const [event, evt] of Object.entries(EVENTS)) {
    it(`${event} -> 204 empty body and log evt ${evt}`, async () => {
      const p = confParams(srv.accountSid, event, { SequenceNumber: String(++seq) });
      const r = await signedPost(srv, '/conf-status', p);
      assert.equal(r.status, 204);
      assert.equal(r.body, '');
      await srv.waitForLog((l) => l.evt === evt && l.ConferenceSid === p.ConferenceSid, `${evt} for ${p.ConferenceSid}`);
    });
  }

  it('missing ConferenceSid -> 400', async () => {
    const { ConferenceSid, ...p } = confParams(srv.accountSid, 'conference-start');
    const r = await signedPost(srv, '/conf-status', p);
    assert.equal(r.status, 400);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

describe('POST /recording-callback: invalid requests -> 400 and nothing else', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(() => srv?.stop());

  const cases = {
    'malformed RecordingSid (RE123)': (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingSid: 'RE123', RecordingUrl: p.RecordingUrl.replace(/RE[0-9a-f]{32}$/, 'RE123') };
    },
    'RecordingUrl on another host': (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingUrl: p.RecordingUrl.replace('https://api.twilio.com', 'https://evil.example.com') };
    },
    'RecordingUrl over http://': (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingUrl: p.RecordingUrl.replace('https://', 'http://') };
    },
    "another account's SID in RecordingUrl": (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingUrl: p.RecordingUrl.replace(acc, sid('AC')) };
    },
    'RecordingUrl last segment differs from RecordingSid': (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingUrl: p.RecordingUrl.replace(/RE[0-9a-f]{32}$/, sid('RE')) };
    },
    'RecordingUrl with a path traversal': (acc) => {
      const p = recordingParams(acc);
      return { ...p, RecordingUrl: p.RecordingUrl.replace('/Recordings/', '/Recordings/../../x/') };
    },
    'missing RecordingUrl': (acc) => {
      const { RecordingUrl, ...p } = recordingParams(acc);
      return p;
    },
    'missing RecordingSid': (acc) => {
      const { RecordingSid, ...p } = recordingParams(acc);
      return p;
    },
  };
  for (const [name, make] of Object.entries(cases)) {
    it(name, async () => {
      const p = make(srv.accountSid);
      const r = await signedPost(srv, '/recording-callback', p);
      assert.equal(r.status, 400, r.body);
    });
  }

  it('no recording.ready was logged for any of them', async () => {
    // A later request's line proves every line of the requests above is out (4xx lines are
    // rate-limited per reason, so they cannot be counted), then check.
    const health = () => srv.logs.filter((l) => l.evt === 'http.request' && l.path === '/health').length;
    const before = health();
    assert.equal((await request(srv.port, { path: '/health' })).status, 200);
    await srv.waitForLog(() => health() > before, 'the later request logged');
    assert.equal(srv.logs.filter((l) => l.evt === 'recording.ready').length, 0);
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});

// Past validation the job is recorded durably; its copy is the pipeline's (recordings*.test.mjs).
// Here the media origin is a dead loopback port, so the answer is 503 (not stored yet).
describe('POST /recording-callback: a valid request is accepted as a job', () => {
  let srv;
  before(async () => { srv = await startServer({ env: NO_FETCH_ENV }); });
  after(() => srv?.stop());

  it('-> recording.ready with the RecordingSid, then 503 while the media is unreachable', async () => {
    const p = recordingParams(srv.accountSid, {}, DEAD_API_BASE);
    const r = await signedPost(srv, '/recording-callback', p);
    assert.equal(r.status, 503, r.body);
    await srv.waitForLog((l) => l.evt === 'recording.ready' && l.RecordingSid === p.RecordingSid, 'recording.ready');
    await srv.waitForLog((l) => l.evt === 'recording.fetch.error' && l.RecordingSid === p.RecordingSid, 'recording.fetch.error');
  });

  it('stops cleanly, stdout clean', async () => { await stopAndCheck(srv); });
});
