// A stand-in for Twilio's media endpoint, for bench/copy/run: serves
// GET /2010-04-01/Accounts/<ACCOUNT_SID>/Recordings/<name> from DIR/<name> behind HTTP Basic auth,
// streamed from disk (fs.createReadStream), so that the server itself stays small and fast.
//   node media-server.mjs DIR ACCOUNT_SID AUTH_TOKEN PORT_FILE
// Listens on 127.0.0.1:<free port> and writes the port to PORT_FILE once listening.
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { basename, join } from 'node:path';

const [dir, accountSid, authToken, portFile] = process.argv.slice(2);
if (!portFile) {
  console.error('usage: node media-server.mjs DIR ACCOUNT_SID AUTH_TOKEN PORT_FILE');
  process.exit(2);
}
const expected = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
const prefix = `/2010-04-01/Accounts/${accountSid}/Recordings/`;

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  req.resume();
  if (req.headers.authorization !== expected) {
    res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
    return answer(res, 401, '{"code":20003,"message":"Authenticate","status":401}');
  }
  const path = decodeURIComponent(req.url.split('?')[0]);
  const name = path.slice(prefix.length);
  if (req.method !== 'GET' || !path.startsWith(prefix) || name !== basename(name) || name.startsWith('.')) {
    return answer(res, 404, '{"code":20404,"status":404}');
  }
  const file = join(dir, name);
  let size;
  try {
    size = statSync(file).size;  // follows the per-run symlink to the data file
  } catch {
    return answer(res, 404, '{"code":20404,"status":404}');
  }
  res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': size });
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
