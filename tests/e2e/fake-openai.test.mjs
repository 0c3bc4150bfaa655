// The fake OpenAI-compatible server on its own, with real multipart requests from Node (FormData
// and fetch, as in Node 18), so that the transcription tests can rely on what it checks, records
// and answers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { parseMultipart, startFakeOpenAI } from './lib/fake-openai.mjs';
import { sineWav } from './lib/wav.mjs';

describe('fake OpenAI', () => {
  const fakes = [];
  after(() => Promise.all(fakes.map((f) => f.stop())));

  async function setup(opts = {}) {
    const fake = await startFakeOpenAI(opts);
    fakes.push(fake);
    return fake;
  }

  /** A transcription request the way a client sends one; `fields` override or (undefined) drop. */
  async function transcribe(fake, { bytes = sineWav(12), filename = 'call.wav', type = 'audio/wav',
    key = fake.apiKey, fields = {}, signal } = {}) {
    const form = new FormData();
    const all = { model: 'whisper-1', response_format: 'verbose_json', 'timestamp_granularities[]': 'segment', ...fields };
    for (const [name, value] of Object.entries(all)) if (value !== undefined) form.append(name, value);
    if (bytes) form.append('file', new Blob([bytes], { type }), filename);
    const headers = key ? { Authorization: `Bearer ${key}` } : {};
    const res = await fetch(fake.transcriptionsUrl, { method: 'POST', body: form, headers, signal });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  async function chat(fake, body, { key = fake.apiKey } = {}) {
    const res = await fetch(fake.chatUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  it('parses a real multipart request, records it and answers verbose_json segments', async () => {
    const fake = await setup({ segmentSeconds: 5 });
    const wav = sineWav(12);
    const r = await transcribe(fake, { bytes: wav, fields: { language: 'en' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.task, 'transcribe');
    assert.ok(Math.abs(r.body.duration - 12) < 0.001);
    assert.deepEqual(r.body.segments.map((s) => [s.id, s.start, s.end]), [[0, 0, 5], [1, 5, 10], [2, 10, 12]]);
    assert.equal(r.body.segments[0].text, ' Line 1 of call.wav.');
    assert.equal(r.body.text, 'Line 1 of call.wav. Line 2 of call.wav. Line 3 of call.wav.');

    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0];
    assert.equal(req.endpoint, 'transcriptions');
    assert.equal(req.status, 200);
    assert.equal(req.authOk, true);
    assert.deepEqual(req.fields, {
      model: 'whisper-1', response_format: 'verbose_json', 'timestamp_granularities[]': 'segment', language: 'en',
    });
    assert.equal(req.file.filename, 'call.wav');
    assert.equal(req.file.contentType, 'audio/wav');
    assert.equal(req.file.size, wav.length);
    assert.equal(req.file.sha256, createHash('sha256').update(wav).digest('hex'));
    assert.ok(req.file.bytes.equals(wav));
    assert.match(req.headers['content-type'], /^multipart\/form-data; boundary=/);
    assert.deepEqual(fake.transcriptions(), [req]);
  });

  it('refuses a wrong or missing key with 401, as OpenAI does', async () => {
    const fake = await setup();
    for (const key of ['sk-wrong', null]) {
      const r = await transcribe(fake, { key });
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'invalid_api_key');
      const c = await chat(fake, { model: 'm', messages: [{ role: 'user', content: 'x' }] }, { key: key ?? '' });
      assert.equal(c.status, 401);
    }
    assert.equal(fake.requests.length, 4);
    assert.ok(fake.requests.every((r) => r.authOk === false && r.status === 401));
    assert.deepEqual(fake.transcriptions(), []);
  });

  it('refuses a form without file, file name, model or verbose_json', async () => {
    const fake = await setup();
    const cases = [
      [{ bytes: null }, /'file'/],
      [{ fields: { model: undefined } }, /'model'/],
      [{ fields: { response_format: 'json' } }, /verbose_json/],
      [{ fields: { response_format: undefined } }, /verbose_json/],
    ];
    for (const [opts, message] of cases) {
      const r = await transcribe(fake, opts);
      assert.equal(r.status, 400, JSON.stringify(opts));
      assert.match(r.body.error.message, message);
    }
    // A file part without a file name, and bodies that are not multipart.
    const boundary = 'XyZ';
    const raw = `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\nverbose_json\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--${boundary}--\r\n`;
    const post = (body, type) => fetch(fake.transcriptionsUrl, {
      method: 'POST', body, headers: { Authorization: `Bearer ${fake.apiKey}`, 'Content-Type': type },
    });
    let res = await post(raw, `multipart/form-data; boundary=${boundary}`);
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /no filename/);
    res = await post(raw.slice(0, -10), `multipart/form-data; boundary=${boundary}`);
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /Malformed multipart/);
    res = await post('{}', 'application/json');
    assert.equal(res.status, 400);
    assert.deepEqual(fake.transcriptions(), []);
  });

  it('reads a body written as libcurl writes it: quoted boundary, binary data with CRLF and dashes', async () => {
    const fake = await setup();
    const audio = Buffer.concat([Buffer.from('ID3\r\n--not-the-boundary\r\n\r\n'), Buffer.from([0, 255, 13, 10, 45, 45])]);
    const b = '------------------------d74496d66958873e';
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
        `--${b}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\nverbose_json\r\n` +
        `--${b}\r\nContent-Disposition: form-data; name="timestamp_granularities[]"\r\n\r\nsegment\r\n` +
        `--${b}\r\nContent-Disposition: form-data; name="timestamp_granularities[]"\r\n\r\nword\r\n` +
        `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a \\"b\\".mp3"\r\n` +
        'Content-Type: audio/mpeg\r\n\r\n'),
      audio,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    const res = await fetch(fake.transcriptionsUrl, {
      method: 'POST', body,
      headers: { Authorization: `Bearer ${fake.apiKey}`, 'Content-Type': `multipart/form-data; boundary="${b}"` },
    });
    assert.equal(res.status, 200);
    const req = fake.requests[0];
    assert.deepEqual(req.fields['timestamp_granularities[]'], ['segment', 'word']);
    assert.equal(req.file.filename, 'a "b".mp3');
    assert.equal(req.file.contentType, 'audio/mpeg');
    assert.ok(req.file.bytes.equals(audio));
    assert.deepEqual(req.parts.map((p) => p.name),
      ['model', 'response_format', 'timestamp_granularities[]', 'timestamp_granularities[]', 'file']);
    assert.throws(() => parseMultipart(Buffer.from('no boundary here'), b), /no boundary/);
  });

  it('answers what the test chooses, by the file it got', async () => {
    const fake = await setup();
    const one = sineWav(2, 8000, 440);
    const two = sineWav(2, 8000, 880);
    const hashOf = (b) => createHash('sha256').update(b).digest('hex');
    fake.setTranscript((req) => (req.file.sha256 === hashOf(two)
      ? { language: 'en', duration: 2, segments: [{ start: 0.5, end: 1.5, text: 'the second tone', speaker: 'A' }] }
      : { duration: 2, segments: [{ start: 0, end: 2, text: 'the first tone' }] }));
    let r = await transcribe(fake, { bytes: two });
    assert.equal(r.body.language, 'en');
    assert.deepEqual(r.body.segments.map((s) => [s.start, s.end, s.text, s.speaker]), [[0.5, 1.5, ' the second tone', 'A']]);
    r = await transcribe(fake, { bytes: one });
    assert.equal(r.body.segments[0].text, ' the first tone');
    fake.setTranscript(() => '{"segments": [ broken');
    const res = await fetch(fake.transcriptionsUrl, {
      method: 'POST', headers: { Authorization: `Bearer ${fake.apiKey}` }, body: (() => {
        const f = new FormData();
        f.append('model', 'whisper-1');
        f.append('response_format', 'verbose_json');
        f.append('file', new Blob([one]), 'x.wav');
        return f;
      })(),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"segments": [ broken');
  });

  it('fails in the scripted order: 429 with Retry-After, 500, a hang, then answers', async () => {
    const fake = await setup();
    fake.failNext([{ status: 429, retryAfter: 2 }, { status: 500 }, { hang: true }]);
    assert.equal(fake.pendingFailures(), 3);

    let r = await transcribe(fake);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(r.body.error.code, 'rate_limit_exceeded');
    r = await transcribe(fake);
    assert.equal(r.status, 500);
    assert.equal(r.body.error.type, 'server_error');
    assert.equal(r.headers.get('retry-after'), null);

    const controller = new AbortController();
    const hung = transcribe(fake, { signal: controller.signal });
    const deadline = Date.now() + 5000;
    while (fake.requests.length < 3 || fake.requests[2].failure === null) {
      assert.ok(Date.now() < deadline, 'the third request did not arrive');
      await new Promise((res) => setTimeout(res, 5));
    }
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });

    r = await transcribe(fake);
    assert.equal(r.status, 200);
    assert.equal(fake.pendingFailures(), 0);
    assert.deepEqual(fake.requests.map((q) => [q.status, q.failure?.status ?? (q.failure?.hang ? 'hang' : null)]),
      [[429, 429], [500, 500], [0, 'hang'], [200, null]]);
    // Every request was recorded in full, failed or not.
    assert.ok(fake.requests.every((q) => q.file?.filename === 'call.wav' && q.fields.model === 'whisper-1'));
    assert.equal(fake.transcriptions().length, 1);
  });

  it('drops a connection when told to, and refuses a file over its upload limit', async () => {
    const fake = await setup({ maxFileBytes: 10000 });
    fake.failNext([{ drop: true }]);
    await assert.rejects(transcribe(fake));
    const small = await transcribe(fake, { bytes: sineWav(0.5) });
    assert.equal(small.status, 200);
    const big = await transcribe(fake, { bytes: sineWav(1) });
    assert.equal(big.status, 413);
    assert.match(big.body.error.message, /Maximum content size limit \(10000\)/);
    assert.equal(fake.requests[2].file.size, 44 + 16000);
  });

  it('answers chat completions with a summary and records the request', async () => {
    const fake = await setup();
    const messages = [
      { role: 'system', content: 'Summarize the call.' },
      { role: 'user', content: '[00:00:00] host 1234: Hello.\n[00:00:05] speaker 5678: Hi.\n' },
    ];
    let r = await chat(fake, { model: 'gpt-4o-mini', messages });
    assert.equal(r.status, 200);
    assert.equal(r.body.object, 'chat.completion');
    assert.equal(r.body.model, 'gpt-4o-mini');
    assert.equal(r.body.choices[0].message.role, 'assistant');
    assert.equal(r.body.choices[0].message.content, '## Summary\n\n2 lines were said.');
    assert.deepEqual(fake.completions()[0].json, { model: 'gpt-4o-mini', messages });

    fake.setSummary((req) => `Summary for ${req.json.model}`);
    fake.failNext([{ status: 429, retryAfter: 1 }], { endpoint: 'chat' });
    r = await chat(fake, { model: 'm', messages });
    assert.equal(r.status, 429);
    r = await chat(fake, { model: 'm', messages });
    assert.equal(r.body.choices[0].message.content, 'Summary for m');
    r = await chat(fake, { model: 'm', messages: [] });
    assert.equal(r.status, 400);
    assert.equal(fake.completions().length, 2);
    assert.equal(fake.transcriptions().length, 0);
  });

  it('answers 404 and 405 elsewhere, in OpenAI\'s error shape; GET /v1/models with the key only', async () => {
    const fake = await setup();
    let res = await fetch(`${fake.origin}/v1/engines`, { headers: { Authorization: `Bearer ${fake.apiKey}` } });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /Invalid URL/);
    res = await fetch(`${fake.origin}/v1/models`, { headers: { Authorization: `Bearer ${fake.apiKey}` } });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).data.some((m) => m.id === 'whisper-1'));
    res = await fetch(`${fake.origin}/v1/models`, { headers: { Authorization: 'Bearer sk-wrong' } });
    assert.equal(res.status, 401);
    res = await fetch(fake.transcriptionsUrl, { headers: { Authorization: `Bearer ${fake.apiKey}` } });
    assert.equal(res.status, 405);
  });
});
