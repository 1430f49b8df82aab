// opsflow operator console. Plain ES module, no framework, no build step; it talks to the API
// over HTTP only: the session is the HttpOnly cookie `auth_key` set by the login route, and every
// write carries a fresh one-use CSRF key (GET /api/task/v2/task/accept/ → header X-CSRF-Key).
// All data reaches the page through textContent, never as HTML.

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'rejected'];
const LIST_REFRESH_MS = 5000;
const LIST_LIMIT = 200;
const TASK_REFRESH_MS = 2000;
const LOG_MAX_NODES = 6000;

const $ = (id) => document.getElementById(id);

/** Builds an element: h('td', {class: 'x', title: 't'}, 'text', childNode…). */
function h(tag, attrs = {}, ...children) {
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

function pad(n) {
  return String(n).padStart(2, '0');
}

/** ISO time → `YYYY-MM-DD HH:MM:SS` in the browser's time zone. */
function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function timeCell(iso, extra = '') {
  return h('td', { class: 'nowrap', title: iso || undefined }, iso ? fmtTime(iso) + extra : '—');
}

function badge(status) {
  return h('span', { class: `badge s-${status}` }, status.replace(/_/g, ' '));
}

// ---------------------------------------------------------------------------------------------
// HTTP

class ApiError extends Error {
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
async function request(method, path, { body, csrf = false } = {}) {
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
    signedOut('Your session has ended. Please sign in again.');
  }
  // CODO routes answer HTTP 200 with code ≠ 0 for refusals; /api/v1 uses HTTP statuses.
  if (!res.ok || (data && typeof data.code === 'number' && data.code !== 0)) throw new ApiError(res.status, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Flash messages

let flashTimer = 0;
function flash(text, kind = 'info') {
  const el = $('flash');
  el.textContent = text;
  el.className = `flash ${kind}`;
  el.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (el.hidden = true), kind === 'error' ? 10000 : 4000);
}

// ---------------------------------------------------------------------------------------------
// Session

let me = null;

function can(action) {
  return Boolean(me && me.actions && me.actions.includes(action));
}

function showOnly(id) {
  for (const v of ['boot', 'login-view', 'list-view', 'new-task-view', 'task-view']) $(v).hidden = v !== id;
}

function signedOut(message) {
  me = null;
  leaveView();
  $('nav').hidden = true;
  $('session').hidden = true;
  $('who').textContent = '';
  $('tz-note').textContent = '';
  showOnly('login-view');
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-form').elements.username.focus();
}

async function loadMe() {
  try {
    me = await request('GET', '/api/v1/me');
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
  const name = me.display_name && me.display_name !== me.username ? `${me.display_name} (${me.username})` : me.username;
  $('who').textContent = `${name} · ${me.role}`;
  $('tz-note').textContent = `Times are shown in your browser's time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`;
  $('nav').hidden = false;
  $('nav-new').hidden = !can('task.submit');
  $('session').hidden = false;
  return true;
}

/** CODO login codes whose Chinese message deserves a gloss (the others already say it all). */
const LOGIN_GLOSS = {
  [-1]: 'enter your username and password',
  [-4]: 'wrong username or password, or the account is disabled',
  [-5]: 'wrong or already used TOTP code',
  1: 'enter the TOTP code from your authenticator app',
};

async function onLogin(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const err = $('login-error');
  const button = form.querySelector('button[type=submit]');
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const dynamic = form.elements.dynamic.value.trim();
  err.hidden = true;
  if (!username || !password) {
    err.textContent = 'Enter your username and password.';
    err.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    await request('POST', '/api/accounts/login/', { body: { username, password, dynamic } });
    form.reset();
    await loadMe();
    route();
  } catch (e) {
    // The API's own message (账号密码错误, MFA错误, a lockout time, a rate limit…), and for CODO's
    // terse codes a short gloss beside it.
    const gloss = e.body ? LOGIN_GLOSS[e.body.code] : undefined;
    err.replaceChildren(h('span', { class: 'msg' }, e.message), gloss ? h('span', { class: 'gloss' }, ` — ${gloss}`) : null);
    err.hidden = false;
    form.elements.password.select();
  } finally {
    button.disabled = false;
  }
}

async function onLogout() {
  try {
    await request('POST', '/api/accounts/logout/');
  } catch (e) {
    if (e.status !== 401) flash(`Sign out: ${e.message}`, 'error');
  }
  location.hash = '#/';
  signedOut('You are signed out.');
}

// ---------------------------------------------------------------------------------------------
// Views and routing (#/ = task list, #/new = submit a task, #/tasks/<id> = one task)

let cleanup = null;

function leaveView() {
  if (cleanup) cleanup();
  cleanup = null;
}

function route() {
  if (!me) return;
  leaveView();
  const hash = location.hash.replace(/^#/, '') || '/';
  const task = /^\/tasks\/(\d+)$/.exec(hash);
  if (task) showTask(Number(task[1]));
  else if (hash === '/new') showNewTask();
  else showList(new URLSearchParams(hash.split('?')[1] || ''));
}

// --- task list -------------------------------------------------------------------------------

function showList(params) {
  showOnly('list-view');
  document.title = 'Tasks · opsflow';
  const filter = $('status-filter');
  filter.value = params.get('status') || '';
  if (filter.value !== (params.get('status') || '')) filter.value = '';
  let timer = 0;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    const q = new URLSearchParams({ limit: String(LIST_LIMIT) });
    if (filter.value) q.set('status', filter.value);
    try {
      const page = await request('GET', `/api/v1/tasks?${q}`);
      if (stopped) return;
      renderRows(page.items);
      $('list-more').hidden = page.next_cursor === null;
      $('list-updated').textContent = `updated ${fmtTime(new Date().toISOString()).slice(11)}`;
    } catch (e) {
      if (stopped || e.status === 401) return;
      $('list-updated').textContent = `could not load: ${e.message}`;
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && $('auto-refresh').checked) timer = setTimeout(() => (document.hidden ? schedule() : void load()), LIST_REFRESH_MS);
  }

  const onFilter = () => {
    location.hash = filter.value ? `#/?status=${encodeURIComponent(filter.value)}` : '#/';
  };
  const onRefresh = () => void load();
  const onAuto = () => schedule();
  filter.addEventListener('change', onFilter);
  $('refresh').addEventListener('click', onRefresh);
  $('auto-refresh').addEventListener('change', onAuto);
  cleanup = () => {
    stopped = true;
    clearTimeout(timer);
    filter.removeEventListener('change', onFilter);
    $('refresh').removeEventListener('click', onRefresh);
    $('auto-refresh').removeEventListener('change', onAuto);
  };
  $('task-rows').replaceChildren();
  $('list-empty').hidden = true;
  void load();
}

function renderRows(items) {
  const rows = items.map((t) =>
    h(
      'tr',
      { 'data-task-id': t.id },
      h('td', { class: 'num' }, h('a', { href: `#/tasks/${t.id}` }, `#${t.id}`)),
      h('td', {}, h('a', { href: `#/tasks/${t.id}` }, t.task_name)),
      h('td', {}, badge(t.status)),
      h('td', {}, t.submitter || t.creator),
      timeCell(t.created_at),
      t.start_time ? timeCell(t.start_time) : timeCell(t.exec_time, t.exec_time ? ' (planned)' : ''),
    ),
  );
  $('task-rows').replaceChildren(...rows);
  $('list-empty').hidden = rows.length > 0;
}

// --- submit a task ---------------------------------------------------------------------------

/** Argument names a template's steps use (FLOW_ID is filled in by opsflow), in step order. */
function templateArgNames(template) {
  const names = template.steps.flatMap((s) => (s.args || '').split(/\s+/)).filter((a) => a && a !== 'FLOW_ID');
  return [...new Set(names)];
}

function showNewTask() {
  showOnly('new-task-view');
  document.title = 'New task · opsflow';
  const form = $('new-task-form');
  const select = $('nt-template');
  const error = $('nt-error');
  let templates = [];
  let stopped = false;
  form.reset();
  error.hidden = true;
  select.replaceChildren(h('option', { value: '' }, 'choose a template…'));
  $('nt-template-info').textContent = '';
  for (const id of ['nt-hosts', 'nt-args']) {
    $(id).hidden = true;
    $(id).replaceChildren($(id).firstElementChild);
  }

  function onTemplate() {
    const t = templates.find((x) => String(x.id) === select.value);
    const hosts = $('nt-hosts');
    const args = $('nt-args');
    hosts.replaceChildren(hosts.firstElementChild);
    args.replaceChildren(args.firstElementChild);
    hosts.hidden = args.hidden = !t;
    $('nt-template-info').textContent = '';
    if (!t) return;
    if (!form.elements.task_name.value) form.elements.task_name.value = t.name;
    const groups = [...new Set(t.steps.map((s) => s.group))].sort((a, b) => a - b);
    $('nt-template-info').textContent = `${t.steps.length} steps in ${groups.length} group${groups.length === 1 ? '' : 's'}; up to ${t.max_hosts_per_group} hosts per group, ${t.max_parallel} at a time.`;
    for (const g of groups) {
      const names = t.steps.filter((s) => s.group === g).map((s) => s.name).join(', ');
      hosts.append(h('label', {}, `Group ${g} (${names})`, h('textarea', { name: `hosts-${g}`, rows: '3', 'data-group': g, spellcheck: 'false' })));
    }
    const argNames = templateArgNames(t);
    args.hidden = argNames.length === 0;
    for (const a of argNames) args.append(h('label', {}, a, h('input', { name: `arg-${a}`, 'data-arg': a, maxlength: '100000' })));
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    error.hidden = true;
    const t = templates.find((x) => String(x.id) === select.value);
    if (!t) {
      error.textContent = 'template: choose one';
      error.hidden = false;
      return;
    }
    const hosts = {};
    for (const area of $('nt-hosts').querySelectorAll('textarea')) {
      hosts[area.dataset.group] = area.value.split(/[\s,]+/).filter(Boolean);
    }
    const args = {};
    for (const input of $('nt-args').querySelectorAll('input')) args[input.dataset.arg] = input.value;
    const when = form.elements.exec_time.value;
    const body = {
      template_id: t.id,
      task_name: form.elements.task_name.value,
      schedule: form.elements.schedule.value,
      exec_time: when ? new Date(when).toISOString() : null,
      args,
      hosts,
      details: form.elements.details.value,
    };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const created = await request('POST', '/api/v1/tasks', { body, csrf: true });
      flash(`Task #${created.id} submitted`, 'ok');
      location.hash = `#/tasks/${created.id}`;
    } catch (e) {
      if (e.status === 401) return;
      // The API names the field: "hosts.1: 999.1.1.1 is not a valid IPv4 address".
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  select.addEventListener('change', onTemplate);
  form.addEventListener('submit', onSubmit);
  cleanup = () => {
    stopped = true;
    select.removeEventListener('change', onTemplate);
    form.removeEventListener('submit', onSubmit);
  };
  request('GET', '/api/v1/templates').then(
    (page) => {
      if (stopped) return;
      templates = page.items;
      select.append(...templates.map((t) => h('option', { value: t.id }, `#${t.id} ${t.name}`)));
    },
    (e) => {
      if (!stopped && e.status !== 401) flash(`Could not load the templates: ${e.message}`, 'error');
    },
  );
}

// --- one task --------------------------------------------------------------------------------

function showTask(id) {
  showOnly('task-view');
  document.title = `Task #${id} · opsflow`;
  $('task-title').textContent = `Task #${id}`;
  $('task-status').replaceChildren();
  $('task-actions').replaceChildren();
  for (const el of ['task-details', 'task-args', 'task-hosts', 'step-rows']) $(el).replaceChildren();
  const log = createLogView($('log'), $('log-state'), $('log-follow'));
  let timer = 0;
  let stopped = false;
  let busy = false;
  let task = null;

  async function refresh() {
    clearTimeout(timer);
    try {
      const t = await request('GET', `/api/v1/tasks/${id}`);
      if (stopped) return;
      task = t;
      renderTask(t, act);
    } catch (e) {
      if (stopped || e.status === 401) return;
      if (e.status === 404) {
        $('task-title').textContent = `Task #${id}`;
        flash(e.message, 'error');
        return;
      }
      flash(`Could not load task #${id}: ${e.message}`, 'error');
    }
    if (!stopped && !(task && TERMINAL.includes(task.status))) timer = setTimeout(refresh, TASK_REFRESH_MS);
  }

  /** Runs one intervention; the API's message is shown either way. */
  async function act(label, path, body, button) {
    if (busy) return;
    busy = true;
    if (button) button.disabled = true;
    try {
      await request('POST', `/api/v1/tasks/${id}/${path}`, { body: body || {}, csrf: true });
      flash(`${label}: accepted`, 'ok');
    } catch (e) {
      if (e.status !== 401) flash(`${label}: ${e.message}`, 'error');
    } finally {
      busy = false;
      if (button) button.disabled = false;
    }
    if (!stopped) await refresh();
  }

  log.follow(id, () => void refresh());
  cleanup = () => {
    stopped = true;
    clearTimeout(timer);
    log.close();
  };
  void refresh();
}

function renderTask(t, act) {
  $('task-title').textContent = `#${t.id} ${t.task_name}`;
  document.title = `#${t.id} ${t.task_name} · opsflow`;
  $('task-status').replaceChildren(badge(t.status));
  $('task-status').dataset.status = t.status;

  const details = [
    ['Template', `${t.task_type || ''} (id ${t.template_id})`],
    ['Schedule', t.schedule === 'new' ? 'new (needs approval)' : 'ready'],
    ['Submitter', t.submitter],
    ['Created by', t.creator],
    ['Approver', t.approver || '—'],
    ['Created', fmtTime(t.created_at)],
    ['Execution time', t.exec_time ? fmtTime(t.exec_time) : t.schedule === 'new' ? 'when approved' : 'at once'],
    ['Started', t.start_time ? fmtTime(t.start_time) : '—'],
    ['Finished', t.finished_at ? fmtTime(t.finished_at) : '—'],
    ['Details', t.details || '—'],
  ];
  $('task-details').replaceChildren(...details.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

  const args = Object.entries(t.args || {});
  $('task-args').replaceChildren(...(args.length ? args.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'mono' }, v))) : [h('tr', {}, h('td', { class: 'muted' }, 'none'))]));
  $('task-hosts').replaceChildren(...Object.entries(t.hosts || {}).map(([g, hosts]) => h('tr', {}, h('th', {}, `group ${g}`), h('td', { class: 'mono' }, hosts.join(', ')))));

  renderTaskActions(t, act);
  renderSteps(t, act);
}

function renderTaskActions(t, act) {
  const buttons = [];
  const open = !TERMINAL.includes(t.status);
  if (t.status === 'pending_approval' && can('task.approve')) {
    const startAt = h('input', { type: 'datetime-local', step: '1' });
    buttons.push(
      h('span', { class: 'group' }, h('label', { class: 'start-at' }, 'start at ', startAt, h('span', { class: 'muted small' }, ' (empty: now)')), h('button', {
        class: 'primary',
        onclick: (e) => {
          const body = startAt.value ? { start_at: new Date(startAt.value).toISOString() } : {};
          void act('Approve', 'approve', body, e.currentTarget);
        },
      }, 'Approve')),
      h('button', {
        class: 'danger',
        onclick: (e) => {
          const reason = window.prompt(`Reject task #${t.id}? Reason (optional):`, '');
          if (reason !== null) void act('Reject', 'reject', reason ? { reason } : {}, e.currentTarget);
        },
      }, 'Reject'),
    );
  }
  if (t.status === 'running' && can('task.intervene')) buttons.push(h('button', { onclick: (e) => void act('Pause', 'pause', {}, e.currentTarget) }, 'Pause'));
  if (t.status === 'paused' && can('task.intervene')) buttons.push(h('button', { class: 'primary', onclick: (e) => void act('Resume', 'resume', {}, e.currentTarget) }, 'Resume'));
  if (open && (can('task.cancel') || (me && t.creator === me.username))) {
    buttons.push(
      h('button', {
        class: 'danger',
        onclick: (e) => {
          const reason = window.prompt(`Cancel task #${t.id}? Running commands are killed and nothing more runs. Reason (optional):`, '');
          if (reason !== null) void act('Cancel', 'cancel', reason ? { reason } : {}, e.currentTarget);
        },
      }, 'Cancel task'),
    );
  }
  $('task-actions').replaceChildren(...buttons);
}

function renderSteps(t, act) {
  const open = !TERMINAL.includes(t.status);
  const mayIntervene = open && can('task.intervene');
  let lastGroup = null;
  const rows = [];
  // A host held at a step can be rerun from any earlier step of its group (restart).
  const heldLevel = new Map();
  for (const s of t.steps || []) {
    if (s.status === 'held' || s.status === 'unknown') heldLevel.set(`${s.group}|${s.host}`, s.level);
  }
  for (const s of t.steps || []) {
    if (s.group !== lastGroup) {
      lastGroup = s.group;
      rows.push(h('tr', { class: 'group-row' }, h('th', { colspan: '11' }, `Group ${s.group}`)));
    }
    const where = `step "${s.name}" on ${s.host}`;
    const step = (verb, label, opts = {}) =>
      h('button', {
        class: opts.class || 'small',
        'data-action': verb,
        onclick: (e) => {
          if (opts.confirm && !window.confirm(opts.confirm)) return;
          void act(`${label} ${where}`, `steps/${s.step_id}/${verb}`, { host: s.host }, e.currentTarget);
        },
      }, label);
    const actions = [];
    if (mayIntervene && s.status === 'waiting_hand') actions.push(step('release', 'Release', { class: 'small primary' }));
    if (mayIntervene && (s.status === 'held' || s.status === 'unknown')) {
      actions.push(
        step('retry', 'Retry', { class: 'small primary', confirm: s.status === 'unknown' ? `Whether ${where} ran is unknown. Run it again?` : undefined }),
        step('skip', 'Skip', { confirm: `Skip ${where} and go on?` }),
        step('abort', 'Abort host', { class: 'small danger', confirm: `Run nothing more on ${s.host}?` }),
      );
    }
    const held = heldLevel.get(`${s.group}|${s.host}`);
    if (mayIntervene && held !== undefined && s.level < held) {
      actions.push(step('restart', 'Rerun from here', { confirm: `Run ${where} and every later step on ${s.host} again?` }));
    }
    rows.push(
      h(
        'tr',
        { 'data-step-run': s.id, 'data-step-name': s.name, 'data-host': s.host, 'data-status': s.status, class: actions.length ? 'needs-action' : undefined },
        h('td', { class: 'num' }, s.group),
        h('td', { class: 'mono' }, s.host),
        h('td', { class: 'num' }, s.level),
        h('td', {}, s.name, s.error ? h('div', { class: 'step-error' }, s.error) : null),
        h('td', {}, s.trigger),
        h('td', {}, badge(s.status)),
        h('td', { class: 'num' }, s.exit_code ?? ''),
        h('td', { class: 'num' }, s.attempt || ''),
        timeCell(s.started_at),
        timeCell(s.finished_at),
        h('td', { class: 'nowrap' }, actions),
      ),
    );
  }
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: '11', class: 'muted' }, 'No steps.')));
  $('step-rows').replaceChildren(...rows);
}

