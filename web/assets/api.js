// What both pages share: the JSON calls to the service's API and where a signed-out user goes.

export const SIGN_IN = '/console/sign-in';
export const HOME = '/console';

// The page to return to after signing in: a path of this console on this site, never elsewhere
// (an attacker's link could otherwise send a freshly signed-in user to a look-alike site).
export function safeNext(next) {
  if (typeof next !== 'string' || next === '' || !next.startsWith('/') || next.startsWith('//') ||
      next.includes('\\')) {
    return HOME;
  }
  let url;
  try {
    url = new URL(next, window.location.origin);
  } catch {
    return HOME;
  }
  if (url.origin !== window.location.origin) return HOME;
  if (url.pathname !== HOME && !url.pathname.startsWith(HOME + '/')) return HOME;
  if (url.pathname === SIGN_IN) return HOME;
  return url.pathname + url.search + url.hash;
}

export function goToSignIn() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(SIGN_IN + '?next=' + encodeURIComponent(here));
}

// fetch with a JSON body (when given). The Content-Type also makes a cross-site request need a
// CORS preflight, which the service never grants.
export function sendJson(method, path, body) {
  const init = { method, headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) init.body = JSON.stringify(body);
  return fetch(path, init);
}

// The service's message for a refused request: its JSON `error`, or the status.
export async function errorText(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error === 'string' && body.error !== '') return body.error;
  } catch {
    // not JSON: the status says enough
  }
  return 'HTTP ' + response.status + (response.statusText ? ' ' + response.statusText : '');
}

// Builds an element; strings become text nodes, so the service's data can never become markup.
// `testid` sets data-testid, `class` the class; true is an empty attribute, false or null none.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'testid') node.dataset.testid = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

// The page's message line (role=alert): why something did not work.
export function pageMessage(text) {
  document.getElementById('page-message').textContent = text;
}

// Signs out, then goes to the sign-in page; `beforeLeaving` closes what the page keeps open.
export async function signOut(beforeLeaving = () => {}) {
  let response;
  try {
    response = await sendJson('DELETE', '/api/session');
  } catch {
    pageMessage('Sign-out failed: could not reach the server.');
    return;
  }
  if (!response.ok && response.status !== 401) {
    pageMessage('Sign-out failed: ' + await errorText(response));
    return;
  }
  beforeLeaving();
  window.location.assign(SIGN_IN);
}
