// A node:test reporter for scripts/test-repeat.sh: one line "<file> pass|fail" per test file once
// the run is over. A file fails when one of its top-level tests or suites fails (a file that does
// not load counts as a failed top-level test).
//   node --test --test-reporter=./tools/file-results.mjs *.test.mjs
import { basename } from 'node:path';

export default async function* fileResults(source) {
  const failed = new Map(); // file name -> whether a top-level test failed
  for await (const { type, data } of source) {
    if ((type !== 'test:pass' && type !== 'test:fail') || data.nesting !== 0) continue;
    // Node 18 wraps each file in a top-level test named by its path; Node 20 names the file.
    const file = basename(data.file ?? data.name);
    failed.set(file, failed.get(file) === true || type === 'test:fail');
  }
  for (const [file, f] of failed) yield `${file} ${f ? 'fail' : 'pass'}\n`;
}
