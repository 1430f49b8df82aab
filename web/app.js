// opsflow operator console. Plain ES module, no framework, no build step; it talks to the API
// over HTTP only: the session is the HttpOnly cookie `auth_key` set by the login route, and every
// write carries a fresh one-use CSRF key (GET /api/task/v2/task/accept/ → header X-CSRF-Key).
// All data reaches the page through textContent, never as HTML.
import { $, badge, flash, fmtTime, h, request, setUnauthorizedHandler, showOnly, timeCell } from './lib.js';
import { showAudit, showExecUsers, showTemplateEditor, showTemplates, showUsers } from './admin.js';
import { showNewTask } from './newTask.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'rejected'];
const LIST_REFRESH_MS = 5000;
const LIST_LIMIT = 200;
const TASK_REFRESH_MS = 2000;
const LOG_MAX_NODES = 6000;

// ---------------------------------------------------------------------------------------------
// Session

let me = null;

function can(action) {
  return Boolean(me && me.actions && me.actions.includes(action));
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
  $('nav-templates').hidden = !can('template.read');
  $('nav-exec-users').hidden = !can('exec_user.read');
  $('nav-audit').hidden = !can('audit.read');
  $('nav-users').hidden = !can('user.write');
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
// Views and routing (#/ = task list, #/new = submit a task, #/tasks/<id> = one task,
// #/templates[/<id>|/new], #/exec-users, #/users and #/audit in admin.js)

let cleanup = null;
const setCleanup = (fn) => {
  cleanup = fn;
};

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
  else if (hash === '/new') showNewTask(setCleanup);
  else if (hash === '/templates') showTemplates({ can, setCleanup });
  else if (/^\/templates\/(\d+|new)$/.test(hash)) showTemplateEditor(hash.endsWith('/new') ? null : Number(hash.split('/')[2]), { can, setCleanup });
  else if (hash === '/exec-users') showExecUsers({ can, setCleanup });
  else if (hash === '/audit') showAudit({ setCleanup });
  else if (hash === '/users') showUsers({ setCleanup, me });
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
      t.start_time ? timeCell(t.start_time) : timeCell(t.planned_start || t.exec_time, t.planned_start || t.exec_time ? ' (planned)' : ''),
    ),
  );
  $('task-rows').replaceChildren(...rows);
  $('list-empty').hidden = rows.length > 0;
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
    ['Execution time', t.planned_start ? `${fmtTime(t.planned_start)} (rescheduled or chosen by the approver)` : t.exec_time ? fmtTime(t.exec_time) : t.schedule === 'new' ? 'when approved' : 'at once'],
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

setUnauthorizedHandler(signedOut);
void start();
