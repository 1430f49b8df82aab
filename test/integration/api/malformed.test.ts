/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- tests poke at parsed JSON replies */
// Hardening: more than 100 malformed requests (missing fields, wrong types, bad literals, huge
// bodies, bad addresses, unknown template, injection strings): each a 4xx with a JSON
// {code≠0, msg} naming the problem; never a 5xx, never a stack trace. Plus CODO's own
// validation codes (HTTP 200), security headers and a closed CORS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

let stack: ApiStack;
let admin: TestUser;
let templateId: number;

beforeAll(async () => {
  stack = await startApiStack();
  admin = await stack.addUser('root1', 'admin');
  const db = stack.database.db;
  await db.insertInto('exec_users').values({ alias: 'root', username: 'root', password: stack.box.seal('x', 'exec_users.password:root') }).execute();
  const t = await db.insertInto('templates').values({ name: 'two groups' }).returning('id').executeTakeFirstOrThrow();
  templateId = t.id;
  await db
    .insertInto('template_steps')
    .values([
      { template_id: t.id, group_no: 1, level: 1, name: 'a', command: 'true', exec_user: 'root' },
      { template_id: t.id, group_no: 2, level: 1, name: 'b', command: 'true', exec_user: 'root' },
    ])
    .execute();
});
afterAll(async () => {
  await stack?.close();
});

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string | null;
  /** Text that must appear in msg or details (names the problem). */
  mentions: string;
  status?: number;
}

const ACCEPT = '/api/task/v2/task/accept/';

function codoSubmit(overrides: Record<string, unknown>): Record<string, unknown> {
  return { temp_id: String(templateId), task_name: 't', schedule: 'new', hosts: "{1: '127.0.0.1', 2: '127.0.0.2'}", ...overrides };
}
function v1Submit(overrides: Record<string, unknown>): Record<string, unknown> {
  return { template_id: templateId, task_name: 't', hosts: { '1': ['127.0.0.1'], '2': ['127.0.0.2'] }, ...overrides };
}
const step = { group: 1, level: 1, name: 's', command: 'true', exec_user: 'root' };
function template(overrides: Record<string, unknown>, stepOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: `t-${Math.random()}`, steps: [{ ...step, ...stepOverrides }], ...overrides };
}

const BAD_HOSTS = [
  '999.1.1.1', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', 'a..b', '-host', 'host_', 'host name',
  '$(reboot)', '`id`', ';ls', '127.0.0.1;rm -rf /', '../../etc/passwd', 'x'.repeat(254), '1.2.3.4/24', 'http://1.2.3.4', '[::1]', '::g',
];
const INJECTIONS = ["1; DROP TABLE tasks", "1' OR '1'='1", '1 OR 1=1', '$(id)', '../1', '1%00', '0x1', '1e3', '-1', '99999999999999'];

