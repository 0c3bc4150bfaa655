import { safeNext, sendJson } from './api.js';

const form = document.getElementById('sign-in');
const message = document.getElementById('sign-in-message');
const submit = form.querySelector('button[type=submit]');

function minutesText(retryAfter) {
  const seconds = Number.parseInt(retryAfter ?? '', 10);
  if (!Number.isFinite(seconds) || seconds < 0) return 'later';
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return 'in ' + minutes + (minutes === 1 ? ' minute' : ' minutes');
}

async function signIn(event) {
  event.preventDefault();
  message.textContent = '';
  submit.disabled = true;
  try {
    const response = await sendJson('POST', '/api/session', {
      username: form.elements.username.value,
      password: form.elements.password.value,
    });
    if (response.status === 204) {
      const next = new URLSearchParams(window.location.search).get('next');
      window.location.replace(safeNext(next));
      return;
    }
    if (response.status === 401) {
      message.textContent = 'Wrong username or password.';
    } else if (response.status === 429) {
      message.textContent =
          'Too many attempts. Try again ' + minutesText(response.headers.get('Retry-After')) + '.';
    } else {
      message.textContent = 'Sign-in failed: HTTP ' + response.status + '.';
    }
    form.elements.password.select();
  } catch {
    message.textContent = 'Could not reach the server.';
  } finally {
    submit.disabled = false;
  }
}

form.addEventListener('submit', signIn);
