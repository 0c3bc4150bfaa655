// A fake Twilio media server: serves recording media at
// /2010-04-01/Accounts/<AC>/Recordings/<RE>.<ext> behind HTTP Basic auth, and records every request.
// With requireAuth: false it is a plain file server (a redirect target or "another origin").
//
// It also speaks the parts of the REST API the service uses (reference twilio.md §6):
//   GET    /2010-04-01/Accounts/<AC>/Recordings.json   paged (next_page_uri), DateCreated>/< filters
//   DELETE /2010-04-01/Accounts/<AC>/Recordings/<RE>.json   204 (404 when unknown or already deleted)
//   GET    /2010-04-01/Accounts/<AC>.json               the account
// Only recordings added with { listed: true } (or through listRecording) appear in the list, so the
// media-only tests see exactly what they saw before.
import http from 'node:http';

export async function startFakeTwilio({ accountSid, authToken, requireAuth = true, pageSize = 50,
  friendlyName = 'Partyline fake account', accountStatus = 'active' } = {}) {
  const expected = requireAuth ? 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64') : null;
  const routes = new Map(); // path -> { body, contentType, notReady, redirect, cutShort }
  const requests = [];      // { method, path, headers, status }
  const listed = [];        // Twilio recording resources, in the order added
  const deletions = [];     // recording SIDs, in the order the DELETEs succeeded
  const failures = [];      // { method, includes, status, times } scripted REST failures

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
    if (handleRest(req, answer)) return;
    const r = routes.get(req.url.split('?')[0]);
    if (!r || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return answer(404, { 'Content-Type': 'application/json' }, '{"code":20404,"status":404}');
    }
    if (r.notReady > 0) {
      r.notReady--;
      return answer(404, { 'Content-Type': 'application/json' }, '{"code":20404,"status":404}');
    }
    if (r.redirect) return answer(302, { Location: r.redirect, 'Content-Length': 0 });
    if (r.cutShort?.times > 0 && req.method === 'GET') {
      // The full Content-Length, then the connection drops after `after` bytes.
      r.cutShort.times--;
      entry.status = 200;
      res.writeHead(200, { 'Content-Type': r.contentType, 'Content-Length': r.body.length });
      res.write(r.body.subarray(0, r.cutShort.after), () => res.destroy());
      return;
    }
    return answer(200, { 'Content-Type': r.contentType, 'Content-Length': r.body.length },
      req.method === 'HEAD' ? undefined : r.body);
  });

  const json = (answer, status, body) =>
    answer(status, { 'Content-Type': 'application/json' }, JSON.stringify(body));
  const twilioError = (answer, status, code, message) => json(answer, status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  // Answers the REST routes; false for anything else (media and files).
  function handleRest(req, answer) {
    const url = new URL(req.url, 'http://fake');
    const account = `/2010-04-01/Accounts/${accountSid}`;
    const isList = url.pathname === `${account}/Recordings.json`;
    const one = url.pathname.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Recordings\/([^/]+)\.json$/);
    const isAccount = url.pathname === `${account}.json`;
    if (!((req.method === 'GET' && (isList || isAccount)) || (req.method === 'DELETE' && one))) {
      return false;
    }
    const failure = failures.find((f) => f.times > 0 && f.method === req.method && req.url.includes(f.includes));
    if (failure) {
      failure.times--;
      twilioError(answer, failure.status, 20500, failure.message);
      return true;
    }
    if (isAccount) {
      json(answer, 200, { sid: accountSid, friendly_name: friendlyName, status: accountStatus, type: 'Full',
        uri: `${account}.json` });
      return true;
    }
    if (isList) {
      listPage(url, answer);
      return true;
    }
    const [, acct, sid] = one;
    const at = listed.findIndex((r) => r.sid === sid);
    const known = acct === accountSid && !deletions.includes(sid) &&
      (at >= 0 || routes.has(`/2010-04-01/Accounts/${acct}/Recordings/${sid}.mp3`) ||
        routes.has(`/2010-04-01/Accounts/${acct}/Recordings/${sid}.wav`));
    if (!known) {
      twilioError(answer, 404, 20404, `The requested resource ${url.pathname} was not found`);
      return true;
    }
    // Like Twilio: the media goes with the resource.
    deletions.push(sid);
    if (at >= 0) listed.splice(at, 1);
    for (const ext of ['mp3', 'wav']) routes.delete(`/2010-04-01/Accounts/${acct}/Recordings/${sid}.${ext}`);
    answer(204, {});
    return true;
  }

  // Twilio's DateCreated> / DateCreated< take a GMT day (or date-time) and include it.
  function listPage(url, answer) {
    const q = url.searchParams;
    const size = Math.min(Number(q.get('PageSize') ?? 50) || 50, 1000, fake.pageSize);
    const page = Number(q.get('Page') ?? 0);
    if (page > 0 && q.get('PageToken') !== `PA${page}`) {
      return twilioError(answer, 400, 20001, 'Invalid PageToken');
    }
    const after = q.get('DateCreated>');
    const before = q.get('DateCreated<');
    const dayStart = (d) => Date.parse(d.length === 10 ? `${d}T00:00:00Z` : d);
    const dayEnd = (d) => (d.length === 10 ? Date.parse(`${d}T00:00:00Z`) + 86400000 - 1 : Date.parse(d));
    const matching = listed.filter((r) => {
      const created = Date.parse(r.date_created);
      if (after && !(created >= dayStart(after))) return false;
      if (before && !(created <= dayEnd(before))) return false;
      return true;
    });
    const base = new URLSearchParams();
    for (const [k, v] of q) if (k !== 'Page' && k !== 'PageToken') base.append(k, v);
    base.set('PageSize', String(size));
    const uri = (n) => `${url.pathname}?${base}&Page=${n}&PageToken=PA${n}`;
    const start = page * size;
    const recordings = matching.slice(start, start + size);
    json(answer, 200, {
      recordings,
      page,
      page_size: size,
      start,
      end: start + Math.max(recordings.length - 1, 0),
      uri: url.pathname + url.search,
      first_page_uri: uri(0),
      next_page_uri: start + size < matching.length ? uri(page + 1) : null,
      previous_page_uri: page > 0 ? uri(page - 1) : null,
    });
  }

  // RFC 2822 as Twilio writes it ("Sat, 25 Oct 2025 19:17:43 +0000").
  const rfc2822 = (d) => new Date(d).toUTCString().replace('GMT', '+0000');

  server.keepAliveTimeout = 1000;
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;

  const fake = {
    port,
    origin,
    requests,
    /** Serve `body` at `path` (no auth when requireAuth is false). */
    addFile(path, body, { contentType = 'audio/mpeg', notReady = 0, redirect, cutShort } = {}) {
      routes.set(path, { body, contentType, notReady, redirect, cutShort: cutShort && { ...cutShort } });
      return origin + path;
    },
    /** The RecordingUrl (no extension) for `recordingSid`. */
    recordingUrl(recordingSid, acct = accountSid) {
      return `${origin}/2010-04-01/Accounts/${acct}/Recordings/${recordingSid}`;
    },
    /**
     * Serve `body` at <RecordingUrl>.mp3 (opts.ext: another extension; opts.accountSid: another
     * account in the path; opts.notReady: answer 404 that many times first; opts.redirect: answer
     * 302 to that URL instead; opts.cutShort { times, after }: that many times, announce the whole
     * body but drop the connection after `after` bytes). Returns the RecordingUrl.
     */
    addRecording(recordingSid, body, opts = {}) {
      const url = fake.recordingUrl(recordingSid, opts.accountSid ?? accountSid);
      const ext = opts.ext ?? 'mp3';
      fake.addFile(new URL(`${url}.${ext}`).pathname, body, opts);
      if (opts.listed) fake.listRecording(recordingSid, opts);
      return url;
    },
    /** Page size of Recordings.json (the smaller of this and the request's PageSize). */
    pageSize,
    /**
     * Make `recordingSid` appear in Recordings.json (no media; addRecording with { listed: true }
     * does both). opts: status ('completed'), conferenceSid (null: a call recording), callSid,
     * dateCreated (Date, ms or RFC 2822 string; default now), startTime (default dateCreated),
     * duration ('4'), channels (1), source, errorCode (null), accountSid. Returns the resource.
     */
    listRecording(recordingSid, opts = {}) {
      const acct = opts.accountSid ?? accountSid;
      const created = opts.dateCreated === undefined ? rfc2822(Date.now())
        : typeof opts.dateCreated === 'string' ? opts.dateCreated : rfc2822(opts.dateCreated);
      const resource = {
        sid: recordingSid,
        account_sid: acct,
        call_sid: opts.callSid ?? null,
        conference_sid: opts.conferenceSid ?? null,
        status: opts.status ?? 'completed',
        channels: opts.channels ?? 1,
        source: opts.source ?? 'StartConferenceRecordingAPI',
        duration: String(opts.duration ?? '4'),
        start_time: opts.startTime ?? created,
        date_created: created,
        date_updated: created,
        error_code: opts.errorCode ?? null,
        price: null,
        uri: `/2010-04-01/Accounts/${acct}/Recordings/${recordingSid}.json`,
        media_url: fake.recordingUrl(recordingSid, acct),
      };
      const at = listed.findIndex((r) => r.sid === recordingSid);
      if (at >= 0) listed[at] = resource; else listed.push(resource);
      return resource;
    },
    /** The listed recording resources (a copy). */
    listedRecordings() {
      return listed.map((r) => ({ ...r }));
    },
    /** SIDs deleted through DELETE …/Recordings/<RE>.json, in order. */
    deletions,
    /**
     * Answer the next `times` REST requests of `method` whose URL includes `includes` with
     * `status` and a Twilio error body (e.g. failRest('DELETE', sid, 500)).
     */
    failRest(method, includes, status = 500, { times = Infinity, message = 'Internal Server Error' } = {}) {
      failures.push({ method, includes, status, times, message });
    },
    /** REST requests (Recordings.json lists, recording DELETEs, account fetches). */
    restRequests() {
      return requests.filter((r) => /\/Recordings\.json(\?|$)|\/Recordings\/[^/]+\.json$|^\/2010-04-01\/Accounts\/[^/]+\.json$/
        .test(r.path));
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
