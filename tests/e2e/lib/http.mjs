// Minimal HTTP client on node:http (lets us set Host, stream big bodies, read early answers).
import http from 'node:http';
import net from 'node:net';
import twilio from 'twilio';

export function request(port, { method = 'GET', path = '/', headers = {}, body, agent, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const h = { ...headers };
    if (buf && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['Content-Length'] = buf.length;
    let answered = false;
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: h, agent: agent ?? false, ...(localAddress ? { localAddress } : {}) },
      (res) => {
        answered = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode, headers: res.headers, body: bytes.toString('utf8'), bytes });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(15000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    // The server may answer (e.g. 413) and close before the body is fully written: an EPIPE or
    // ECONNRESET after the answer arrived is expected, one before it is a failure.
    req.on('error', (e) => { if (!answered) reject(e); });
    if (buf) {
      const CHUNK = 64 * 1024;
      let off = 0;
      const pump = () => {
        while (off < buf.length) {
          const piece = buf.subarray(off, off + CHUNK);
          off += piece.length;
          if (!req.write(piece)) { req.once('drain', pump); return; }
        }
        req.end();
      };
      pump();
    } else {
      req.end();
    }
  });
}

export const FORM = 'application/x-www-form-urlencoded';

export function formBody(params) {
  return new URLSearchParams(params).toString();
}

export function sign(authToken, url, params) {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

/**
 * POST a form to `path` on the server, signed the way Twilio would sign it.
 * opts.signUrl: URL to sign (default server.publicBaseUrl + path); opts.token: signing token;
 * opts.signParams: params to sign (default = params); opts.signature: explicit header value
 * (null = no header); opts.headers: extra headers; opts.body: raw body override.
 */
export async function signedPost(server, path, params, opts = {}) {
  const url = opts.signUrl ?? server.publicBaseUrl + path;
  const token = opts.token ?? server.authToken;
  const headers = { 'Content-Type': FORM, ...(opts.headers ?? {}) };
  let signature = opts.signature;
  if (signature === undefined) signature = sign(token, url, opts.signParams ?? params);
  if (signature !== null) {
    headers['X-Twilio-Signature'] = signature;
    server.sentSignatures.add(signature);
  }
  return request(server.port, { method: 'POST', path, headers, body: opts.body ?? formBody(params), agent: opts.agent });
}

/**
 * Send a request that declares a large body over a raw socket, and read the early answer.
 * The headers go first; a server that rejects on Content-Length answers right away, before any
 * body byte is sent (so its close cannot reset the connection under the answer). Only if no
 * answer has come within `headerWait` ms is the body streamed, in chunks, stopping as soon as
 * an answer arrives (write errors after it are expected). Resolves { status, raw }.
 */
export function earlyAnswerRequest(port, { method = 'POST', path = '/', headers = {}, body, headerWait = 1000 }) {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(body);
    const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${buf.length}`, 'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    const sock = net.connect(port, '127.0.0.1');
    let raw = '';
    let off = 0;
    const finish = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      if (m) resolve({ status: Number(m[1]), raw });
      else reject(new Error(`no HTTP answer; got ${JSON.stringify(raw.slice(0, 200))}`));
    };
    const timer = setTimeout(() => { sock.destroy(); finish(); }, 15000);
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      raw += d;
      if (/\r\n\r\n/.test(raw)) { clearTimeout(timer); sock.destroy(); finish(); }
    });
    sock.on('error', () => {}); // EPIPE/ECONNRESET once the server has answered and closed
    sock.on('close', () => { clearTimeout(timer); finish(); });
    const pump = () => {
      if (raw || sock.destroyed) return;
      if (off >= buf.length) return;
      const piece = buf.subarray(off, off + 16 * 1024);
      off += piece.length;
      if (sock.write(piece)) setImmediate(pump); else sock.once('drain', pump);
    };
    sock.write(head, () => { const t = setTimeout(pump, headerWait); sock.once('close', () => clearTimeout(t)); });
  });
}
