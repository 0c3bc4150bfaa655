/*
 * The library: past sessions, newest first and grouped by the browser's local day, filtered by
 * room, dates and a caller's last 4 digits or words said (the filters live in the URL, so a reload
 * or the back button keeps them); a search of words shows each session's best line and opens the
 * session at it. A session (?session=CF…[&t=seconds[&rec=RE…]]) plays and downloads its
 * recordings, shows its summary, its transcript beside the player (a line seeks there; the line
 * being spoken is marked) and its report; a copy that gave up can be retried, and an admin can
 * delete a recording.
 *
 * Test hooks (data-testid):
 *   page          sign-out, nav-live, page-message, filters, filter-room, filter-from, filter-to,
 *                 filter-q, filter-submit, list-view, list-status, days, load-more, detail-view,
 *                 back, confirm-dialog, confirm-ok, confirm-cancel
 *   list          day-D (D = YYYY-MM-DD), day-title-D, session-C (the row, a link), room-C,
 *   (conference C) start-C, duration-C, peak-C, no-recording-C, row-recording-R (data-state),
 *   (recording R) row-track-R (a caller's track), row-state-R, row-size-R, row-expires-R, row-error-R,
 *                 match-C (the line a search of words found)
 *   session       detail-title, detail-started, detail-ended, detail-duration, detail-peak, summary,
 *                 recording-R (data-state), track-R, state-R, length-R, size-R, expires-R, error-R,
 *                 audio-R, captions-R (its <track>), transcript, line-N (a button when it plays;
 *                 aria-current while spoken), line-time-N (N from 0), no-transcript-lines,
 *                 download-R, retry-R, delete-R, message-R (role=alert), note-R,
 *                 participant-S, caller-S, role-S, consent-S, joined-S, left-S, taken-S
 *                 (CallSid S), no-participants, actions, action-N (N from 0), no-actions
 */
import { el, errorText, goToSignIn, pageMessage, sendJson, signOut } from './api.js';

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
// A line starting this close after the playing time is already the one spoken (a seek to a
// line's start may land a hair before it).
const LINE_SLACK = 0.05;

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
// The transcript beside its player: { audio, segments, lines, box, current }, or null.
let transcriptView = null;

function parseTime(iso) {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? null : new Date(ms);
}

