// A fake OpenAI-compatible server on 127.0.0.1 for the transcription tests (reference
// live-and-library.md §3.3):
//   POST /v1/audio/transcriptions   multipart/form-data: `file` (with a file name), `model`,
//                                   `response_format=verbose_json`; answers verbose_json segments
//   POST /v1/chat/completions       JSON {model, messages}; answers a summary as choices[0]
//   GET  /v1/models                 the models (what `partyline check` asks with the key)
// Both check `Authorization: Bearer <apiKey>` (401 in OpenAI's error shape otherwise) and record
// every request (fields, the file's name, type, size and SHA-256, headers, status). The answer is
// the test's choice (`transcribe`: a function of the request), by default one segment per
// `segmentSeconds` of the audio's duration (a WAV header's, else size / bytesPerSecond).
// Scripted failures are used up in order, one per request: failNext([{ status: 429, retryAfter:
// 2 }, { status: 500 }, { hang: true }]).
// The multipart body is parsed here for real (boundary, part headers, binary data): Node 18 has
// no server-side form parser, and checking what the service sends is the point of the fake.
import { createHash } from 'node:crypto';
import http from 'node:http';

const OPENAI_MAX_FILE = 25 * 1024 * 1024; // OpenAI's upload limit

export async function startFakeOpenAI({
  apiKey = 'sk-fake-openai-key-0123456789',
  segmentSeconds = 5,
  bytesPerSecond = 4000, // Twilio's MP3: 32 kb/s
  maxFileBytes = OPENAI_MAX_FILE,
  maxBodyBytes = 64 * 1024 * 1024,
  transcribe = defaultTranscript,
  summarize = defaultSummary,
} = {}) {
  const requests = []; // see `record` below
  const failures = { transcriptions: [], chat: [] }; // scripted, used up in order
  const hung = new Set(); // responses held open by { hang: true }, ended by stop()
  let answerFor = transcribe;
  let summaryFor = summarize;

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    const endpoint = path === '/v1/audio/transcriptions' ? 'transcriptions'
      : path === '/v1/chat/completions' ? 'chat' : path === '/v1/models' ? 'models' : null;
    const entry = {
      endpoint, method: req.method, path: req.url, headers: { ...req.headers }, status: 0,
      authOk: req.headers.authorization === `Bearer ${apiKey}`,
      fields: {}, file: null, json: null, failure: null, error: null,
    };
    requests.push(entry);
    const answer = (status, body, headers = {}) => {
      entry.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(text);
    };
    const refuse = (status, message, type = 'invalid_request_error', code = null, headers = {}) => {
      entry.error = message;
      answer(status, { error: { message, type, param: null, code } }, headers);
    };

    // The whole body first (so a refusal never meets a client still sending), within a bound.
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (!endpoint) return refuse(404, `Invalid URL (${req.method} ${path})`);
      // What `partyline check` asks: the models the key may use.
      if (endpoint === 'models') {
        if (req.method !== 'GET') return refuse(405, `Invalid method for URL (${req.method} ${path})`);
        if (!entry.authOk) return refuse(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
        return answer(200, { object: 'list', data: [{ id: 'whisper-1', object: 'model' }, { id: 'gpt-4o-mini', object: 'model' }] });
      }
      if (req.method !== 'POST') return refuse(405, `Invalid method for URL (${req.method} ${path})`);
      if (tooLarge) return refuse(413, `Maximum content size limit (${maxBodyBytes}) exceeded`);
      const body = Buffer.concat(chunks);
      if (!entry.authOk) {
        return refuse(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
          'invalid_request_error', 'invalid_api_key');
      }
      const parsed = endpoint === 'chat' ? readChat(req, body, entry) : readTranscription(req, body, entry);
      if (parsed) return refuse(parsed.status, parsed.message);
      const failure = failures[endpoint].shift();
      if (failure) return fail(failure, entry, res, answer, refuse);
      if (endpoint === 'chat') return answer(200, completion(entry, summaryFor(entry)));
      if (entry.file.size > maxFileBytes) {
        return refuse(413, `Maximum content size limit (${maxFileBytes}) exceeded (${entry.file.size} bytes read)`);
      }
      let result;
      try {
        result = answerFor(entry, { segmentSeconds, bytesPerSecond });
      } catch (e) {
        return refuse(500, `the test's transcribe function threw: ${e.message}`, 'server_error');
      }
      if (typeof result === 'string') return answer(200, result); // raw: a malformed answer on purpose
      return answer(200, verboseJson(result));
    });
  });

  // A scripted failure: { status, retryAfter, message, body } answers; { hang: true } never does
  // (until stop()); { drop: true } closes the connection without an answer.
  function fail(failure, entry, res, answer, refuse) {
    entry.failure = { ...failure };
    if (failure.hang) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (failure.drop) {
      res.socket?.destroy();
      return;
    }
    const headers = failure.retryAfter === undefined ? {} : { 'Retry-After': String(failure.retryAfter) };
    if (failure.body !== undefined) return answer(failure.status, failure.body, headers);
    const status = failure.status ?? 500;
    const [message, type, code] = status === 429
      ? ['Rate limit reached for requests. Please try again in 2s.', 'requests', 'rate_limit_exceeded']
      : status >= 500 ? ['The server had an error while processing your request. Sorry about that!', 'server_error', null]
        : ['Invalid request', 'invalid_request_error', null];
    return refuse(status, failure.message ?? message, type, code, headers);
  }

  // Fills entry.fields and entry.file; a { status, message } refusal when the form is wrong.
  function readTranscription(req, body, entry) {
    const type = req.headers['content-type'] ?? '';
    const boundary = type.match(/^multipart\/form-data\s*;.*\bboundary=(?:"([^"]+)"|([^\s;]+))/i);
    if (!boundary) return { status: 400, message: `Expected multipart/form-data with a boundary, got '${type}'` };
    let parts;
    try {
      parts = parseMultipart(body, boundary[1] ?? boundary[2]);
    } catch (e) {
      return { status: 400, message: `Malformed multipart body: ${e.message}` };
    }
    entry.parts = parts.map((p) => ({ name: p.name, filename: p.filename, contentType: p.contentType, size: p.data.length }));
    for (const p of parts) {
      if (p.name === 'file') {
        entry.file = {
          filename: p.filename, contentType: p.contentType, size: p.data.length,
          sha256: createHash('sha256').update(p.data).digest('hex'), bytes: p.data,
        };
      } else if (p.filename === undefined) {
        const value = p.data.toString('utf8');
        const old = entry.fields[p.name];
        // A repeated field (timestamp_granularities[]) keeps every value, in order.
        entry.fields[p.name] = old === undefined ? value : [].concat(old, value);
      }
    }
    if (!entry.file) return { status: 400, message: "Missing required parameter: 'file'." };
    if (!entry.file.filename) return { status: 400, message: "The 'file' part has no filename." };
    if (!entry.fields.model) return { status: 400, message: "Missing required parameter: 'model'." };
    if (entry.fields.response_format !== 'verbose_json') {
      return { status: 400, message: `response_format must be 'verbose_json' here, got '${entry.fields.response_format}'` };
    }
    return null;
  }

  function readChat(req, body, entry) {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return { status: 400, message: 'Expected a JSON body (Content-Type: application/json)' };
    }
    try {
      entry.json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return { status: 400, message: `We could not parse the JSON body of your request: ${e.message}` };
    }
    const { model, messages } = entry.json ?? {};
    if (typeof model !== 'string' || !model) return { status: 400, message: "Missing required parameter: 'model'." };
    if (!Array.isArray(messages) || messages.length === 0 ||
        !messages.every((m) => typeof m?.role === 'string' && typeof m?.content === 'string')) {
      return { status: 400, message: "'messages' must be a list of {role, content}." };
    }
    return null;
  }

  function completion(entry, content) {
    return {
      id: `chatcmpl-fake${requests.indexOf(entry)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: entry.json.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    };
  }

  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    port,
    origin,
    apiKey,
    /** TRANSCRIBE_URL and SUMMARY_URL. */
    transcriptionsUrl: `${origin}/v1/audio/transcriptions`,
    chatUrl: `${origin}/v1/chat/completions`,
    /**
     * Every request, in order: { endpoint ('transcriptions' | 'chat' | null), method, path,
     * headers, status (0 while held open), authOk, fields ({ name: value, or [values] when
     * repeated }), parts ([{ name, filename, contentType, size }]), file ({ filename,
     * contentType, size, sha256, bytes } or null), json (a chat request's body), failure (the
     * scripted one it met, or null), error (the message of a refusal) }.
     */
    requests,
    /** Transcription requests that were answered with a transcript. */
    transcriptions() {
      return requests.filter((r) => r.endpoint === 'transcriptions' && r.status === 200);
    },
    /** Chat requests that were answered with a summary. */
    completions() {
      return requests.filter((r) => r.endpoint === 'chat' && r.status === 200);
    },
    /**
     * The next requests to `endpoint` ('transcriptions' or 'chat') that pass the key and form
     * checks meet these failures, one each, in order: { status, retryAfter (seconds, sent as
     * Retry-After), message, body (sent as is) }, { hang: true } or { drop: true }.
     */
    failNext(list, { endpoint = 'transcriptions' } = {}) {
      failures[endpoint].push(...list);
    },
    /** Scripted failures not yet used. */
    pendingFailures(endpoint = 'transcriptions') {
      return failures[endpoint].length;
    },
    /**
     * From now on, answer transcriptions with fn(request, { segmentSeconds, bytesPerSecond }):
     * { segments: [{ start, end, text, speaker? }], language?, duration? } (completed into
     * verbose_json), or a string sent as is.
     */
    setTranscript(fn) {
      answerFor = fn;
    },
    /** From now on, answer chat requests with fn(request) as the summary text. */
    setSummary(fn) {
      summaryFor = fn;
    },
    stop() {
      for (const res of hung) res.destroy();
      return new Promise((r) => { server.close(() => r()); server.closeAllConnections?.(); });
    },
  };
}

/**
 * The seconds of audio in `file` ({ bytes, size }): a WAV's from its header, anything else at
 * `bytesPerSecond`.
 */
export function audioSeconds(file, bytesPerSecond = 4000) {
  const b = file.bytes;
  if (b.length >= 44 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE') {
    const byteRate = b.readUInt32LE(28);
    if (byteRate > 0) return (b.length - 44) / byteRate;
  }
  return file.size / bytesPerSecond;
}

/** The default answer: one segment per `segmentSeconds`, "Line <n> of <file name>." */
export function defaultTranscript(request, { segmentSeconds = 5, bytesPerSecond = 4000 } = {}) {
  const duration = audioSeconds(request.file, bytesPerSecond);
  const segments = [];
  for (let start = 0, n = 1; start < duration; start += segmentSeconds, n++) {
    segments.push({ start, end: Math.min(start + segmentSeconds, duration), text: `Line ${n} of ${request.file.filename}.` });
  }
  return { duration, segments };
}

function defaultSummary(request) {
  const user = request.json.messages.find((m) => m.role === 'user')?.content ?? '';
  return `## Summary\n\n${user.split('\n').filter(Boolean).length} lines were said.`;
}

/** A transcript as verbose_json, with what the test left out filled in as OpenAI does. */
export function verboseJson({ segments = [], language = 'english', duration } = {}) {
  const full = segments.map((s, id) => ({
    id, seek: 0, start: s.start, end: s.end, text: ` ${s.text}`, tokens: [], temperature: 0,
    avg_logprob: -0.2, compression_ratio: 1.2, no_speech_prob: 0.01,
    ...(s.speaker === undefined ? {} : { speaker: s.speaker }),
  }));
  return {
    task: 'transcribe',
    language,
    duration: duration ?? (segments.length ? Math.max(...segments.map((s) => s.end)) : 0),
    text: segments.map((s) => s.text).join(' '),
    segments: full,
  };
}

/**
 * multipart/form-data (RFC 7578) → [{ name, filename (undefined when none), contentType,
 * headers, data (Buffer) }]. Throws on a body that is not well formed.
 */
export function parseMultipart(body, boundary) {
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const parts = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('no boundary in the body');
  for (;;) {
    at += delimiter.length;
    const after = body.toString('latin1', at, at + 2);
    if (after === '--') return parts; // the closing delimiter
    if (after !== '\r\n') throw new Error('a boundary not followed by CRLF');
    at += 2;
    const headEnd = body.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new Error('a part without the blank line after its headers');
    const headers = {};
    for (const line of body.toString('utf8', at, headEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`a malformed part header: ${line}`);
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const end = body.indexOf(next, headEnd + 4);
    if (end < 0) throw new Error('a part without a closing boundary');
    const disposition = headers['content-disposition'] ?? '';
    if (!/^form-data\s*(;|$)/i.test(disposition)) throw new Error(`a part that is not form-data: ${disposition}`);
    const params = dispositionParams(disposition);
    if (params.name === undefined) throw new Error('a part without a name');
    parts.push({
      name: params.name,
      filename: params.filename,
      contentType: headers['content-type'] ?? 'text/plain',
      headers,
      data: body.subarray(headEnd + 4, end),
    });
    at = end + 2;
  }
}

// `form-data; name="file"; filename="a b.mp3"` → { name: 'file', filename: 'a b.mp3' }
function dispositionParams(disposition) {
  const params = {};
  const re = /;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  let m;
  while ((m = re.exec(disposition))) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return params;
}
