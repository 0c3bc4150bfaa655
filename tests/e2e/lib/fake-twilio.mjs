// A fake Twilio media server: serves recording media at
// /2010-04-01/Accounts/<AC>/Recordings/<RE>.<ext> behind HTTP Basic auth, and records every request.
// With requireAuth: false it is a plain file server (a redirect target or "another origin").
import http from 'node:http';

export async function startFakeTwilio({ accountSid, authToken, requireAuth = true } = {}) {
  const expected = requireAuth ? 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64') : null;
  const routes = new Map(); // path -> { body, contentType, notReady, redirect, status }
  const requests = [];      // { method, path, headers, status }

  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, headers: { ...req.headers }, status: 0 };
    requests.push(entry);
    const answer = (status, headers = {}, body) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    req.resume();
    if (expected && req.headers.authorization !== expected) {
      return answer(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="Twilio API"' },
        '{"code":20003,"message":"Authenticate","status":401}');
    }
    const r = routes.get(req.url.split('?')[0]);
    if (!r || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return answer(404, { 'Content-Type': 'application/json' }, '{"code":20404,"status":404}');
    }
    if (r.notReady > 0) {
      r.notReady--;
      return answer(404, { 'Content-Type': 'application/json' }, '{"code":20404,"status":404}');
    }
    if (r.redirect) return answer(302, { Location: r.redirect, 'Content-Length': 0 });
    return answer(200, { 'Content-Type': r.contentType, 'Content-Length': r.body.length },
      req.method === 'HEAD' ? undefined : r.body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;

  const fake = {
    port,
    origin,
    requests,
    /** Serve `body` at `path` (no auth when requireAuth is false). */
    addFile(path, body, { contentType = 'audio/mpeg', notReady = 0, redirect } = {}) {
      routes.set(path, { body, contentType, notReady, redirect });
      return origin + path;
    },
    /** The RecordingUrl (no extension) for `recordingSid`. */
    recordingUrl(recordingSid, acct = accountSid) {
      return `${origin}/2010-04-01/Accounts/${acct}/Recordings/${recordingSid}`;
    },
    /**
     * Serve `body` at <RecordingUrl>.mp3 (opts.ext: another extension; opts.accountSid: another
     * account in the path; opts.notReady: answer 404 that many times first; opts.redirect: answer
     * 302 to that URL instead). Returns the RecordingUrl.
     */
    addRecording(recordingSid, body, opts = {}) {
      const url = fake.recordingUrl(recordingSid, opts.accountSid ?? accountSid);
      const ext = opts.ext ?? 'mp3';
      fake.addFile(new URL(`${url}.${ext}`).pathname, body, opts);
      return url;
    },
    /** Requests whose path starts with `prefix` (all with no argument). */
    requestsFor(prefix = '') {
      return requests.filter((r) => r.path.startsWith(prefix));
    },
    /** GETs of a recording's media (any extension), answered or not. */
    mediaGets(recordingSid) {
      return requests.filter((r) => r.method === 'GET' && r.path.includes(`/Recordings/${recordingSid}`));
    },
    stop() {
      return new Promise((res) => { server.close(() => res()); server.closeAllConnections?.(); });
    },
  };
  return fake;
}

/** The S3 key the contract expects for the default RecordingStartTime. */
export function expectedKey(prefix, recordingSid, stamp = '2025-10-25T19-17-43Z', ext = 'mp3') {
  return `${prefix}${stamp}-${recordingSid}.${ext}`;
}
