// Console views for what tasks are made of: #/templates (list), #/templates/<id|new> (edit a
// template and its steps), #/exec-users (SSH accounts and pinned host keys); #/users (accounts,
// their one-time passwords and TOTP enrolment) and #/audit, the operation records. Keys and passwords are write-only: the API never returns them, the page only
// ever shows fingerprints.
import { $, flash, fmtTime, h, request, showError, showOnly } from './lib.js';

const TRIGGERS = ['order', 'hand', 'timed'];
const ON_FAILURE = ['hold', 'abort', 'continue'];

// --- templates list ------------------------------------------------------------------------

export function showTemplates({ can, setCleanup }) {
  showOnly('templates-view');
  document.title = 'Templates · opsflow';
  let stopped = false;
  setCleanup(() => (stopped = true));
  $('templates-new').hidden = !can('template.write');
  $('template-rows').replaceChildren();
  request('GET', '/api/v1/templates').then(
    (page) => {
      if (stopped) return;
      const rows = page.items.map((t) => {
        const groups = new Set(t.steps.map((s) => s.group)).size;
        return h(
          'tr',
          { 'data-template-id': t.id },
          h('td', { class: 'num' }, t.id),
          h('td', {}, h('a', { href: `#/templates/${t.id}` }, t.name)),
          h('td', { class: 'num' }, t.steps.length),
          h('td', { class: 'num' }, groups),
          h('td', { class: 'num' }, t.max_parallel),
          h('td', {}, t.created_by),
          h('td', { class: 'nowrap' }, fmtTime(t.updated_at)),
        );
      });
      $('template-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'No templates yet.'))]));
    },
    (e) => {
      if (!stopped && e.status !== 401) flash(`Could not load the templates: ${e.message}`, 'error');
    },
  );
}

// --- one template --------------------------------------------------------------------------

function select(field, options, value) {
  return h('select', { 'data-field': field }, ...options.map((o) => h('option', { value: o, selected: o === value }, o)));
}

/**
 * One editable step row. Its inputs carry `data-field` (read back in stepsOf()), not `name`:
 * a `name` would clash with the template's own fields in form.elements.
 */
function stepRow(step, execUsers, readOnly) {
  const users = [...new Set([...execUsers, step.exec_user].filter(Boolean))];
  const remove = h('button', { type: 'button', class: 'small danger', onclick: (e) => e.currentTarget.closest('tr').remove() }, 'Remove');
  const row = h(
    'tr',
    { class: 'step-edit' },
    h('td', {}, h('input', { 'data-field': 'group', type: 'number', min: '1', value: step.group ?? 1, class: 'n' })),
    h('td', {}, h('input', { 'data-field': 'level', type: 'number', min: '0', value: step.level ?? 1, class: 'n' })),
    h('td', {}, h('input', { 'data-field': 'name', value: step.name ?? '', 'aria-label': 'Step name' })),
    h('td', {}, h('input', { 'data-field': 'command', value: step.command ?? '', class: 'mono wide', 'aria-label': 'Command', spellcheck: 'false' })),
    h('td', {}, h('input', { 'data-field': 'args', value: step.args ?? '', class: 'mono', 'aria-label': 'Arguments', spellcheck: 'false' })),
    h('td', {}, select('trigger', TRIGGERS, step.trigger ?? 'order')),
    h('td', {}, users.length ? select('exec_user', users, step.exec_user ?? users[0]) : h('input', { 'data-field': 'exec_user', value: step.exec_user ?? '' })),
    h('td', {}, h('input', { 'data-field': 'timeout_s', type: 'number', min: '1', value: step.timeout_s ?? 1800, class: 'n' })),
    h('td', {}, select('on_failure', ON_FAILURE, step.on_failure ?? 'hold')),
    h('td', {}, readOnly ? null : remove),
  );
  if (readOnly) for (const el of row.querySelectorAll('input, select')) el.disabled = true;
  return row;
}

function stepsOf(tbody) {
  return [...tbody.querySelectorAll('tr.step-edit')].map((row) => {
    const v = (field) => row.querySelector(`[data-field="${field}"]`).value;
    return {
      group: Number(v('group')),
      level: Number(v('level')),
      name: v('name'),
      command: v('command'),
      args: v('args'),
      trigger: v('trigger'),
      exec_user: v('exec_user'),
      timeout_s: Number(v('timeout_s')),
      on_failure: v('on_failure'),
    };
  });
}

export function showTemplateEditor(id, { can, setCleanup }) {
  showOnly('template-view');
  const isNew = id === null;
  const readOnly = !can('template.write');
  const form = $('template-form');
  const error = $('template-error');
  const tbody = $('template-steps');
  let stopped = false;
  let execUsers = [];
  form.reset();
  error.hidden = true;
  tbody.replaceChildren();
  $('template-title').textContent = isNew ? 'New template' : `Template #${id}`;
  document.title = `${$('template-title').textContent} · opsflow`;
  $('template-delete').hidden = isNew || readOnly;
  for (const el of form.querySelectorAll('button, input, textarea')) el.disabled = readOnly;

  function fill(t) {
    form.elements.name.value = t.name;
    form.elements.description.value = t.description;
    form.elements.max_parallel.value = t.max_parallel;
    form.elements.max_hosts_per_group.value = t.max_hosts_per_group;
    tbody.replaceChildren(...t.steps.map((s) => stepRow(s, execUsers, readOnly)));
  }

  const onAdd = () => {
    const rows = stepsOf(tbody);
    const last = rows[rows.length - 1];
    tbody.append(stepRow({ group: last?.group ?? 1, level: (last?.level ?? 0) + 1, exec_user: last?.exec_user }, execUsers, readOnly));
  };

  async function onSave(ev) {
    ev.preventDefault();
    error.hidden = true;
    const body = {
      name: form.elements.name.value,
      description: form.elements.description.value,
      max_parallel: Number(form.elements.max_parallel.value),
      max_hosts_per_group: Number(form.elements.max_hosts_per_group.value),
      steps: stepsOf(tbody),
    };
    try {
      const saved = await request(isNew ? 'POST' : 'PUT', isNew ? '/api/v1/templates' : `/api/v1/templates/${id}`, { body, csrf: true });
      flash(`Template #${saved.id} saved`, 'ok');
      if (isNew) location.hash = `#/templates/${saved.id}`;
      else fill(saved);
    } catch (e) {
      // e.g. "steps.1.exec_user: no exec user 'deploy' (create it under /api/v1/exec-users)"
      showError(error, e);
    }
  }

  async function onDelete() {
    if (!window.confirm(`Delete template #${id}? Tasks already submitted keep their own copy of the steps.`)) return;
    try {
      await request('DELETE', `/api/v1/templates/${id}`, { csrf: true });
      flash(`Template #${id} deleted`, 'ok');
      location.hash = '#/templates';
    } catch (e) {
      showError(error, e);
    }
  }

  $('template-add-step').addEventListener('click', onAdd);
  form.addEventListener('submit', onSave);
  $('template-delete').addEventListener('click', onDelete);
  setCleanup(() => {
    stopped = true;
    $('template-add-step').removeEventListener('click', onAdd);
    form.removeEventListener('submit', onSave);
    $('template-delete').removeEventListener('click', onDelete);
  });

  const users = can('exec_user.read') ? request('GET', '/api/v1/exec-users').then((p) => p.items.map((u) => u.alias)) : Promise.resolve([]);
  const template = isNew ? Promise.resolve(null) : request('GET', `/api/v1/templates/${id}`);
  Promise.all([users, template]).then(
    ([aliases, t]) => {
      if (stopped) return;
      execUsers = aliases;
      if (t) fill(t);
      else onAdd();
    },
    (e) => {
      if (!stopped) showError(error, e);
    },
  );
}

// --- exec users and known hosts ------------------------------------------------------------

export function showExecUsers({ can, setCleanup }) {
  showOnly('exec-users-view');
  document.title = 'Exec users · opsflow';
  const form = $('exec-user-form');
  const error = $('exec-user-error');
  const mayWrite = can('exec_user.write');
  let stopped = false;
  form.reset();
  form.hidden = !mayWrite;
  error.hidden = true;

  async function load() {
    try {
      const [users, hosts] = await Promise.all([
        request('GET', '/api/v1/exec-users'),
        can('known_host.read') ? request('GET', '/api/v1/known-hosts') : Promise.resolve({ items: [] }),
      ]);
      if (stopped) return;
      $('exec-user-rows').replaceChildren(
        ...users.items.map((u) =>
          h(
            'tr',
            { 'data-alias': u.alias },
            h('td', {}, u.alias),
            h('td', { class: 'mono' }, `${u.username}:${u.port}`),
            h('td', {}, u.auth),
            h('td', { class: 'mono small' }, u.key_fingerprint || '—'),
            h('td', {}, u.host_key_policy),
            h('td', {}, u.remarks),
            h('td', {}, mayWrite ? h('button', { class: 'small danger', onclick: () => void remove(`/api/v1/exec-users/${u.id}`, `exec user ${u.alias}`) }, 'Delete') : null),
          ),
        ),
      );
      $('known-host-rows').replaceChildren(
        ...hosts.items.map((k) =>
          h(
            'tr',
            { 'data-host': k.host },
            h('td', { class: 'mono' }, `${k.host}:${k.port}`),
            h('td', {}, k.key_type),
            h('td', { class: 'mono small' }, k.fingerprint),
            h('td', {}, k.pinned_by),
            h('td', { class: 'nowrap' }, fmtTime(k.first_seen)),
            h('td', {}, can('known_host.write') ? h('button', { class: 'small', onclick: () => void remove(`/api/v1/known-hosts/${k.id}`, `the host key of ${k.host}:${k.port}`) }, 'Forget') : null),
          ),
        ),
      );
    } catch (e) {
      if (!stopped && e.status !== 401) flash(`Could not load exec users: ${e.message}`, 'error');
    }
  }

  async function remove(path, what) {
    if (!window.confirm(`Delete ${what}?`)) return;
    try {
      await request('DELETE', path, { csrf: true });
      flash(`Deleted ${what}`, 'ok');
    } catch (e) {
      if (e.status !== 401) flash(e.message, 'error');
    }
    await load();
  }

  async function onCreate(ev) {
    ev.preventDefault();
    error.hidden = true;
    const f = form.elements;
    const body = { alias: f.alias.value, username: f.username.value, port: Number(f.port.value || 22), host_key_policy: f.host_key_policy.value, remarks: f.remarks.value };
    if (f.private_key.value.trim()) body.private_key = f.private_key.value;
    if (f.password.value) body.password = f.password.value;
    try {
      const created = await request('POST', '/api/v1/exec-users', { body, csrf: true });
      flash(`Exec user ${created.alias} created${created.key_fingerprint ? ` (key ${created.key_fingerprint})` : ''}`, 'ok');
      form.reset(); // the secret leaves the page as soon as it is stored
      await load();
    } catch (e) {
      showError(error, e);
    }
  }

  form.addEventListener('submit', onCreate);
  setCleanup(() => {
    stopped = true;
    form.removeEventListener('submit', onCreate);
  });
  void load();
}

// --- audit -----------------------------------------------------------------------------------

export function showAudit({ setCleanup }) {
  showOnly('audit-view');
  document.title = 'Audit · opsflow';
  const form = $('audit-filter');
  let stopped = false;
  let cursor = null;
  let latest = 0; // only the newest request's answer is shown (a filter may overtake the first load)
  $('audit-verdict').textContent = '';

  function auditRow(a) {
    const detail = Object.keys(a.detail || {}).length ? JSON.stringify(a.detail) : '';
    return h(
      'tr',
      { 'data-audit-id': a.id, class: a.result === 'ok' ? undefined : 'refused' },
      h('td', { class: 'num' }, a.id),
      h('td', { class: 'nowrap' }, fmtTime(a.at)),
      h('td', {}, a.actor),
      h('td', { class: 'mono' }, a.action),
      h('td', { class: 'mono' }, a.target),
      h('td', {}, a.result),
      h('td', { class: 'mono' }, a.ip),
      h('td', { class: 'mono small' }, detail),
    );
  }

  async function load(more) {
    const q = new URLSearchParams({ limit: '100' });
    for (const name of ['actor', 'action', 'target', 'result']) if (form.elements[name].value) q.set(name, form.elements[name].value);
    if (more && cursor !== null) q.set('cursor', String(cursor));
    const mine = ++latest;
    try {
      const page = await request('GET', `/api/v1/audit?${q}`);
      if (stopped || mine !== latest) return;
      const rows = page.items.map(auditRow);
      if (more) $('audit-rows').append(...rows);
      else $('audit-rows').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '8', class: 'muted' }, 'No entries.'))]));
      cursor = page.next_cursor;
      $('audit-more').hidden = cursor === null;
    } catch (e) {
      if (!stopped && e.status !== 401) flash(`Could not load the audit trail: ${e.message}`, 'error');
    }
  }

  async function onVerify() {
    const verdict = $('audit-verdict');
    try {
      const r = await request('GET', '/api/v1/audit/verify');
      verdict.textContent = r.ok ? `chain intact: ${r.rows} entries` : `TAMPERED at entry ${r.first_bad_id}: ${r.reason}`;
      verdict.className = r.ok ? 'ok-text' : 'error-text';
    } catch (e) {
      if (e.status !== 401) flash(`Verify: ${e.message}`, 'error');
    }
  }

  const onFilter = (ev) => {
    ev.preventDefault();
    void load(false);
  };
  const onMore = () => void load(true);
  form.addEventListener('submit', onFilter);
  $('audit-more').addEventListener('click', onMore);
  $('audit-verify').addEventListener('click', onVerify);
  setCleanup(() => {
    stopped = true;
    form.removeEventListener('submit', onFilter);
    $('audit-more').removeEventListener('click', onMore);
    $('audit-verify').removeEventListener('click', onVerify);
  });
  void load(false);
}

