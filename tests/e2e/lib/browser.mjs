// What the browser tests share: Debian's chromium driven by playwright-core, and a page watched
// for Content-Security-Policy violations and uncaught errors.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Headless chromium; as root (CI's containers) without its sandbox, which needs a user. */
export function launchChromium(extraArgs = []) {
  const args = [...extraArgs, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * A new page of `context`; every CSP violation (the DOM event and the console's report) and
 * every uncaught error on it is pushed onto `problems`.
 */
export async function newWatchedPage(context, problems) {
  await context.exposeBinding('reportCspViolation', (_source, v) => problems.push(`CSP: ${v}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return page;
}
