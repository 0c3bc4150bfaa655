// An HTTP-level proxy to 127.0.0.1:<target> (e.g. in front of the loopback S3 server) that records
// every request (method, path, status, order) and can rewrite answers: a test sees which S3
// requests the service made, in which order, and can make HEAD lie about an object's size or fail.
// Headers pass through unchanged (Host included, so SigV4 signatures still match), except Expect
// (the proxy answers 100-continue itself).
import http from 'node:http';

/**
 * opts.rewrite({ method, path, status, headers }) is called with each upstream answer, before it
 * is passed on: undefined passes it through; { status, headers } answers with those instead and no
 * body (meant for HEAD).
 * Returns { port, endpoint, requests, stop() }.
 */
export async function startHttpProxy(targetPort, { rewrite } = {}) {
  const requests = []; // { method, path, status, rewritten }, in the order they arrived
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, status: 0, rewritten: false };
    requests.push(entry);
    const headers = { ...req.headers };
    delete headers.expect;
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers,
      agent: false }, (ures) => {
      entry.status = ures.statusCode;
      const change = rewrite?.({ method: req.method, path: req.url, status: ures.statusCode, headers: ures.headers });
      if (change) {
        entry.rewritten = true;
        entry.status = change.status ?? ures.statusCode;
        ures.resume();
        res.writeHead(entry.status, change.headers ?? ures.headers);
        res.end();
        return;
      }
      res.writeHead(ures.statusCode, ures.headers);
      ures.pipe(res);
    });
    up.on('error', (e) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`proxy: ${e.message}\n`);
    });
    req.pipe(up);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    /** Requests whose path (without the query) ends with `suffix`. */
    requestsFor(suffix) {
      return requests.filter((r) => r.path.split('?')[0].endsWith(suffix));
    },
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
