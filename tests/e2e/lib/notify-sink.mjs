// A small HTTP server that receives RECORDING_NOTIFY_URL notices (POST, JSON) and keeps them.
import http from 'node:http';

/** opts.status: the answer to give (default 204). Returns { url, notices, requests, stop() }. */
export async function startNotifySink({ status = 204, path = '/hooks/recordings' } = {}) {
  const notices = [];  // parsed JSON bodies of well-formed POSTs to `path`
  const requests = []; // { method, path, headers, body }
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, path: req.url, headers: { ...req.headers }, body });
      if (req.method === 'POST' && req.url === path) {
        try { notices.push(JSON.parse(body)); } catch { /* kept in requests only */ }
      }
      res.writeHead(status);
      res.end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}${path}`,
    notices,
    requests,
    stop() {
      return new Promise((r) => { server.close(() => r()); server.closeAllConnections?.(); });
    },
  };
}