const pad = (n) => String(n).padStart(2, '0');
const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const dateText = (d) => `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
const dayTitle = (d) => `${DAYS[d.getDay()]} ${dateText(d)}`;
const timeText = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

// Whole seconds as m:ss, or h:mm:ss from an hour.
function clockText(total) {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = pad(total % 60);
  return h > 0 ? `${h}:${pad(m)}:${s}` : `${m}:${s}`;
}

function durationText(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  return clockText(Math.max(0, Math.round(seconds)));
}

// A time in a recording (a transcript line's start), or 0 when the service sent none.
const secondsOf = (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0
  ? value : 0);
// The second a line starts in, as a player shows it (not rounded up to the next one).
const atText = (seconds) => clockText(Math.floor(seconds));
const atElement = (seconds, attrs = {}) =>
  el('time', { ...attrs, datetime: `PT${Math.floor(seconds)}S` }, atText(seconds));

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

// A session's page; `at` (seconds) opens it at that moment of the transcript's recording, or of
// the caller's track `rec`.
function sessionHref(sid, at = null, rec = null) {
  const params = filtersOf(new URLSearchParams(window.location.search));
  params.set('session', sid);
  if (at !== null) params.set('t', String(Math.round(at * 100) / 100));
  if (rec !== null) params.set('rec', rec);
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

// The line a search of words found in the session: { recording_sid, at, speaker, text } or null.
function matchOf(session) {
  const match = session.match;
  if (!match || typeof match !== 'object' || typeof match.recording_sid !== 'string') return null;
  return {
    recording_sid: match.recording_sid, at: secondsOf(match.at),
    speaker: typeof match.speaker === 'string' ? match.speaker : '', text: String(match.text ?? ''),
  };
}

function matchLine(sid, match) {
  return el('span', { class: 'match', testid: 'match-' + sid },
      atElement(match.at), ' ',
      match.speaker !== '' ? el('strong', {}, match.speaker + ':') : null,
      match.speaker !== '' ? ' ' : null,
      match.text);
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
  const match = matchOf(session);
  // A caller's track has a time line of its own (it starts when they joined): open that player.
  const onTrack = match !== null && recordings.some((rec) =>
    rec.recording_sid === match.recording_sid && rec.kind === 'track');
  const href = match
    ? sessionHref(sid, match.at, onTrack ? match.recording_sid : null) : sessionHref(sid);
  const link = el('a', { class: 'session', href, testid: 'session-' + sid },
      el('strong', { class: 'room-name', testid: 'room-' + sid }, String(session.room ?? '')),
      el('time', { testid: 'start-' + sid, datetime: start?.toISOString() },
         start ? timeText(start) : '–'),
      el('span', { testid: 'duration-' + sid }, durationText(session.duration_seconds)),
      el('span', { testid: 'peak-' + sid }, peopleText(Number(session.peak_participants) || 0)),
      recs.length > 0
        ? el('ul', { class: 'recs' }, ...recs)
        : el('span', { class: 'recs', testid: 'no-recording-' + sid }, 'No recording'),
      match ? matchLine(sid, match) : null);
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
  transcriptView = null;
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
  const { participants, actions, transcript, summary, ...row } = session;
  // The line a search found is the list's own: the session's page does not send it.
  if (list.sessions[at].match) row.match = list.sessions[at].match;
  list.sessions[at] = row;
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

// --- the transcript beside its player ---

// The session's transcript ({ recording_sid, language, segments }), or null.
function transcriptOf(session) {
  const transcript = session.transcript;
  if (!transcript || typeof transcript !== 'object') return null;
  return typeof transcript.recording_sid === 'string' ? transcript : null;
}

const audioOf = (sid) => detail.querySelector(`audio[data-testid="${CSS.escape('audio-' + sid)}"]`);

// Keeps a line in sight in the transcript's own scroll box, not moving the page.
function reveal(box, line) {
  if (box.scrollHeight <= box.clientHeight) return;
  const top = line.offsetTop;
  if (top >= box.scrollTop && top + line.offsetHeight <= box.scrollTop + box.clientHeight) return;
  box.scrollTop = Math.max(0, top - box.clientHeight / 3);
}

// Marks the line being spoken at the player's time: the latest to start of those not yet ended.
function markLine(audio) {
  const view = transcriptView;
  if (!view || view.audio !== audio) return;
  const now = audio.currentTime;
  let current = -1;
  view.segments.forEach((segment, i) => {
    const start = secondsOf(segment.start);
    const end = typeof segment.end === 'number' && segment.end > start ? segment.end : Infinity;
    if (start > now + LINE_SLACK || now >= end) return;
    if (current < 0 || start >= secondsOf(view.segments[current].start)) current = i;
  });
  if (current === view.current) return;
  view.current = current;
  view.lines.forEach((line, i) => {
    line.classList.toggle('is-current', i === current);
    if (i === current) line.setAttribute('aria-current', 'true');
    else line.removeAttribute('aria-current');
  });
  if (current >= 0) reveal(view.box, view.lines[current]);
}

function playFrom(audio, start) {
  audio.currentTime = start;
  // A refused play (a browser's policy, no sound device) leaves the player at the line, paused.
  audio.play()?.catch(() => {});
}

// One line per segment: its time, its speaker when known, what was said; a button that plays
// from there when the recording has a player.
function transcriptLines(transcript, audio) {
  const segments = (Array.isArray(transcript.segments) ? transcript.segments : [])
      .filter((segment) => segment && typeof segment === 'object');
  if (segments.length === 0) {
    return el('p', { class: 'hint', testid: 'no-transcript-lines' }, 'Nothing was said.');
  }
  const lines = segments.map((segment, i) => {
    const start = secondsOf(segment.start);
    const speaker = typeof segment.speaker === 'string' ? segment.speaker : '';
    const content = [
      atElement(start, { testid: 'line-time-' + i }), ' ',
      speaker !== '' ? el('strong', { class: 'speaker' }, speaker) : null, speaker !== '' ? ' ' : null,
      el('span', { class: 'said' }, String(segment.text ?? '')),
    ];
    if (!audio) return el('span', { class: 'line', testid: 'line-' + i }, ...content);
    const line = el('button', { type: 'button', class: 'line', testid: 'line-' + i }, ...content);
    line.addEventListener('click', () => playFrom(audio, start));
    return line;
  });
  // Whisper's servers name the language ("english") as often as they code it ("en").
  const language = typeof transcript.language === 'string' &&
    /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(transcript.language) ? transcript.language : null;
  const box = el('ol', { class: 'transcript', testid: 'transcript', lang: language },
                 ...lines.map((line) => el('li', {}, line)));
  if (audio) transcriptView = { audio, segments, lines, box, current: -1 };
  return box;
}

// The recording's WebVTT captions as the player's <track>, on by default; only a path of this site.
function withCaptions(audio, sid, src) {
  const wanted = typeof src === 'string' && /^\/(?![/\\])/.test(src) ? src : null;
  const track = audio.querySelector('track');
  if ((track?.getAttribute('src') ?? null) === wanted) return;
  track?.remove();
  if (wanted === null) return;
  // Before the fallback text: an <audio> holds its tracks first.
  audio.prepend(el('track', {
    kind: 'captions', srclang: 'en', label: 'Transcript', src: wanted, default: true,
    testid: 'captions-' + sid,
  }));
}

function newPlayer(session, sid) {
  const audio = el('audio', {
    controls: true, preload: 'metadata', src: audioPath(sid), testid: 'audio-' + sid,
    'aria-label': `Recording of ${session.room}`,
  }, 'This browser cannot play the recording; download it instead.');
  // Once per player: a rebuilt view keeps the player, and these with it.
  for (const type of ['timeupdate', 'seeked']) audio.addEventListener(type, () => markLine(audio));
  return audio;
}

// Opened at a moment (a search's line): that player goes there once it knows its length.
function seekOnLoad(session, { at, rec }) {
  const sid = rec ?? transcriptOf(session)?.recording_sid;
  const audio = (sid && audioOf(sid)) || detail.querySelector('audio');
  if (!audio) return;
  const seek = () => { audio.currentTime = at; };
  if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
  else audio.addEventListener('loadedmetadata', seek, { once: true });
  audio.closest('.recording')?.scrollIntoView({ block: 'nearest' });
}

// --- the summary ---

// **bold** as <strong>; the rest stays text.
function inline(text) {
  return text.split(/\*\*(?=\S)(.+?)(?<=\S)\*\*/)
      .map((part, i) => (i % 2 === 1 ? el('strong', {}, part) : part))
      .filter((part) => part !== '');
}

// The summary's Markdown, the small part of it a summary uses, built as elements so its text
// stays text (a Markdown library would be code to ship and to trust with HTML): # to ### headings,
// paragraphs, "- " and "* " lists, **bold**. Anything else shows as written, line by line.
function markdown(source) {
  const out = [];
  let paragraph = null;  // the open paragraph's lines
  let items = null;      // the open list's items
  const close = () => {
    if (paragraph) out.push(el('p', {}, ...inline(paragraph.join('\n'))));
    if (items) out.push(el('ul', {}, ...items.map((item) => el('li', {}, ...inline(item)))));
    paragraph = null;
    items = null;
  };
  for (const raw of source.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const heading = /^(#{1,3})\s+(.*?)(?:\s+#+)?$/.exec(line);
    const item = /^ {0,3}[-*]\s+(.*)$/.exec(line);
    if (line.trim() === '') {
      close();
    } else if (heading) {
      close();
      // Under the page's h2 and the block's h3.
      out.push(el('h' + (heading[1].length + 3), {}, ...inline(heading[2])));
    } else if (item) {
      if (!items) close();
      items ??= [];
      items.push(item[1]);
    } else if (items && /^\s/.test(line)) {
      items[items.length - 1] += ' ' + line.trim();  // an item's next line
    } else {
      if (!paragraph) close();
      paragraph ??= [];
      paragraph.push(line.trim());
    }
  }
  close();
  return out;
}

function summaryBlock(session) {
  const text = typeof session.summary === 'string' ? session.summary.trim() : '';
  if (text === '') return null;
  return block('Summary', el('div', { class: 'summary', testid: 'summary' }, ...markdown(text)));
}

function recordingItem(session, rec, oldAudio, transcript) {
  const sid = String(rec.recording_sid);
  const state = String(rec.state);
  const note = notes.get(sid);
  let audio = null;
  if (state === 'stored') {
    // The same player again keeps playing through a reload of the session.
    audio = oldAudio.get(sid) ?? newPlayer(session, sid);
    withCaptions(audio, sid, rec.captions);
  }
  // The transcript beside its player (below it on a narrow screen).
  const player = audio && transcript
    ? el('div', { class: 'listen' }, audio,
         el('section', { class: 'transcript-part' }, el('h4', {}, 'Transcript'),
            transcriptLines(transcript, audio)))
    : audio;
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
      player,
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
  const transcript = transcriptOf(session);
  const playable = transcript !== null && recordings.some((r) =>
    r.recording_sid === transcript.recording_sid && String(r.state) === 'stored');
  const transcriptFor = (r) => (playable && r.recording_sid === transcript.recording_sid
    ? transcript : null);
  transcriptView = null;

  detail.replaceChildren(...[
      el('h2', { testid: 'detail-title' },
         `${session.room ?? ''}${start ? ' — ' + dayTitle(start) : ''}`),
      el('ul', { class: 'facts' },
         el('li', {}, 'Started ',
            el('span', { testid: 'detail-started' }, start ? timeText(start) : '–')),
         el('li', {}, 'ended ',
            el('span', { testid: 'detail-ended' }, end ? timeText(end) : '–')),
         el('li', { testid: 'detail-duration' }, durationText(session.duration_seconds)),
         el('li', { testid: 'detail-peak' }, peopleText(Number(session.peak_participants) || 0))),
      summaryBlock(session),
      block('Recordings', recordings.length > 0
        ? el('ul', { class: 'recordings' },
             ...recordings.map((r) => recordingItem(session, r, oldAudio, transcriptFor(r))))
        : el('p', { class: 'hint' }, 'No recording.')),
      // A transcript whose recording cannot be played here: its lines only.
      transcript && !playable ? block('Transcript', transcriptLines(transcript, null)) : null,
      block('Participants', people.length > 0
        ? el('ul', { class: 'people' }, ...people.map((p) => participantItem(p, actions)))
        : el('p', { class: 'hint', testid: 'no-participants' }, 'No one joined.')),
      block('Console actions', actions.length > 0
        ? el('ol', { class: 'log', testid: 'actions' }, ...actions.map(actionItem))
        : el('p', { class: 'hint', testid: 'no-actions' }, 'None.')),
  ].filter((node) => node !== null));
  // A player kept through the rebuild marks its line again.
  const kept = transcriptView?.audio;
  if (kept && (kept.currentTime > 0 || !kept.paused)) markLine(kept);
  if (focused) detail.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
}

// `start` ({ at, rec }, from the URL) opens the session at that moment.
async function showDetail(sid, start = null) {
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
  if (start) seekOnLoad(session, start);
}

// --- the page ---

// The moment a session's URL opens it at: t (seconds), of the caller's track rec if given.
function startOf(params) {
  const t = params.get('t')?.trim() ?? '';
  const at = t === '' ? NaN : Number(t);
  if (!Number.isFinite(at) || at < 0) return null;
  return { at, rec: params.get('rec') || null };
}

function route() {
  const params = new URLSearchParams(window.location.search);
  pageMessage('');
  const sid = params.get('session');
  if (sid) showDetail(sid, startOf(params));
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

const roleKnown = loadRole();
document.getElementById('sign-out').addEventListener('click', () => signOut());
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
