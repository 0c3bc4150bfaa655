/*
 * The live view: every room, pushed by the service's events stream, with its controls.
 * The page shows what the service last reported; a button only asks, and the row changes when
 * the event that follows arrives.
 *
 * Test hooks (data-testid):
 *   page         sign-out, page-message, rooms, confirm-dialog, confirm-ok, confirm-cancel
 *   room R       room-R (data-running, data-locked, data-recording), state-R, duration-R,
 *                recording-state-R, locked-R, count-R, reconnecting-R, message-R (role=alert),
 *                no-participants-R, mute-all-R, lock-R, recording-R, end-R
 *   participant  participant-S (data-muted, data-hold), caller-S, role-S, status-S, joined-S,
 *   (CallSid S)  on-line-S, mute-S, hold-S, remove-S
 *   sign-in page sign-in-form, sign-in-username, sign-in-password, sign-in-submit, sign-in-message
 */
import { el, errorText, goToSignIn, pageMessage, sendJson, signOut } from './api.js';

const rooms = new Map();  // room name -> its entry (see addRoom)

// Seconds or milliseconds since the epoch, or an ISO 8601 text.
function toMillis(time) {
  if (typeof time === 'number' && Number.isFinite(time)) return time < 1e12 ? time * 1000 : time;
  if (typeof time === 'string') {
    const ms = Date.parse(time);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

function elapsedText(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// A <time> that counts up from `since` (see tick).
function timer(since, testid) {
  const ms = toMillis(since);
  if (ms === null) return el('span', { testid }, '–');
  const node = el('time', { testid, datetime: new Date(ms).toISOString() });
  node.dataset.since = String(ms);
  node.textContent = elapsedText(Date.now() - ms);
  return node;
}

function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll('[data-since]')) {
    node.textContent = elapsedText(now - Number(node.dataset.since));
  }
}

function roomPath(name, rest = '') {
  return '/api/rooms/' + encodeURIComponent(name) + rest;
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

// One request for a button. Its outcome shows only as a message: the state follows the events.
async function act(entry, action) {
  if (entry.pending.has(action.testid)) return;
  if (action.confirm && !(await confirmDialog(action.confirm, action.label))) return;
  entry.pending.add(action.testid);
  entry.message = '';
  render(entry);
  let response = null;
  try {
    response = await sendJson(action.method, action.path, action.body);
  } catch {
    entry.message = `${action.what} failed: could not reach the server.`;
  }
  if (response && response.status === 401) {
    goToSignIn();
    return;
  }
  if (response && !response.ok) entry.message = `${action.what} failed: ${await errorText(response)}`;
  entry.pending.delete(action.testid);
  render(entry);
  // A disabled button drops the focus; give it back to the keyboard user who pressed it.
  if (document.activeElement === document.body) focusTestId(entry.section, action.testid);
}

function focusTestId(root, testid) {
  const node = root.querySelector(`[data-testid="${CSS.escape(testid)}"]`);
  if (node) node.focus();
}

function button(entry, action, { disabled = false, kind = '' } = {}) {
  const pending = entry.pending.has(action.testid);
  const node = el('button', {
    type: 'button',
    class: kind,
    testid: action.testid,
    disabled: disabled || pending,
    'aria-busy': pending ? 'true' : null,
  }, action.label);
  node.addEventListener('click', () => act(entry, action));
  return node;
}

function participantItem(entry, person) {
  const sid = String(person.call_sid);
  const caller = String(person.caller ?? '');
  const muted = person.muted === true;
  const hold = person.hold === true;
  const base = roomPath(entry.name, '/participants/' + encodeURIComponent(sid));
  const joinedMs = toMillis(person.joined_at);
  const status = [muted ? 'Muted' : 'Can speak', hold ? 'On hold' : null].filter(Boolean);

  const item = el('li', { class: 'person', testid: 'participant-' + sid });
  item.dataset.muted = String(muted);
  item.dataset.hold = String(hold);
  item.append(
      el('div', { class: 'who' },
         el('strong', { testid: 'caller-' + sid }, caller),
         el('span', { class: 'tag', testid: 'role-' + sid }, String(person.role ?? ''))),
      el('div', { class: 'status' + (muted ? ' is-muted' : '') + (hold ? ' is-held' : ''),
                  testid: 'status-' + sid }, status.join(' · ')),
      el('div', { class: 'times' },
         'Joined ',
         el('span', { testid: 'joined-' + sid },
            joinedMs === null ? '–' : new Date(joinedMs).toLocaleTimeString()),
         ' · on the line ', timer(person.joined_at, 'on-line-' + sid)),
      el('div', { class: 'controls' },
         button(entry, {
           testid: 'mute-' + sid, label: muted ? 'Unmute' : 'Mute',
           what: (muted ? 'Unmuting ' : 'Muting ') + caller,
           method: 'POST', path: base, body: { muted: !muted },
         }),
         button(entry, {
           testid: 'hold-' + sid, label: hold ? 'Unhold' : 'Hold',
           what: (hold ? 'Taking ' + caller + ' off hold' : 'Putting ' + caller + ' on hold'),
           method: 'POST', path: base, body: { hold: !hold },
         }),
         button(entry, {
           testid: 'remove-' + sid, label: 'Remove', what: 'Removing ' + caller,
           method: 'DELETE', path: base, confirm: `Remove ${caller} from ${entry.name}?`,
         }, { kind: 'danger' })));
  return item;
}

function roomHead(entry, room, running, recording, count) {
  const name = entry.name;
  const conference = room.conference;
  const facts = el('ul', { class: 'facts' },
      el('li', { testid: 'state-' + name, class: running ? 'live' : '' },
         running ? 'Live' : 'Not running'),
      running ? el('li', {}, 'for ', timer(conference.started_at, 'duration-' + name)) : null,
      el('li', { testid: 'recording-state-' + name },
         { recording: 'Recording', paused: 'Recording paused' }[recording] ?? 'Not recording'),
      el('li', { testid: 'locked-' + name, class: room.locked ? 'locked' : '' },
         room.locked ? 'Locked' : 'Open'),
      el('li', { testid: 'count-' + name }, `${count} of ${room.max_participants ?? '?'}`));
  const badge = el('span', { class: 'badge', testid: 'reconnecting-' + name, role: 'status' },
                   entry.everOpen ? 'reconnecting…' : 'connecting…');
  badge.hidden = entry.open;
  return el('div', { class: 'room-head' }, el('h2', {}, name), badge, facts);
}

function roomControls(entry, room, running, recording) {
  const name = entry.name;
  const locked = room.locked === true;
  const paused = recording === 'paused';
  return el('div', { class: 'controls' },
      button(entry, {
        testid: 'mute-all-' + name, label: 'Mute all speakers', what: 'Muting all speakers',
        method: 'POST', path: roomPath(name, '/mute-all'), body: { muted: true },
      }, { disabled: !running }),
      button(entry, {
        testid: 'lock-' + name, label: locked ? 'Unlock' : 'Lock',
        what: locked ? 'Unlocking' : 'Locking',
        method: 'POST', path: roomPath(name, '/lock'), body: { locked: !locked },
      }),
      button(entry, {
        testid: 'recording-' + name, label: paused ? 'Resume recording' : 'Pause recording',
        what: paused ? 'Resuming the recording' : 'Pausing the recording',
        method: 'POST', path: roomPath(name, '/recording'), body: { paused: !paused },
      }, { disabled: !running || recording === 'none' }),
      button(entry, {
        testid: 'end-' + name, label: 'End conference', what: 'Ending the conference',
        method: 'POST', path: roomPath(name, '/end'), body: {},
        confirm: `End the conference in ${name} for everyone?`,
      }, { disabled: !running, kind: 'danger' }));
}

// Rebuilds a room from its last reported state (cheap: a room holds at most 250 people).
function render(entry) {
  const room = entry.data;
  const running = room.conference !== null && typeof room.conference === 'object';
  const recording = running ? String(room.conference.recording ?? 'none') : 'none';
  const people = Array.isArray(room.participants) ? room.participants : null;
  const count = people ? people.length : Number(room.participants) || 0;

  const active = document.activeElement;
  const focused = active && entry.section.contains(active) ? active.dataset.testid : undefined;

  entry.section.dataset.running = String(running);
  entry.section.dataset.locked = String(room.locked === true);
  entry.section.dataset.recording = recording;
  let list = null;
  if (people && people.length > 0) {
    list = el('ul', { class: 'people' }, ...people.map((p) => participantItem(entry, p)));
  } else if (people) {
    list = el('p', { class: 'hint', testid: 'no-participants-' + entry.name }, 'No one on the line.');
  }
  const head = roomHead(entry, room, running, recording, count);
  entry.head.replaceWith(head);
  entry.head = head;
  entry.body.replaceChildren(...[roomControls(entry, room, running, recording), list].filter(Boolean));
  if (entry.alert.textContent !== entry.message) entry.alert.textContent = entry.message;
  if (focused) focusTestId(entry.section, focused);
}

// The browser reconnects a dropped stream by itself, but gives up on one the service refused
// (an expired session answers 401): then ask why, and sign in again or retry later.
async function recover(entry) {
  let response = null;
  try {
    response = await fetch(roomPath(entry.name), { credentials: 'same-origin' });
  } catch {
    // unreachable: retry below
  }
  if (response && response.status === 401) {
    goToSignIn();
    return;
  }
  entry.retryMs = Math.min(entry.retryMs * 2, 30000);
  window.setTimeout(() => connect(entry), entry.retryMs);
}

function connect(entry) {
  const source = new EventSource(roomPath(entry.name, '/events'));
  entry.source = source;
  source.addEventListener('open', () => {
    entry.open = true;
    entry.everOpen = true;
    entry.retryMs = 500;
    render(entry);
  });
  source.addEventListener('room', (event) => {
    try {
      entry.data = JSON.parse(event.data);
    } catch {
      return;
    }
    render(entry);
  });
  source.addEventListener('error', () => {
    entry.open = false;
    render(entry);
    if (source.readyState === EventSource.CLOSED) recover(entry);
  });
}

function addRoom(container, summary) {
  const name = String(summary.name);
  const head = el('div');
  const alert = el('p', { class: 'message', role: 'alert', testid: 'message-' + name });
  const body = el('div', { class: 'room-body' });
  const section = el('section', { class: 'room', testid: 'room-' + name }, head, alert, body);
  const entry = {
    name, data: summary, section, head, alert, body,
    pending: new Set(), message: '', open: false, everOpen: false, retryMs: 500, source: null,
  };
  rooms.set(name, entry);
  container.append(section);
  render(entry);
  connect(entry);
}

async function start() {
  document.getElementById('sign-out').addEventListener('click', () => signOut(() => {
    for (const entry of rooms.values()) entry.source?.close();
  }));
  const container = document.getElementById('rooms');
  let response;
  try {
    response = await fetch('/api/rooms', { credentials: 'same-origin' });
  } catch {
    pageMessage('Could not reach the server. Reload the page to try again.');
    return;
  }
  if (response.status === 401) {
    goToSignIn();
    return;
  }
  if (!response.ok) {
    pageMessage('Could not load the rooms: ' + await errorText(response));
    return;
  }
  const list = await response.json();
  document.getElementById('loading').remove();
  if (!Array.isArray(list) || list.length === 0) {
    container.append(el('p', { class: 'hint' }, 'No rooms are set up.'));
    return;
  }
  for (const summary of list) addRoom(container, summary);
  window.setInterval(tick, 1000);
}

start();
