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
//
// And the conference control resources the live console uses (reference live-and-library.md §1.1):
//   POST   …/Conferences/<CF>/Participants/<CA>.json   Muted=true|false, Hold=true|false: 200
//   DELETE …/Conferences/<CF>/Participants/<CA>.json   204; the participant is gone afterwards
//   POST   …/Conferences/<CF>.json                     Status=completed: 200; the conference ends
//   POST   …/Conferences/<CF>/Recordings/Twilio.CURRENT.json   Status=paused|in-progress|stopped
//   POST   …/Calls/<CA>/Recordings.json                RecordingTrack=inbound …: 201, a recording of the call
// A conference or participant the test did not declare (addConference, addParticipant) answers 404
// in Twilio's error JSON, unless the fake was started with { conferences: 'any' } (then every
// well-formed SID is live until it is removed or ended). Every request records its parsed form
// fields (`form`) and whether its Basic auth matched (`authOk`); failRest / hangRest script
// failures.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

export async function startFakeTwilio({ accountSid, authToken, requireAuth = true, pageSize = 50,
  friendlyName = 'Partyline fake account', accountStatus = 'active', conferences: liveMode = 'declared' } = {}) {
  const basic = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
  const expected = requireAuth ? basic : null;
  const routes = new Map(); // path -> { body, contentType, notReady, redirect, cutShort }
  const requests = [];      // { method, path, headers, status, form, authOk }
  const listed = [];        // Twilio recording resources, in the order added
  const deletions = [];     // recording SIDs, in the order the DELETEs succeeded
  const failures = [];      // { method, includes, status, times, message, code, hang } scripted REST failures
  const conferences = new Map(); // CF -> { sid, friendlyName, status, participants: Map(CA -> participant), recording }
  const gone = new Set();   // CF and CF/CA ended or removed, so { conferences: 'any' } does not revive them
  const hung = new Set();   // responses held open by hangRest, ended by stop()

  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, headers: { ...req.headers }, status: 0, form: {},
      authOk: req.headers.authorization === basic };
    requests.push(entry);
    const answer = (status, headers = {}, body) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    if (isConferencePath(req.url)) {
      // The only resources whose form body matters: read it before answering.
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        entry.form = Object.fromEntries(form);
        if (expected && !entry.authOk) {
          return answer(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="Twilio API"' },
            '{"code":20003,"message":"Authenticate","status":401}');
        }
        handleConference(req, res, answer, form);
      });
      return;
    }
    req.resume();
    if (expected && req.headers.authorization !== expected) {
      return answer(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="Twilio API"' },
        '{"code":20003,"message":"Authenticate","status":401}');
    }
    if (handleRest(req, res, answer)) return;
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
  function handleRest(req, res, answer) {
    const url = new URL(req.url, 'http://fake');
    const account = `/2010-04-01/Accounts/${accountSid}`;
    const isList = url.pathname === `${account}/Recordings.json`;
    const one = url.pathname.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Recordings\/([^/]+)\.json$/);
    const isAccount = url.pathname === `${account}.json`;
    if (!((req.method === 'GET' && (isList || isAccount)) || (req.method === 'DELETE' && one))) {
      return false;
    }
    if (scriptedFailure(req, res, answer)) return true;
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

  function isConferencePath(url) {
    const path = url.split('?')[0];
    return path.startsWith(`/2010-04-01/Accounts/${accountSid}/Conferences/`) ||
      /^\/2010-04-01\/Accounts\/[^/]+\/Calls\/[^/]+\/Recordings\.json$/.test(path);
  }

  const notFound = (answer, path) =>
    twilioError(answer, 404, 20404, `The requested resource ${path} was not found`);
  const isSid = (value, prefix) => new RegExp(`^${prefix}[0-9a-fA-F]{32}$`).test(value);

  // The live conference `cf`, or undefined; with { conferences: 'any' } every well-formed SID that
  // was not ended is one.
  function liveConference(cf) {
    let c = conferences.get(cf);
    if (!c && liveMode === 'any' && isSid(cf, 'CF') && !gone.has(cf)) c = declareConference(cf);
    return c && c.status !== 'completed' ? c : undefined;
  }
  function liveParticipant(c, ca) {
    let p = c.participants.get(ca);
    if (!p && liveMode === 'any' && isSid(ca, 'CA') && !gone.has(`${c.sid}/${ca}`)) {
      p = declareParticipant(c, ca);
    }
    return p;
  }

  // A scripted failure for this request, answered (or held open); false when none applies.
  function scriptedFailure(req, res, answer) {
    const failure = failures.find((f) => f.times > 0 && f.method === req.method && req.url.includes(f.includes));
    if (!failure) return false;
    failure.times--;
    if (failure.hang) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
    } else {
      twilioError(answer, failure.status, failure.code, failure.message);
    }
    return true;
  }

  function handleConference(req, res, answer, form) {
    const path = req.url.split('?')[0];
    if (scriptedFailure(req, res, answer)) return;
    // POST …/Calls/<CA>/Recordings.json: a recording of the call (a caller's own track).
    const call = path.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\/Recordings\.json$/);
    if (call) {
      if (req.method !== 'POST' || call[1] !== accountSid || !isSid(call[2], 'CA')) return notFound(answer, path);
      const sid = `RE${randomBytes(16).toString('hex')}`;
      return json(answer, 201, {
        sid, account_sid: accountSid, call_sid: call[2], conference_sid: null, status: 'in-progress',
        track: form.get('RecordingTrack') ?? 'both', channels: Number(form.get('RecordingChannels') === 'dual' ? 2 : 1),
        source: 'StartCallRecordingAPI', uri: `/2010-04-01/Accounts/${accountSid}/Recordings/${sid}.json`,
      });
    }
    const rest = path.slice(`/2010-04-01/Accounts/${accountSid}/Conferences/`.length);
    let m;
    if ((m = rest.match(/^([^/]+)\.json$/)) && req.method === 'POST') {
      const c = liveConference(m[1]);
      if (!c) {
        // An ended conference is still a resource: ending it again changes nothing.
        const ended = conferences.get(m[1]);
        if (ended && form.get('Status') === 'completed') return json(answer, 200, conferenceResource(ended));
        return notFound(answer, path);
      }
      const status = form.get('Status');
      if (status !== null && status !== 'completed') {
        return twilioError(answer, 400, 20001, `Invalid value for Status: ${status}`);
      }
      if (status === 'completed') {
        c.status = 'completed';
        c.reasonConferenceEnded = 'conference-ended-via-api';
        c.participants.clear();
        if (c.recording) c.recording.status = 'stopped';
        gone.add(c.sid);
      }
      return json(answer, 200, conferenceResource(c));
    }
    if ((m = rest.match(/^([^/]+)\/Participants\/([^/]+)\.json$/)) && (req.method === 'POST' || req.method === 'DELETE')) {
      const c = liveConference(m[1]);
      const p = c && liveParticipant(c, m[2]);
      if (!p) return notFound(answer, path);
      if (req.method === 'DELETE') {
        c.participants.delete(p.call_sid);
        gone.add(`${c.sid}/${p.call_sid}`);
        return answer(204, {});
      }
      // Twilio: "anything other than true or false is interpreted as false".
      if (form.has('Muted')) p.muted = form.get('Muted') === 'true';
      if (form.has('Hold')) p.hold = form.get('Hold') === 'true';
      p.date_updated = rfc2822(Date.now());
      return json(answer, 200, { ...p });
    }
    if ((m = rest.match(/^([^/]+)\/Recordings\/([^/]+)\.json$/)) && req.method === 'POST') {
      const c = liveConference(m[1]);
      const r = c?.recording;
      if (!r || r.status === 'stopped' || (m[2] !== 'Twilio.CURRENT' && m[2] !== r.sid)) return notFound(answer, path);
      const status = form.get('Status');
      if (status === null) return twilioError(answer, 400, 20001, 'Missing required parameter Status in the post body');
      if (!['paused', 'in-progress', 'stopped'].includes(status)) {
        return twilioError(answer, 400, 20001, `Invalid value for Status: ${status}`);
      }
      r.status = status;
      r.date_updated = rfc2822(Date.now());
      return json(answer, 200, { ...r });
    }
    return notFound(answer, path);
  }

  function declareConference(conferenceSid, { recording = true, friendlyName = 'room' } = {}) {
    const now = rfc2822(Date.now());
    const c = { sid: conferenceSid, friendlyName, status: 'in-progress', dateCreated: now,
      participants: new Map(), recording: null };
    if (recording) {
      const sid = typeof recording === 'string' ? recording : `RE${randomBytes(16).toString('hex')}`;
      c.recording = {
        sid,
        account_sid: accountSid,
        call_sid: null,
        conference_sid: conferenceSid,
        status: 'in-progress',
        source: 'Conference',
        channels: 1,
        start_time: now,
        date_created: now,
        date_updated: now,
        duration: null,
        price: null,
        error_code: null,
        uri: `/2010-04-01/Accounts/${accountSid}/Conferences/${conferenceSid}/Recordings/${sid}.json`,
      };
    }
    conferences.set(conferenceSid, c);
    gone.delete(conferenceSid);
    return c;
  }

  function declareParticipant(c, callSid, { muted = false, hold = false, label = null } = {}) {
    const now = rfc2822(Date.now());
    const p = {
      account_sid: accountSid,
      call_sid: callSid,
      conference_sid: c.sid,
      label,
      muted,
      hold,
      coaching: false,
      call_sid_to_coach: null,
      end_conference_on_exit: false,
      start_conference_on_enter: true,
      status: 'connected',
      queue_time: null,
      date_created: now,
      date_updated: now,
      uri: `/2010-04-01/Accounts/${accountSid}/Conferences/${c.sid}/Participants/${callSid}.json`,
    };
    c.participants.set(callSid, p);
    gone.delete(`${c.sid}/${callSid}`);
    return p;
  }

  function conferenceResource(c) {
    const uri = `/2010-04-01/Accounts/${accountSid}/Conferences/${c.sid}`;
    return {
      sid: c.sid,
      account_sid: accountSid,
      friendly_name: c.friendlyName,
      status: c.status,
      region: 'us1',
      api_version: '2010-04-01',
      date_created: c.dateCreated,
      date_updated: rfc2822(Date.now()),
      reason_conference_ended: c.reasonConferenceEnded ?? null,
      call_sid_ending_conference: null,
      uri: `${uri}.json`,
      subresource_uris: { participants: `${uri}/Participants.json`, recordings: `${uri}/Recordings.json` },
    };
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
     * `status` and a Twilio error body (e.g. failRest('DELETE', sid, 500); for one request only:
     * failRest('POST', callSid, 404, { times: 1, message: '…', code: 20404 })).
     */
    failRest(method, includes, status = 500, { times = Infinity, message = 'Internal Server Error', code = 20500 } = {}) {
      failures.push({ method, includes, status, times, message, code });
    },
    /**
     * Hold the next `times` REST requests of `method` whose URL includes `includes` open without
     * ever answering (until stop()): a Twilio that does not answer in time.
     */
    hangRest(method, includes, { times = 1 } = {}) {
      failures.push({ method, includes, status: 0, times, hang: true });
    },
    /** REST requests (Recordings.json lists, recording DELETEs, account fetches). */
    restRequests() {
      return requests.filter((r) => !r.path.includes('/Conferences/') &&
        /\/Recordings\.json(\?|$)|\/Recordings\/[^/]+\.json$|^\/2010-04-01\/Accounts\/[^/]+\.json$/.test(r.path));
    },
    /** Requests to the conference resources (Participants, Conferences, conference Recordings). */
    conferenceRequests() {
      return requests.filter((r) => isConferencePath(r.path));
    },
    /**
     * Declare a live conference. opts: participants (CallSids, or { callSid, muted, hold, label }),
     * recording (true: a recording in progress, as record-from-start gives; false: none; or the
     * RE… SID to use), friendlyName. Returns conference(sid).
     */
    addConference(conferenceSid, { participants = [], ...opts } = {}) {
      const c = declareConference(conferenceSid, opts);
      for (const p of participants) {
        if (typeof p === 'string') declareParticipant(c, p);
        else declareParticipant(c, p.callSid, p);
      }
      return fake.conference(conferenceSid);
    },
    /** Declare a participant of a declared conference (opts: muted, hold, label). */
    addParticipant(conferenceSid, callSid, opts = {}) {
      const c = conferences.get(conferenceSid);
      if (!c) throw new Error(`addParticipant: conference ${conferenceSid} was not added`);
      declareParticipant(c, callSid, opts);
    },
    /**
     * A conference's state as the fake sees it, or undefined: { sid, status ('in-progress' or
     * 'completed'), participants: { CA: { muted, hold } }, recording: status or null }.
     */
    conference(conferenceSid) {
      const c = conferences.get(conferenceSid);
      if (!c) return undefined;
      return {
        sid: c.sid,
        status: c.status,
        participants: Object.fromEntries([...c.participants.values()]
          .map((p) => [p.call_sid, { muted: p.muted, hold: p.hold }])),
        recording: c.recording?.status ?? null,
      };
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
      for (const res of hung) res.destroy();
      return new Promise((res) => { server.close(() => res()); server.closeAllConnections?.(); });
    },
  };
  return fake;
}

/** The S3 key the contract expects for the default RecordingStartTime. */
export function expectedKey(prefix, recordingSid, stamp = '2025-10-25T19-17-43Z', ext = 'mp3') {
  return `${prefix}${stamp}-${recordingSid}.${ext}`;
}