// --- users -----------------------------------------------------------------------------------

export function showUsers({ setCleanup, me }) {
  showOnly('users-view');
  document.title = 'Users · opsflow';
  const form = $('user-form');
  const error = $('user-error');
  let stopped = false;
  form.reset();
  error.hidden = true;
  hideSecret();

  /** A new password / TOTP secret, shown once; leaving the page forgets it. */
  function showSecret(title, values, qrSvg) {
    $('user-secret-title').textContent = title;
    $('user-secret-values').replaceChildren(...values.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono', 'data-secret': k }, v)]));
    const img = $('user-secret-qr');
    img.hidden = !qrSvg;
    img.src = qrSvg ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qrSvg)}` : '';
    $('user-secret').hidden = false;
  }
  function hideSecret() {
    $('user-secret').hidden = true;
    $('user-secret-values').replaceChildren();
    $('user-secret-qr').src = '';
  }

  async function act(label, method, path, body, reveal) {
    if (reveal && !window.confirm(`${label}?`)) return;
    try {
      const r = await request(method, path, { body: body || {}, csrf: true });
      flash(`${label}: done`, 'ok');
      if (reveal) reveal(r);
    } catch (e) {
      if (e.status !== 401) flash(`${label}: ${e.message}`, 'error');
    }
    await load();
  }

  function userRow(u) {
    const base = `/api/v1/users/${encodeURIComponent(u.username)}`;
    const self = me && me.username === u.username;
    const state = u.disabled ? 'disabled' : u.locked_until ? `locked for ${u.locked_addresses.join(', ')} until ${fmtTime(u.locked_until)}` : 'active';
    const buttons = [
      h('button', { class: 'small', onclick: () => void act(`Reset the password of ${u.username}`, 'POST', `${base}/reset-password`, {}, (r) => showSecret(`New password for ${u.username}`, [['Password', r.password]])) }, 'Reset password'),
      h('button', { class: 'small', onclick: () => void act(`Reset the TOTP of ${u.username}`, 'POST', `${base}/reset-totp`, {}, (r) => showSecret(`New TOTP for ${u.username}`, [['TOTP secret', r.totp_secret], ['otpauth URL', r.otpauth_url]], r.otpauth_qr_svg)) }, 'Reset TOTP'),
      u.locked_until ? h('button', { class: 'small', onclick: () => void act(`Unlock ${u.username}`, 'POST', `${base}/unlock`) }, 'Unlock') : null,
      self ? null : h('button', { class: u.disabled ? 'small' : 'small danger', onclick: () => void act(`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`, 'PATCH', base, { disabled: !u.disabled }) }, u.disabled ? 'Enable' : 'Disable'),
    ];
    return h(
      'tr',
      { 'data-username': u.username },
      h('td', { class: 'mono' }, u.username),
      h('td', {}, u.display_name),
      h('td', {}, u.role),
      h('td', {}, u.totp_enrolled ? 'enrolled' : '—'),
      h('td', {}, state),
      h('td', { class: 'nowrap' }, fmtTime(u.created_at)),
      h('td', { class: 'nowrap' }, buttons),
    );
  }

  async function load() {
    try {
      const page = await request('GET', '/api/v1/users');
      if (!stopped) $('user-rows').replaceChildren(...page.items.map(userRow));
    } catch (e) {
      if (!stopped && e.status !== 401) flash(`Could not load the users: ${e.message}`, 'error');
    }
  }

  async function onCreate(ev) {
    ev.preventDefault();
    error.hidden = true;
    const f = form.elements;
    const body = { username: f.username.value.trim(), role: f.role.value };
    if (f.display_name.value.trim()) body.display_name = f.display_name.value.trim();
    try {
      const r = await request('POST', '/api/v1/users', { body, csrf: true });
      form.reset();
      showSecret(`New user ${r.username}`, [['Password', r.password], ['TOTP secret', r.totp_secret], ['otpauth URL', r.otpauth_url]], r.otpauth_qr_svg);
      await load();
    } catch (e) {
      showError(error, e);
    }
  }

  const onDone = () => hideSecret();
  form.addEventListener('submit', onCreate);
  $('user-secret-done').addEventListener('click', onDone);
  setCleanup(() => {
    stopped = true;
    hideSecret();
    form.removeEventListener('submit', onCreate);
    $('user-secret-done').removeEventListener('click', onDone);
  });
  void load();
}