function cases(): Case[] {
  const c: Case[] = [];
  // --- bodies that are not JSON objects
  for (const [label, raw] of [
    ['truncated JSON', '{"temp_id": '],
    ['not JSON', 'temp_id=1&hosts=x'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"hello"'],
    ['JSON null', 'null'],
    ['trailing garbage', '{"a":1} x'],
  ] as const) {
    c.push({ name: `accept: ${label}`, method: 'POST', path: ACCEPT, body: raw, mentions: 'body' });
    c.push({ name: `v1 tasks: ${label}`, method: 'POST', path: '/api/v1/tasks', body: raw, mentions: 'body' });
  }
  c.push({ name: 'huge body', method: 'POST', path: '/api/v1/tasks', body: JSON.stringify({ details: 'x'.repeat(2 * 1024 * 1024) }), mentions: 'too large', status: 413 });
  c.push({ name: 'huge CODO body', method: 'POST', path: ACCEPT, body: JSON.stringify({ args: 'x'.repeat(1_100_000) }), mentions: 'too large', status: 413 });
  c.push({ name: 'unsupported charset', method: 'POST', path: '/api/v1/tasks', body: '{}', contentType: 'application/json; charset=latin-9', mentions: 'charset' });

  // --- CODO submit: missing fields, wrong types, bad literals, unknown template
  c.push({ name: 'accept: no temp_id', method: 'POST', path: ACCEPT, body: codoSubmit({ temp_id: undefined }), mentions: 'temp_id' });
  for (const v of ['abc', -1, 0, 1.5, true, [1], { a: 1 }, '1 OR 1=1']) {
    c.push({ name: `accept: temp_id ${JSON.stringify(v)}`, method: 'POST', path: ACCEPT, body: codoSubmit({ temp_id: v }), mentions: 'temp_id' });
  }
  c.push({ name: 'accept: unknown template', method: 'POST', path: ACCEPT, body: codoSubmit({ temp_id: '424242' }), mentions: 'temp_id' });
  for (const args of ["{'A': }", "{'A': 'x'", '[1, 2]', "{'A': [1, 2]}", "{'A': {'b': 1}}", "{1 + 1: 'x'}", "__import__('os').system('id')", "{'A': b'bytes'}", "{'A': f'{x}'}", '{' + '['.repeat(200) + ']'.repeat(200) + '}', "{'bad key!': 'x'}", 42]) {
    c.push({ name: `accept: args ${String(args).slice(0, 30)}`, method: 'POST', path: ACCEPT, body: codoSubmit({ args }), mentions: 'args' });
  }
  for (const hosts of ["{1: '127.0.0.1'", "{0: '127.0.0.1'}", "{'a': '127.0.0.1'}", "{1: 5}", "{1: ['a', 5]}", "['127.0.0.1']", "{-1: 'x'}", "{1.5: 'x'}", "{1: '127.0.0.1', '1': '127.0.0.2'}", 7]) {
    c.push({ name: `accept: hosts ${String(hosts).slice(0, 30)}`, method: 'POST', path: ACCEPT, body: codoSubmit({ hosts }), mentions: 'hosts' });
  }
  for (const exec_time of ['tomorrow', '2019-02-30 10:00:00', '2019-03-22 25:00:00', '22/03/2019', 12345, '2019-03-22T16:09:50+25:00']) {
    c.push({ name: `accept: exec_time ${String(exec_time)}`, method: 'POST', path: ACCEPT, body: codoSubmit({ exec_time }), mentions: 'exec_time' });
  }
  c.push({ name: 'accept: schedule later', method: 'POST', path: ACCEPT, body: codoSubmit({ schedule: 'later' }), mentions: 'schedule' });
  c.push({ name: 'accept: task_name number', method: 'POST', path: ACCEPT, body: codoSubmit({ task_name: 123 }), mentions: 'task_name' });
  c.push({ name: 'accept: task_name NUL', method: 'POST', path: ACCEPT, body: codoSubmit({ task_name: 'a\u0000b' }), mentions: 'task_name' });
  c.push({ name: 'accept: details object', method: 'POST', path: ACCEPT, body: codoSubmit({ details: { x: 1 } }), mentions: 'details' });
  c.push({ name: 'accept: associated_user bad', method: 'POST', path: ACCEPT, body: codoSubmit({ associated_user: "{'admin': 5}" }), mentions: 'associated_user' });
  c.push({ name: 'accept: associated_user name', method: 'POST', path: ACCEPT, body: codoSubmit({ associated_user: "{'admin': ['a b; rm']}" }), mentions: 'associated_user' });

  // --- v1 submit: bad addresses (each a 400 naming the group), types, unknown fields
  for (const h of BAD_HOSTS) {
    c.push({ name: `v1: bad host ${h.slice(0, 20)}`, method: 'POST', path: '/api/v1/tasks', body: v1Submit({ hosts: { '1': [h], '2': ['127.0.0.2'] } }), mentions: 'hosts.1' });
    if (h === '999.1.1.1') {
      c.push({ name: 'v1: bad host named in msg', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ hosts: { '1': [h], '2': ['127.0.0.2'] } }), mentions: `"msg":"hosts.1.0: '999.1.1.1' is not an IP address or host name"` });
    }
  }
  c.push({ name: 'v1: too many hosts', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ hosts: { '1': Array.from({ length: 101 }, (_, i) => `127.10.${i >> 8}.${i & 255}`), '2': ['127.0.0.2'] } }), mentions: "hosts.1: 101 hosts, more than the template's 100 per group" });
  c.push({ name: 'v1: empty group', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ hosts: { '1': [], '2': ['127.0.0.2'] } }), mentions: 'hosts.1: no hosts for group 1' });
  c.push({ name: 'v1: group mismatch', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ hosts: { '1': ['127.0.0.1'], '2': ['127.0.0.2'], '3': ['127.0.0.3'] } }), mentions: 'hosts.3: the template has no group 3' });
  c.push({ name: 'v1: unknown template', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ template_id: 424242 }), mentions: 'template_id: template 424242 does not exist', status: 404 });
  c.push({ name: 'v1: template_id string', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ template_id: '1' }), mentions: 'template_id' });
  c.push({ name: 'v1: no task_name', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ task_name: undefined }), mentions: 'task_name' });
  c.push({ name: 'v1: blank task_name', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ task_name: '   ' }), mentions: 'task_name' });
  c.push({ name: 'v1: schedule', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ schedule: 'now' }), mentions: 'schedule' });
  c.push({ name: 'v1: args list', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ args: { A: [1] } }), mentions: 'args.A' });
  c.push({ name: 'v1: args key', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ args: { 'A;B': 'x' } }), mentions: 'args' });
  c.push({ name: 'v1: unknown field', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ sudo: true }), mentions: 'sudo' });
  c.push({ name: 'v1: exec_time', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ exec_time: 'soon' }), mentions: 'exec_time' });
  c.push({ name: 'v1: bad Idempotency-Key', method: 'POST', path: '/api/v1/tasks', body: v1Submit({}), mentions: 'Idempotency-Key' });

  // --- ids and queries with injection strings
  for (const s of INJECTIONS) {
    const e = encodeURIComponent(s);
    c.push({ name: `GET task ${s}`, method: 'GET', path: `/api/v1/tasks/${e}`, mentions: 'id' });
    c.push({ name: `check list_id ${s}`, method: 'GET', path: `/api/task/v2/task/check/?list_id=${e}`, mentions: 'list_id' });
  }
  c.push({ name: 'list status', method: 'GET', path: `/api/v1/tasks?status=${encodeURIComponent("running' OR '1'='1")}`, mentions: 'status' });
  c.push({ name: 'list limit', method: 'GET', path: '/api/v1/tasks?limit=100000', mentions: 'limit' });
  c.push({ name: 'list cursor', method: 'GET', path: '/api/v1/tasks?cursor=-5', mentions: 'cursor' });
  c.push({ name: 'list unknown param', method: 'GET', path: '/api/v1/tasks?evil=1', mentions: 'evil' });
  c.push({ name: 'list repeated param', method: 'GET', path: '/api/v1/tasks?limit=1&limit=2', mentions: 'limit' });
  c.push({ name: 'codo list page', method: 'GET', path: '/api/task/v2/task/list/?page=0', mentions: 'page' });
  c.push({ name: 'codo history limit', method: 'GET', path: '/api/task/v2/task/check_history/?limit=abc', mentions: 'limit' });
  c.push({ name: 'codo check group', method: 'GET', path: '/api/task/v2/task/check/?list_id=1&get_run_group=x', mentions: 'get_run_group' });
  c.push({ name: 'codo approve list_id', method: 'PATCH', path: '/api/task/v2/task/list/', body: { list_id: 'x; drop', start_time: '2020-01-01 00:00:00' }, mentions: 'list_id' });
  c.push({ name: 'codo terminate list_id', method: 'PUT', path: '/api/task/v2/task/list/', body: { list_id: [1] }, mentions: 'list_id' });
  c.push({ name: 'codo hand task_group', method: 'PATCH', path: '/api/task/v2/task/check/', body: { list_id: 1, task_group: 'one', task_level: 1, exec_ip: '1.1.1.1', hand_type: 'execute' }, mentions: 'task_group' });
  c.push({ name: 'logs follow', method: 'GET', path: '/api/v1/tasks/1/logs?follow=yes', mentions: 'follow' });
  c.push({ name: 'logs after', method: 'GET', path: '/api/v1/tasks/1/logs?after=-1', mentions: 'after' });
  c.push({ name: 'step id', method: 'POST', path: '/api/v1/tasks/1/steps/abc/retry', body: { host: '1.1.1.1' }, mentions: 'stepId' });
  c.push({ name: 'audit limit', method: 'GET', path: '/api/v1/audit?limit=0', mentions: 'limit' });
  c.push({ name: 'audit since', method: 'GET', path: '/api/v1/audit?since=yesterday', mentions: 'since' });
  c.push({ name: 'audit result', method: 'GET', path: '/api/v1/audit?result=maybe', mentions: 'result' });
  c.push({ name: 'user path', method: 'GET', path: '/api/v1/users/..%2F..%2Fetc%2Fpasswd', mentions: 'username' });

  // --- templates
  c.push({ name: 'template: no steps', method: 'POST', path: '/api/v1/templates', body: { name: 'x' }, mentions: 'steps' });
  c.push({ name: 'template: empty steps', method: 'POST', path: '/api/v1/templates', body: { name: 'x', steps: [] }, mentions: 'steps' });
  c.push({ name: 'template: no name', method: 'POST', path: '/api/v1/templates', body: template({ name: '' }), mentions: 'name' });
  c.push({ name: 'template: step command', method: 'POST', path: '/api/v1/templates', body: template({}, { command: undefined }), mentions: 'steps.0.command' });
  c.push({ name: 'template: trigger', method: 'POST', path: '/api/v1/templates', body: template({}, { trigger: 'sometimes' }), mentions: 'steps.0.trigger' });
  c.push({ name: 'template: timeout', method: 'POST', path: '/api/v1/templates', body: template({}, { timeout_s: -1 }), mentions: 'steps.0.timeout_s' });
  c.push({ name: 'template: group 0', method: 'POST', path: '/api/v1/templates', body: template({}, { group: 0 }), mentions: 'steps.0.group' });
  c.push({ name: 'template: exec user', method: 'POST', path: '/api/v1/templates', body: template({}, { exec_user: 'ghost' }), mentions: 'steps.0.exec_user' });
  c.push({ name: 'template: force_host', method: 'POST', path: '/api/v1/templates', body: template({}, { force_host: '$(id)' }), mentions: 'force_host' });
  c.push({ name: 'template: on_failure', method: 'POST', path: '/api/v1/templates', body: template({}, { on_failure: 'explode' }), mentions: 'on_failure' });
  c.push({ name: 'template: submitters', method: 'POST', path: '/api/v1/templates', body: template({ allowed_submitters: ['bad name!'] }), mentions: 'allowed_submitters' });
  c.push({ name: 'template: args tokens', method: 'POST', path: '/api/v1/templates', body: template({}, { args: ['a b'] }), mentions: 'args' });
  c.push({ name: 'template: unknown id', method: 'PUT', path: '/api/v1/templates/424242', body: template({}), mentions: 'template 424242', status: 404 });
  c.push({ name: 'command: no command', method: 'POST', path: '/api/v1/commands', body: { name: 'x' }, mentions: 'command' });

  // --- exec users, known hosts, users, tokens
  c.push({ name: 'exec user: garbage key', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a1', username: 'root', private_key: 'garbage' }, mentions: 'private_key' });
  c.push({ name: 'exec user: no secret', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a2', username: 'root' }, mentions: 'private_key' });
  c.push({ name: 'exec user: port', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a3', username: 'root', password: 'x', port: 70000 }, mentions: 'port' });
  c.push({ name: 'exec user: alias', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a b', username: 'root', password: 'x' }, mentions: 'alias' });
  c.push({ name: 'exec user: policy', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a4', username: 'root', password: 'x', host_key_policy: 'maybe' }, mentions: 'host_key_policy' });
  c.push({ name: 'exec user: username', method: 'POST', path: '/api/v1/exec-users', body: { alias: 'a5', username: 'root;id', password: 'x' }, mentions: 'username' });
  c.push({ name: 'known host: host', method: 'POST', path: '/api/v1/known-hosts', body: { host: 'not a host!', key_type: 'ssh-ed25519', fingerprint: 'SHA256:' + 'A'.repeat(43) }, mentions: 'host' });
  c.push({ name: 'known host: fingerprint', method: 'POST', path: '/api/v1/known-hosts', body: { host: '127.0.0.1', key_type: 'ssh-ed25519', fingerprint: 'MD5:aa:bb' }, mentions: 'fingerprint' });
  c.push({ name: 'known host: public key', method: 'POST', path: '/api/v1/known-hosts', body: { host: '127.0.0.1', public_key: 'ssh-ed25519 !!!' }, mentions: 'public_key' });
  c.push({ name: 'user: username', method: 'POST', path: '/api/v1/users', body: { username: '-bad', role: 'viewer' }, mentions: 'username' });
  c.push({ name: 'user: role', method: 'POST', path: '/api/v1/users', body: { username: 'newbie', role: 'god' }, mentions: 'role' });
  c.push({ name: 'user: weak password', method: 'POST', path: '/api/v1/users', body: { username: 'newbie', role: 'viewer', password: 'short' }, mentions: 'password' });
  c.push({ name: 'user: patch role', method: 'PATCH', path: '/api/v1/users/root1', body: { role: 'superuser' }, mentions: 'role' });
  c.push({ name: 'token: expires_at', method: 'POST', path: '/api/v1/tokens', body: { name: 'x', expires_at: 'yesterday' }, mentions: 'expires_at' });
  c.push({ name: 'token: past expiry', method: 'POST', path: '/api/v1/tokens', body: { name: 'x', expires_at: '2001-01-01T00:00:00Z' }, mentions: 'expires_at' });
  c.push({ name: 'token: days', method: 'POST', path: '/api/v1/tokens', body: { name: 'x', expires_in_days: 0 }, mentions: 'expires_in_days' });
  c.push({ name: 'token: name', method: 'POST', path: '/api/v1/tokens', body: { name: '' }, mentions: 'name' });
  c.push({ name: 'undeclared method', method: 'DELETE', path: ACCEPT, mentions: 'method DELETE not allowed on /api/task/v2/task/accept/; allowed: GET, HEAD, POST', status: 405 });
  // --- NUL bytes anywhere and numbers beyond ±(2^53-1): 400 naming the field, whatever the route
  c.push({ name: 'NUL in a query', method: 'GET', path: '/api/task/v2/task_layout/args/?search_value=a%00b', mentions: 'query.search_value: may not contain a NUL byte', status: 400 });
  c.push({ name: 'NUL in a CODO name', method: 'POST', path: '/api/task/v2/task_layout/temp/', body: { temp_name: 'a\u0000b' }, mentions: 'temp_name', status: 400 });
  c.push({ name: 'huge number in args', method: 'POST', path: '/api/v1/tasks', body: v1Submit({ args: { A: 1e300 } }), mentions: 'args.A: number out of range', status: 400 });
  c.push({ name: 'huge TOTP code', method: 'POST', path: '/api/accounts/login/', body: { username: 'x', password: 'y', dynamic: 2 ** 70 }, mentions: 'dynamic: Too big', status: 400 });
  c.push({ name: 'unknown route', method: 'GET', path: '/api/task/v2/nothing/', mentions: 'no route', status: 404 });
  return c;
}

describe('malformed requests', () => {
  it('answers each with a 4xx JSON {code≠0, msg} naming the problem, never a 5xx or a stack trace', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(100);
    const failures: string[] = [];
    for (const k of all) {
      const headers: Record<string, string> = k.name === 'v1: bad Idempotency-Key' ? { 'idempotency-key': 'x'.repeat(65) } : {};
      const r = await stack.request(k.method, k.path, { token: admin.token, body: k.body, contentType: k.contentType, headers });
      const text = JSON.stringify(r.json ?? r.text);
      const problems = [
        r.status >= 400 && r.status < 500 ? '' : `status ${r.status}`,
        k.status === undefined || r.status === k.status ? '' : `expected ${k.status}`,
        r.json && typeof r.json.msg === 'string' && r.json.msg !== '' && r.json.code !== 0 ? '' : 'not {code≠0,msg}',
        text.includes(k.mentions) ? '' : `does not mention '${k.mentions}'`,
        /\bat \S+ \(|node_modules|\.ts:\d+/.test(text) ? 'leaks a stack trace' : '',
      ].filter(Boolean);
      if (problems.length) failures.push(`${k.name}: ${problems.join(', ')} → ${r.status} ${text.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers CODO's own validation codes with HTTP 200, first failure in CODO's order", async () => {
    const post = async (hosts: string) => (await stack.request('POST', ACCEPT, { token: admin.token, body: codoSubmit({ hosts }) })).json;
    expect(await post("{2: '127.0.0.2'}")).toMatchObject({ code: -4, msg: 'The exec host cannot be empty' });
    expect(await post("{1: '', 2: '127.0.0.2'}")).toMatchObject({ code: -4, msg: 'The exec host cannot be empty' });
    const many = Array.from({ length: 101 }, (_, i) => `127.11.0.${i}`).join(',');
    expect(await post(`{1: '${many}', 2: '127.0.0.2'}`)).toMatchObject({ code: -4, msg: 'Too many hosts, please execute in groups' });
    expect(await post("{1: '999.1.1.1', 2: '127.0.0.2'}")).toMatchObject({ code: 5, msg: 'ip格式有误' });
    expect(await post("{1: '127.0.0.1', 2: '127.0.0.2', 3: '127.0.0.3'}")).toMatchObject({ code: -3, msg: 'Host groupings and template groupings mismatch' });
    // 100 hosts is fine.
    const hundred = Array.from({ length: 100 }, (_, i) => `127.12.0.${i}`).join(',');
    const ok = await post(`{1: '${hundred}', 2: '127.0.0.2'}`);
    expect(ok.code).toBe(0);
    // Injection strings in values are data, accepted and stored literally.
    const evil = await stack.request('POST', ACCEPT, { token: admin.token, body: codoSubmit({ task_name: "'; DROP TABLE tasks; --", args: "{'X': '$(rm -rf /)'}" }) });
    expect(evil.json.code).toBe(0);
    const task = await stack.database.db.selectFrom('tasks').selectAll().where('id', '=', evil.json.list_id).executeTakeFirstOrThrow();
    expect(task.task_name).toBe("'; DROP TABLE tasks; --");
    expect(task.args).toEqual({ X: '$(rm -rf /)' });
  });

  it('sends security headers, no CORS grant, and no X-Powered-By', async () => {
    const r = await stack.request('GET', '/api/v1/me', { token: admin.token, headers: { origin: 'https://evil.example' } });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['strict-transport-security']).toBeDefined();
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['x-powered-by']).toBeUndefined();
    const preflight = await stack.request('OPTIONS', '/api/v1/tasks', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});
