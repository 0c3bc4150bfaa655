// The console's JSON API as the black-box tests call it.
import { request } from './http.mjs';

/** `method path` with a cookie and a JSON body; the answer with its body parsed (`json`) when JSON. */
export async function api(srv, method, path, { cookie, body, headers = {} } = {}) {
  const h = { ...headers };
  if (cookie) h.Cookie = cookie;
  let b;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    b = JSON.stringify(body);
  }
  const r = await request(srv.port, { method, path, headers: h, body: b });
  let json;
  try { json = JSON.parse(r.body); } catch { json = undefined; }
  return { ...r, json };
}
