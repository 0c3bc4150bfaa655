/*
 * The library: past sessions, newest first and grouped by the browser's local day, filtered by
 * room, dates and a caller's last 4 digits (the filters live in the URL, so a reload or the back
 * button keeps them). A session (?session=CF…) plays and downloads its recordings and shows its
 * report; a copy that gave up can be retried, and an admin can delete a recording.
 *
 * Test hooks (data-testid):
 *   page          sign-out, nav-live, page-message, filters, filter-room, filter-from, filter-to,
 *                 filter-q, filter-submit, list-view, list-status, days, load-more, detail-view,
 *                 back, confirm-dialog, confirm-ok, confirm-cancel
 *   list          day-D (D = YYYY-MM-DD), day-title-D, session-C (the row, a link), room-C,
 *   (conference C) start-C, duration-C, peak-C, no-recording-C, row-recording-R (data-state),
 *   (recording R) row-track-R (a caller's track), row-state-R, row-size-R, row-expires-R, row-error-R
 *   session       detail-title, detail-started, detail-ended, detail-duration, detail-peak,
 *                 recording-R (data-state), track-R, state-R, length-R, size-R, expires-R, error-R,
 *                 audio-R, download-R, retry-R, delete-R, message-R (role=alert), note-R,
 *                 participant-S, caller-S, role-S, consent-S, joined-S, left-S, taken-S
 *                 (CallSid S), no-participants, actions, action-N (N from 0), no-actions
 */
import { errorText, goToSignIn, sendJson, SIGN_IN } from './api.js';

const PAGE = '/console/sessions';
const FILTERS = ['room', 'from', 'to', 'q'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];
const STATES = {
  stored: 'Stored', copying: 'Copying…', failed: 'Copy failed', dead: 'Copy gave up',
  deleted: 'Deleted',
};
const CONSENT = { notice: 'Heard the notice', press1: 'Pressed 1' };

const form = document.getElementById('filters');
const listView = document.getElementById('list-view');
const detailView = document.getElementById('detail-view');
const detail = document.getElementById('detail');
const days = document.getElementById('days');
const more = document.getElementById('more');
const roomSelect = document.getElementById('f-room');

let list = null;       // { query, sessions, next, loading, failed }: the list last asked for
let role = null;       // the signed-in user's role, once known
let shownSid = null;   // the session the detail view shows
let shown = null;      // and its last answer, once there is one
let detailSeq = 0;     // answers to an older detail request are dropped
const notes = new Map();  // RecordingSid -> { error, text }: what the last action on it gave

