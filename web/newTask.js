// Console view #/new: submit a task from a template (hosts per group, arguments, schedule).
import { $, flash, h, request, showError, showOnly } from './lib.js';


/** Argument names a template's steps use (FLOW_ID is filled in by opsflow), in step order. */
function templateArgNames(template) {
  const names = template.steps.flatMap((s) => (s.args || '').split(/\s+/)).filter((a) => a && a !== 'FLOW_ID');
  return [...new Set(names)];
}

export function showNewTask(setCleanup) {
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
      // The API names the field: "hosts.1: '999.1.1.1' is not an IP address or host name".
      showError(error, e);
    } finally {
      button.disabled = false;
    }
  }

  select.addEventListener('change', onTemplate);
  form.addEventListener('submit', onSubmit);
  setCleanup(() => {
    stopped = true;
    select.removeEventListener('change', onTemplate);
    form.removeEventListener('submit', onSubmit);
  });
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
