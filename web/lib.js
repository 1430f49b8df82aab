// Shared pieces of the console: element building, formatting, the one HTTP helper and flash
// messages. All data reaches the page through textContent, never as HTML.

let onUnauthorized = () => {};
/** What to do when the API says the session is gone (the app shows the sign-in form). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** An API error's message in a form's error line (a 401 already sent the user to sign in). */
export function showError(el, e) {
  if (e.status === 401) return;
  el.textContent = e.message;
  el.hidden = false;
}

/** Shows one of main's sections and hides the others. */
export function showOnly(id) {
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== id;
}

export const $ = (id) => document.getElementById(id);

/** Builds an element: h('td', {class: 'x', title: 't'}, 'text', childNode…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function pad(n) {
  return String(n).padStart(2, '0');
}

/** ISO time → `YYYY-MM-DD HH:MM:SS` in the browser's time zone. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function timeCell(iso, extra = '') {
  return h('td', { class: 'nowrap', title: iso || undefined }, iso ? fmtTime(iso) + extra : '—');
}

export function badge(status) {
  return h('span', { class: `badge s-${status}` }, status.replace(/_/g, ' '));
}

// ---------------------------------------------------------------------------------------------
// HTTP

export class ApiError extends Error {
  constructor(status, body) {
    super((body && typeof body.msg === 'string' && body.msg) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function csrfKey() {
  const data = await request('GET', '/api/task/v2/task/accept/');
  return data.csrf_key;
}

/** One API call; `csrf: true` fetches a fresh key first. Throws ApiError with the API's `msg`. */
export async function request(method, path, { body, csrf = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (csrf) headers['X-CSRF-Key'] = await csrfKey();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { msg: 'the server did not answer (network error)' });
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 401 && !path.startsWith('/api/accounts/login/')) {
    onUnauthorized('Your session has ended. Please sign in again.');
  }
  // CODO routes answer HTTP 200 with code ≠ 0 for refusals; /api/v1 uses HTTP statuses.
  if (!res.ok || (data && typeof data.code === 'number' && data.code !== 0)) throw new ApiError(res.status, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Flash messages

let flashTimer = 0;
export function flash(text, kind = 'info') {
  const el = $('flash');
  el.textContent = text;
  el.className = `flash ${kind}`;
  el.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (el.hidden = true), kind === 'error' ? 10000 : 4000);
}