// Builds an element; strings become text nodes, so the service's data can never become markup.
function el(tag, attrs = {}, ...children) {
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

function pageMessage(text) {
  document.getElementById('page-message').textContent = text;
}

function parseTime(iso) {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? null : new Date(ms);
}

const pad = (n) => String(n).padStart(2, '0');
const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const dateText = (d) => `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
const dayTitle = (d) => `${DAYS[d.getDay()]} ${dateText(d)}`;
const timeText = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function durationText(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = pad(total % 60);
  return h > 0 ? `${h}:${pad(m)}:${s}` : `${m}:${s}`;
}

function sizeText(bytes) {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const peopleText = (n) => `${n} ${n === 1 ? 'person' : 'people'} at most`;
const recordingPath = (sid, rest = '') => '/api/recordings/' + encodeURIComponent(sid) + rest;
const audioPath = (sid) => recordingPath(sid, '/audio');

// The filters of a URL query or a form, in a fixed order and without empty ones.
function filtersOf(source) {
  const out = new URLSearchParams();
  for (const key of FILTERS) {
    const value = String(source.get(key) ?? '').trim();
    if (value !== '') out.set(key, value);
  }
  return out;
}

function withQuery(path, params) {
  const query = params.toString();
  return query === '' ? path : path + '?' + query;
}

function sessionHref(sid) {
  const params = filtersOf(new URLSearchParams(window.location.search));
  params.set('session', sid);
  return withQuery(PAGE, params);
}

// A GET of the API: its JSON, or null once a 401 went to sign in or a failure was shown.
async function getJson(path, what) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin' });
  } catch {
    pageMessage(`${what}: could not reach the server.`);
    return null;
  }
  if (response.status === 401) {
    goToSignIn();
    return null;
  }
  if (!response.ok) {
    pageMessage(`${what}: ${await errorText(response)}`);
    return null;
  }
  try {
    return await response.json();
  } catch {
    pageMessage(`${what}: the answer was not JSON.`);
    return null;
  }
}

function confirmDialog(text, okLabel) {
  const dialog = document.getElementById('confirm');
  if (typeof dialog.showModal !== 'function') return Promise.resolve(window.confirm(text));
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

// A plain click follows the link inside the page; a middle or modified click opens a tab.
function followInPage(link, go) {
  link.addEventListener('click', (event) => {
    const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
    if (event.button !== 0 || modified) return;
    event.preventDefault();
    go();
  });
}

function navigate(url, state = {}) {
  const here = window.location.pathname + window.location.search;
  if (url !== here) window.history.pushState(state, '', url);
  route();
}

// --- the list ---

// State, size, expiry and error of a recording (and its length, on its session's page); the
// list's hooks carry the prefix "row-".
function recordingFacts(rec, prefix) {
  const sid = String(rec.recording_sid);
  const state = String(rec.state);
  const gone = state === 'deleted';
  const expires = gone ? null : parseTime(rec.expires_at);
  const failed = state === 'failed' || state === 'dead';
  // A caller's own track (rooms with tracks) says whose voice it is.
  const whose = rec.kind === 'track'
    ? ['Track', rec.caller, rec.role].filter((part) => typeof part === 'string' && part !== '')
    : null;
  return [
    whose ? el('span', { class: 'tag', testid: prefix + 'track-' + sid }, whose.join(' · ')) : null,
    el('span', { class: 'state state-' + state, testid: prefix + 'state-' + sid },
       STATES[state] ?? state),
    prefix === '' && !gone && typeof rec.duration_seconds === 'number'
      ? el('span', { testid: prefix + 'length-' + sid }, durationText(rec.duration_seconds)) : null,
    !gone && typeof rec.bytes === 'number'
      ? el('span', { testid: prefix + 'size-' + sid }, sizeText(rec.bytes)) : null,
    expires
      ? el('span', { testid: prefix + 'expires-' + sid }, 'expires ' + dateText(expires)) : null,
    failed && rec.last_error
      ? el('span', { class: 'error', testid: prefix + 'error-' + sid }, String(rec.last_error))
      : null,
  ];
}

function sessionRow(session) {
  const sid = String(session.conference_sid);
  const start = parseTime(session.started_at);
  const recordings = Array.isArray(session.recordings) ? session.recordings : [];
  const recs = recordings.map((rec) => {
    const item = el('li', { testid: 'row-recording-' + rec.recording_sid },
                    ...recordingFacts(rec, 'row-'));
    item.dataset.state = String(rec.state);
    return item;
  });
  const href = sessionHref(sid);
  const link = el('a', { class: 'session', href, testid: 'session-' + sid },
      el('strong', { class: 'room-name', testid: 'room-' + sid }, String(session.room ?? '')),
      el('time', { testid: 'start-' + sid, datetime: start?.toISOString() },
         start ? timeText(start) : '–'),
      el('span', { testid: 'duration-' + sid }, durationText(session.duration_seconds)),
      el('span', { testid: 'peak-' + sid }, peopleText(Number(session.peak_participants) || 0)),
      recs.length > 0
        ? el('ul', { class: 'recs' }, ...recs)
        : el('span', { class: 'recs', testid: 'no-recording-' + sid }, 'No recording'));
  followInPage(link, () => navigate(href, { session: true }));
  return el('li', {}, link);
}

function renderList() {
  const groups = new Map();  // day key -> { title, rows }, in the list's order (newest first)
  for (const session of list.sessions) {
    const start = parseTime(session.started_at);
    const key = start ? dayKey(start) : 'unknown';
    if (!groups.has(key)) {
      groups.set(key, { title: start ? dayTitle(start) : 'Unknown day', rows: [] });
    }
    groups.get(key).rows.push(sessionRow(session));
  }
  days.replaceChildren(...[...groups].map(([key, group]) =>
    el('section', { class: 'day', testid: 'day-' + key },
       el('h3', { testid: 'day-title-' + key }, group.title),
       el('ul', { class: 'sessions' }, ...group.rows))));

  let status = '';
  if (list.loading && list.sessions.length === 0) status = 'Loading sessions…';
  else if (!list.failed && !list.loading && list.sessions.length === 0) {
    status = list.query === '' ? 'No sessions recorded yet.' : 'No sessions match these filters.';
  }
  document.getElementById('list-status').textContent = status;
  more.hidden = list.next === null || list.next === undefined;
  more.disabled = list.loading;
  if (list.loading) more.setAttribute('aria-busy', 'true');
  else more.removeAttribute('aria-busy');
}

async function loadPage(target, cursor) {
  const params = new URLSearchParams(target.query);
  if (cursor !== null) params.set('cursor', cursor);
  target.loading = true;
  target.failed = false;
  renderList();
  const body = await getJson(withQuery('/api/sessions', params), 'Could not load the sessions');
  if (list !== target) return;  // the filters changed meanwhile
  target.loading = false;
  if (body && Array.isArray(body.sessions)) {
    target.sessions.push(...body.sessions);
    target.next = body.next_cursor ?? null;
  } else {
    target.failed = true;
  }
  renderList();
}

function fillForm(params) {
  for (const key of FILTERS) form.elements[key].value = params.get(key) ?? '';
  const room = params.get('room');
  if (room && roomSelect.value !== room) {
    roomSelect.append(el('option', { value: room }, room));
    roomSelect.value = room;
  }
}

function showList(params) {
  shownSid = null;
  shown = null;
  detailSeq += 1;
  detailView.hidden = true;
  listView.hidden = false;
  document.title = 'Sessions · Partyline';
  fillForm(params);
  const query = params.toString();
  if (list && list.query === query && !list.failed) return;  // back from a session: as it was
  list = { query, sessions: [], next: null, loading: false, failed: false };
  loadPage(list, null);
}

function applyFilters(event) {
  event.preventDefault();
  const url = withQuery(PAGE, filtersOf(new FormData(form)));
  const here = window.location.pathname + window.location.search;
  // A run of filter changes makes one history entry, so back leaves the filters at once.
  if (url !== here) {
    if (window.history.state?.filters) window.history.replaceState({ filters: true }, '', url);
    else window.history.pushState({ filters: true }, '', url);
  }
  list = null;  // asked again even when unchanged: a search is also a refresh
  route();
}

// --- a session ---

// The list shows what the session's page last said of it (a retried or deleted recording).
function updateList(session) {
  const at = list?.sessions.findIndex((s) => s.conference_sid === session.conference_sid) ?? -1;
  if (at < 0) return;
  const { participants, actions, ...summary } = session;
  list.sessions[at] = summary;
  renderList();
}

// One request for a recording's button; the session is then asked again, whatever the answer.
async function act(button, sid, { what, method, path, body, done }) {
  const session = shownSid;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  notes.delete(sid);
  let response = null;
  try {
    response = await sendJson(method, path, body);
  } catch {
    notes.set(sid, { error: true, text: `${what} failed: could not reach the server.` });
  }
  if (response && response.status === 401) {
    goToSignIn();
    return;
  }
  if (response && response.ok) {
    notes.set(sid, { error: false, text: done });
    list = null;  // the list shows the state before: asked again on the way back
  }
  else if (response) {
    notes.set(sid, { error: true, text: `${what} failed: ${await errorText(response)}` });
  }
  if (shownSid !== session) return;  // the user went elsewhere meanwhile
  if (response) await showDetail(session);
  else if (shown) renderDetail(shown);
  // A rebuilt view loses the focus; give it back to the keyboard user who pressed the button.
  if (document.activeElement === document.body) {
    detail.querySelector(`[data-testid="${CSS.escape(button.dataset.testid)}"]`)?.focus();
  }
}

function retry(button, rec) {
  const sid = String(rec.recording_sid);
  return act(button, sid, {
    what: 'Retrying the copy', method: 'POST', path: recordingPath(sid, '/retry'), body: {},
    done: 'Queued again.',
  });
}

async function remove(button, session, rec) {
  const sid = String(rec.recording_sid);
  const start = parseTime(session.started_at);
  const when = start ? ` from ${dayTitle(start)}, ${timeText(start)}` : '';
  const question = `Delete the recording of ${session.room}${when}? It cannot be undone.`;
  if (!(await confirmDialog(question, 'Delete'))) return;
  await act(button, sid, {
    what: 'Deleting the recording', method: 'DELETE', path: recordingPath(sid), done: 'Deleted.',
  });
}

function recordingItem(session, rec, oldAudio) {
  const sid = String(rec.recording_sid);
  const state = String(rec.state);
  const note = notes.get(sid);
  let audio = null;
  if (state === 'stored') {
    // The same player again keeps playing through a reload of the session.
    audio = oldAudio.get(sid) ?? el('audio', {
      controls: true, preload: 'metadata', src: audioPath(sid), testid: 'audio-' + sid,
      'aria-label': `Recording of ${session.room}`,
    }, 'This browser cannot play the recording; download it instead.');
  }
  const controls = el('div', { class: 'controls' });
  if (state === 'stored') {
    const href = audioPath(sid) + '?download=1';
    controls.append(el('a', { class: 'button', href, testid: 'download-' + sid }, 'Download'));
  }
  if (state === 'dead' || state === 'failed') {
    const button = el('button', { type: 'button', testid: 'retry-' + sid }, 'Retry the copy');
    button.addEventListener('click', () => retry(button, rec));
    controls.append(button);
  }
  if (role === 'admin' && state !== 'deleted') {
    const button = el('button', { type: 'button', class: 'danger', testid: 'delete-' + sid },
                      'Delete');
    button.addEventListener('click', () => remove(button, session, rec));
    controls.append(button);
  }
  const item = el('li', { class: 'recording', testid: 'recording-' + sid },
      el('div', { class: 'rec-facts' }, ...recordingFacts(rec, '')),
      audio,
      controls.childElementCount > 0 ? controls : null,
      el('p', { class: 'message', role: 'alert', testid: 'message-' + sid },
         note?.error ? note.text : ''),
      el('p', { class: 'note', role: 'status', testid: 'note-' + sid },
         note && !note.error ? note.text : ''));
  item.dataset.state = state;
  return item;
}

function timeCell(iso, testid) {
  const at = parseTime(iso);
  return el('time', { testid, datetime: at?.toISOString() }, at ? at.toLocaleTimeString() : '–');
}

function actionText(action) {
  const what = String(action.action ?? '');
  return action.result === 'ok' ? what : `${what} (refused: ${action.result ?? ''})`;
}

function participantItem(person, actions) {
  const sid = String(person.call_sid);
  const taken = actions.filter((a) => a.call_sid === person.call_sid);
  return el('li', { class: 'person', testid: 'participant-' + sid },
      el('div', { class: 'who' },
         el('strong', { testid: 'caller-' + sid }, String(person.caller ?? '')),
         el('span', { class: 'tag', testid: 'role-' + sid }, String(person.role ?? ''))),
      el('div', { class: 'times' },
         el('span', { testid: 'consent-' + sid }, CONSENT[person.consent] ?? 'No consent asked'),
         ' · joined ', timeCell(person.joined_at, 'joined-' + sid),
         ' · left ', timeCell(person.left_at, 'left-' + sid)),
      taken.length > 0
        ? el('div', { class: 'times', testid: 'taken-' + sid },
             'Console: ' + taken.map((a) => `${actionText(a)} by ${a.by ?? '?'}`).join(', '))
        : null);
}

function actionItem(action, index) {
  const at = parseTime(action.at);
  const refused = action.result !== 'ok';
  return el('li', { testid: 'action-' + index, class: refused ? 'refused' : '' },
      el('time', { datetime: at?.toISOString() }, at ? at.toLocaleTimeString() : '–'), ' ',
      el('strong', {}, String(action.by ?? '?')), ' ', String(action.action ?? ''),
      action.caller ? ' ' + action.caller : '',
      refused ? el('span', { class: 'error' }, ' — refused: ' + String(action.result ?? ''))
              : ' — ok');
}

function block(title, ...content) {
  return el('section', { class: 'block' }, el('h3', {}, title), ...content);
}

function renderDetail(session) {
  const start = parseTime(session.started_at);
  const end = parseTime(session.ended_at);
  const recordings = Array.isArray(session.recordings) ? session.recordings : [];
  const people = Array.isArray(session.participants) ? session.participants : [];
  const actions = Array.isArray(session.actions) ? session.actions : [];
  const oldAudio = new Map([...detail.querySelectorAll('audio')]
      .map((node) => [node.dataset.testid.slice('audio-'.length), node]));
  const focused = document.activeElement?.dataset?.testid;
  document.title = `${session.room}${start ? ', ' + dateText(start) : ''} · Partyline`;

  detail.replaceChildren(
      el('h2', { testid: 'detail-title' },
         `${session.room ?? ''}${start ? ' — ' + dayTitle(start) : ''}`),
      el('ul', { class: 'facts' },
         el('li', {}, 'Started ',
            el('span', { testid: 'detail-started' }, start ? timeText(start) : '–')),
         el('li', {}, 'ended ',
            el('span', { testid: 'detail-ended' }, end ? timeText(end) : '–')),
         el('li', { testid: 'detail-duration' }, durationText(session.duration_seconds)),
         el('li', { testid: 'detail-peak' }, peopleText(Number(session.peak_participants) || 0))),
      block('Recordings', recordings.length > 0
        ? el('ul', { class: 'recordings' },
             ...recordings.map((r) => recordingItem(session, r, oldAudio)))
        : el('p', { class: 'hint' }, 'No recording.')),
      block('Participants', people.length > 0
        ? el('ul', { class: 'people' }, ...people.map((p) => participantItem(p, actions)))
        : el('p', { class: 'hint', testid: 'no-participants' }, 'No one joined.')),
      block('Console actions', actions.length > 0
        ? el('ol', { class: 'log', testid: 'actions' }, ...actions.map(actionItem))
        : el('p', { class: 'hint', testid: 'no-actions' }, 'None.')));
  if (focused) detail.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
}

async function showDetail(sid) {
  const seq = ++detailSeq;
  listView.hidden = true;
  detailView.hidden = false;
  if (shownSid !== sid) {
    shownSid = sid;
    shown = null;
    notes.clear();
    detail.replaceChildren(el('p', { class: 'hint' }, 'Loading the session…'));
  }
  const back = document.getElementById('back');
  back.href = withQuery(PAGE, filtersOf(new URLSearchParams(window.location.search)));
  const [session] = await Promise.all([
    getJson('/api/sessions/' + encodeURIComponent(sid), 'Could not load the session'), roleKnown]);
  if (seq !== detailSeq) return;  // another view was asked for meanwhile
  if (!session) {
    if (shown === null) detail.replaceChildren();  // a failed reload keeps what was shown
    return;
  }
  shown = session;
  updateList(session);
  renderDetail(session);
}

// --- the page ---

function route() {
  const params = new URLSearchParams(window.location.search);
  pageMessage('');
  const sid = params.get('session');
  if (sid) showDetail(sid);
  else showList(filtersOf(params));
}

async function loadRole() {
  let response;
  try {
    response = await fetch('/api/session', { credentials: 'same-origin' });
  } catch {
    return;  // unknown: no Delete button, and the list says whether the server is there
  }
  if (response.status === 401) {
    goToSignIn();
    return;
  }
  if (!response.ok) return;
  try {
    role = (await response.json())?.role ?? null;
  } catch {
    role = null;
  }
}

async function loadRooms() {
  const rooms = await getJson('/api/rooms', 'Could not load the rooms');
  if (!Array.isArray(rooms)) return;
  const known = new Set([...roomSelect.options].map((o) => o.value));
  for (const room of rooms) {
    const name = String(room?.name ?? '');
    if (name !== '' && !known.has(name)) roomSelect.append(el('option', { value: name }, name));
  }
}

async function signOut() {
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
  window.location.assign(SIGN_IN);
}

const roleKnown = loadRole();
document.getElementById('sign-out').addEventListener('click', signOut);
form.addEventListener('submit', applyFilters);
for (const field of [roomSelect, form.elements.from, form.elements.to]) {
  field.addEventListener('change', applyFilters);
}
more.addEventListener('click', () => loadPage(list, list.next));
followInPage(document.getElementById('back'), () => {
  // Came from the list: go back to it, where the browser also restores the scroll position.
  if (window.history.state?.session) window.history.back();
  else navigate(document.getElementById('back').getAttribute('href'));
});
window.addEventListener('popstate', route);
loadRooms();
route();