// --- live log (Server-Sent Events) -----------------------------------------------------------

function createLogView(pre, state, followBox) {
  let source = null;
  let lastId = 0;
  let lastRun = null;
  let endsWithNewline = true;
  pre.replaceChildren();
  state.textContent = '';

  function setState(text, kind = '') {
    state.textContent = text;
    state.className = `log-state ${kind}`;
  }

  function append(entry) {
    if (entry.id <= lastId) return; // already shown (a reconnect resumes after Last-Event-ID)
    lastId = entry.id;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const run = `${entry.step_run_id}/${entry.attempt}`;
    if (run !== lastRun) {
      lastRun = run;
      const text = `── group ${entry.group} · ${entry.host} · level ${entry.level} · ${entry.step}${entry.attempt > 1 ? ` (attempt ${entry.attempt})` : ''}\n`;
      if (!endsWithNewline) pre.append('\n');
      pre.append(h('span', { class: 'log-run' }, text));
    }
    pre.append(h('span', { class: `log-${entry.stream}` }, entry.chunk));
    endsWithNewline = entry.chunk.endsWith('\n');
    while (pre.childNodes.length > LOG_MAX_NODES) pre.firstChild.remove();
    if (followBox.checked && atEnd) pre.scrollTop = pre.scrollHeight;
  }

  return {
    follow(taskId, onStatus) {
      setState('connecting…');
      source = new EventSource(`/api/v1/tasks/${taskId}/logs?follow=1`);
      source.addEventListener('open', () => setState('live', 'live'));
      source.addEventListener('log', (e) => append(JSON.parse(e.data)));
      source.addEventListener('status', () => onStatus());
      source.addEventListener('end', (e) => {
        source.close();
        const { status } = JSON.parse(e.data);
        setState(`ended — task ${status}`);
        if (pre.childNodes.length === 0) pre.textContent = '(no output)';
        onStatus();
      });
      source.addEventListener('error', (e) => {
        // `event: error` from the server carries data; the browser's own error event does not.
        if (e.data) setState(JSON.parse(e.data).msg, 'bad');
        else if (source.readyState === EventSource.CLOSED) setState('disconnected (reload the page to retry)', 'bad');
        else setState('reconnecting…', 'bad');
      });
    },
    close() {
      if (source) source.close();
      source = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', () => void onLogout());
  window.addEventListener('hashchange', route);
  try {
    if (await loadMe()) route();
    else signedOut('');
  } catch (e) {
    showOnly('boot');
    $('boot').textContent = `The API did not answer: ${e.message}`;
  }
}

void start();
