// Scrape and parse GET /metrics (Prometheus text format 0.0.4).
import assert from 'node:assert/strict';
import { request } from './http.mjs';

/**
 * Parse the exposition text. Returns { samples: [{ name, labels, value }], types: Map name->type,
 * get(name, labels = {}) -> value or undefined (labels must match exactly) }.
 * Throws on a line that is neither a comment nor a well-formed sample.
 */
export function parseMetrics(text) {
  const samples = [];
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let at = 0;
      while (at < m[2].length) {
        re.lastIndex = at;
        const l = re.exec(m[2]);
        if (!l) throw new Error(`malformed labels: ${JSON.stringify(line)}`);
        labels[l[1]] = l[2];
        at = re.lastIndex;
      }
    }
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (Number.isNaN(v) && m[3] !== 'NaN') throw new Error(`malformed value: ${JSON.stringify(line)}`);
    samples.push({ name: m[1], labels, value: v });
  }
  const same = (a, b) => {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
  };
  return {
    samples,
    types,
    get(name, labels = {}) {
      return samples.find((s) => s.name === name && same(s.labels, labels))?.value;
    },
    all(name) {
      return samples.filter((s) => s.name === name);
    },
  };
}

/** GET /metrics (optionally with a bearer token); asserts 200 and returns the parsed text. */
// With a token: the public port (METRICS_TOKEN); without: the metrics listener where there is one
// (production), else the public port (local mode).
export async function scrape(srv, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const port = token || !srv.metricsPort ? srv.port : srv.metricsPort;
  const r = await request(port, { path: '/metrics', headers });
  assert.equal(r.status, 200, `GET /metrics: ${r.status} ${r.body}`);
  const m = parseMetrics(r.body);
  m.response = r;
  return m;
}
