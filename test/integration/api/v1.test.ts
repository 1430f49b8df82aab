/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// The native API end to end: exec users, templates, commands, users, tasks (submit, list with
// filters and cursor, idempotency, interventions on a real run: pause/resume, retry and skip a
// held step, reschedule), against the real engine and sshd on 127.0.0.x.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

const HOSTS = ['127.0.0.31', '127.0.0.32'];
let stack: ApiStack;
let admin: TestUser;
let op: TestUser;
let approver: TestUser;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: HOSTS });
  admin = await stack.addUser('root2', 'admin');
  op = await stack.addUser('opal', 'operator');
  approver = await stack.addUser('appy', 'approver');
});
afterAll(async () => {
  await stack?.close();
});

async function task(id: number): Promise<any> {
  return (await stack.request('GET', `/api/v1/tasks/${id}`, { token: op.token })).json;
}
async function until(id: number, pred: (t: any) => boolean, what: string): Promise<any> {
  return eventually(what, async () => {
    const t = await task(id);
    return pred(t) ? t : undefined;
  }, 60_000);
}

describe('/api/v1 resources', () => {
  it('exec users, templates (CRUD with steps) and commands', async () => {
    const eu = await stack.request('POST', '/api/v1/exec-users', { token: admin.token, body: { alias: 'deployer', username: stack.sshd!.username, port: stack.sshd!.port, private_key: stack.sshd!.clientPrivateKey } });
    expect(eu.status).toBe(201);
    expect(eu.json.key_fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    const body = {
      name: 'deploy',
      description: 'two steps',
      steps: [
        { group: 1, level: 1, name: 'hello', command: 'echo hello', args: 'WHO', exec_user: 'deployer', timeout_s: 30 },
        { group: 1, level: 2, name: 'bye', command: 'echo bye', exec_user: 'deployer' },
      ],
    };
    const created = await stack.request('POST', '/api/v1/templates', { token: op.token, body });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'deploy', created_by: 'opal', max_parallel: 50, steps: [{ name: 'hello', args: 'WHO', trigger: 'order', timeout_s: 30, retries: 2, on_failure: 'hold' }, { name: 'bye' }] });
    const id = created.json.id as number;
    expect((await stack.request('POST', '/api/v1/templates', { token: op.token, body })).status).toBe(409);
    const replaced = await stack.request('PUT', `/api/v1/templates/${id}`, { token: op.token, body: { ...body, steps: [body.steps[0]] } });
    expect(replaced.json.steps).toHaveLength(1);
    expect((await stack.request('GET', '/api/v1/templates', { token: approver.token })).json.items.map((t: any) => t.name)).toContain('deploy');
    // In use by an exec user: cannot delete it.
    expect((await stack.request('DELETE', `/api/v1/exec-users/${eu.json.id}`, { token: admin.token })).status).toBe(409);
    expect((await stack.request('DELETE', `/api/v1/templates/${id}`, { token: op.token })).status).toBe(200);
    expect((await stack.request('GET', `/api/v1/templates/${id}`, { token: op.token })).status).toBe(404);

    const cmd = await stack.request('POST', '/api/v1/commands', { token: op.token, body: { name: 'disk', command: 'df -h' } });
    expect(cmd.status).toBe(201);
    expect((await stack.request('PUT', `/api/v1/commands/${cmd.json.id}`, { token: op.token, body: { name: 'disk', command: 'df -hT' } })).json.command).toBe('df -hT');
    expect((await stack.request('GET', `/api/v1/commands/${cmd.json.id}`, { token: approver.token })).json.command).toBe('df -hT');
  });

  it('users: create (password and TOTP shown once), the new user logs in, role change, disable, reset-password', async () => {
    const r = await stack.request('POST', '/api/v1/users', { token: admin.token, body: { username: 'newop', role: 'operator', display_name: 'New Op' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ username: 'newop', password: expect.any(String), totp_secret: expect.any(String), otpauth_url: expect.stringMatching(/^otpauth:\/\/totp\//) });
    const u: TestUser = { username: 'newop', password: r.json.password, totpSecret: r.json.totp_secret, role: 'operator', token: '' };
    const key = await stack.login(u);
    expect((await stack.request('GET', '/api/v1/me', { token: key })).json).toMatchObject({ username: 'newop', role: 'operator', display_name: 'New Op' });
    expect((await stack.request('GET', '/api/v1/users', { token: admin.token })).json.items.find((x: any) => x.username === 'newop')).toMatchObject({ totp_enrolled: true, disabled: false });
    expect(JSON.stringify((await stack.request('GET', '/api/v1/users', { token: admin.token })).json)).not.toMatch(/password_hash|totp_secret"/);
    // A role change ends sessions.
    expect((await stack.request('PATCH', '/api/v1/users/newop', { token: admin.token, body: { role: 'viewer' } })).json.role).toBe('viewer');
    expect((await stack.request('GET', '/api/v1/me', { token: key })).status).toBe(401);
    expect((await stack.request('PATCH', '/api/v1/users/newop', { token: admin.token, body: { disabled: true } })).json.disabled).toBe(true);
    const reset = await stack.request('POST', '/api/v1/users/newop/reset-password', { token: admin.token, body: {} });
    expect(reset.json.password).toEqual(expect.any(String));
    // The last admin cannot be demoted.
    const only = await stack.database.db.selectFrom('users').select('username').where('role', '=', 'admin').execute();
    expect(only).toHaveLength(1);
    expect((await stack.request('PATCH', '/api/v1/users/root2', { token: admin.token, body: { role: 'viewer' } })).status).toBe(409);
    expect((await stack.request('GET', '/api/v1/roles', { token: op.token })).json.items.map((x: any) => x.name)).toEqual(['admin', 'approver', 'operator', 'submitter', 'viewer']);
  });
});

describe('/api/v1/tasks on the real engine', () => {
  let templateId: number;
  beforeAll(async () => {
    const t = await stack.request('POST', '/api/v1/templates', {
      token: op.token,
      body: {
        name: 'flaky',
        steps: [
          { group: 1, level: 1, name: 'maybe fail', command: 'test -e', args: 'MARKER', exec_user: 'root', retries: 0 },
          { group: 1, level: 2, name: 'after', command: 'sleep 0.5; echo after', exec_user: 'root' },
        ],
      },
    });
    expect(t.status).toBe(201);
    templateId = t.json.id;
  });

  it('submit is idempotent with Idempotency-Key; list filters and cursor pages', async () => {
    const body = { template_id: templateId, task_name: 'idem', schedule: 'new', args: { MARKER: '/nonexistent' }, hosts: { '1': [HOSTS[0]] } };
    const a = await stack.request('POST', '/api/v1/tasks', { token: op.token, body, headers: { 'idempotency-key': 'k-1' } });
    const b = await stack.request('POST', '/api/v1/tasks', { token: op.token, body, headers: { 'idempotency-key': 'k-1' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.json.id).toBe(a.json.id);
    expect(b.json.created).toBe(false);
    expect(a.headers.location).toBe(`/api/v1/tasks/${a.json.id}`);
    // The same key with a different request is refused, never answered with the first task.
    const c = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { ...body, task_name: 'idem-other' }, headers: { 'idempotency-key': 'k-1' } });
    expect(c.status).toBe(409);
    expect(c.json.msg).toBe(`Idempotency-Key: already used for task ${a.json.id} with a different request; get a new key for a new task`);
    expect(c.json.details[0].field).toBe('Idempotency-Key');
    for (let i = 0; i < 3; i++) await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { ...body, task_name: `page-${i}` } });
    const p1 = await stack.request('GET', '/api/v1/tasks?status=pending_approval&limit=2', { token: op.token });
    expect(p1.json.items).toHaveLength(2);
    const p2 = await stack.request('GET', `/api/v1/tasks?status=pending_approval&limit=2&cursor=${p1.json.next_cursor}`, { token: op.token });
    const ids = [...p1.json.items, ...p2.json.items].map((t: any) => t.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(new Set(ids).size).toBe(4);
    expect((await stack.request('GET', '/api/v1/tasks?q=page-&limit=50', { token: op.token })).json.items).toHaveLength(3);
    expect((await stack.request('GET', `/api/v1/tasks?template_id=${templateId}&creator=nobody`, { token: op.token })).json.items).toHaveLength(0);
  });

  it('a failed step is held; retry after fixing the cause, skip on the other host; the task succeeds', async () => {
    const marker = `/tmp/opsflow-api-ok-${process.pid}-${Date.now()}`;
    const r = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: templateId, task_name: 'flaky run', schedule: 'ready', args: { MARKER: marker }, hosts: { '1': HOSTS } } });
    expect(r.status).toBe(201);
    const id = r.json.id as number;
    const held = await until(id, (t) => t.steps.filter((s: any) => s.level === 1 && s.status === 'held').length === 2, 'both first steps held');
    const first = held.steps.find((s: any) => s.level === 1 && s.host === HOSTS[0]);
    expect(first.exit_code).toBe(1);
    await stack.request('POST', `/api/v1/tasks/${id}/pause`, { token: op.token, body: {} });
    expect((await task(id)).status).toBe('paused');
    expect((await stack.request('POST', `/api/v1/tasks/${id}/resume`, { token: op.token, body: {} })).status).toBe(200);

    // Fix the cause (the step checks that the marker file exists) and retry one host.
    const fs = await import('node:fs');
    fs.writeFileSync(marker, '');
    try {
      expect((await stack.request('POST', `/api/v1/tasks/${id}/steps/${first.step_id}/retry`, { token: op.token, body: { host: HOSTS[0] } })).json.accepted).toBe(true);
      expect((await stack.request('POST', `/api/v1/tasks/${id}/steps/${first.step_id}/skip`, { token: op.token, body: { host: HOSTS[1] } })).json.accepted).toBe(true);
      expect((await stack.request('POST', `/api/v1/tasks/${id}/steps/${first.step_id}/skip`, { token: op.token, body: { host: '127.0.0.99' } })).status).toBe(404);
      const done = await until(id, (t) => ['succeeded', 'failed', 'cancelled'].includes(t.status), 'the task to end');
      expect(done.status).toBe('succeeded');
      const byKey = Object.fromEntries(done.steps.map((s: any) => [`${s.host} ${s.level}`, s.status]));
      expect(byKey).toEqual({ [`${HOSTS[0]} 1`]: 'succeeded', [`${HOSTS[0]} 2`]: 'succeeded', [`${HOSTS[1]} 1`]: 'skipped', [`${HOSTS[1]} 2`]: 'succeeded' });
    } finally {
      fs.rmSync(marker, { force: true });
    }
    const trail = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'result']).where('target', '=', `task:${id}`).orderBy('id').execute();
    expect(trail.map((t) => `${t.actor} ${t.action} ${t.result.split(':')[0]}`)).toEqual([
      'opal task.submit ok',
      'opal task.pause ok',
      'opal task.resume ok',
      'opal task.step.retry ok',
      'opal task.step.skip ok',
      'opal task.step.skip refused',
    ]);
  });

  it('follows logs live as Server-Sent Events while the task runs, ending with the final status', async () => {
    const t = await stack.request('POST', '/api/v1/templates', {
      token: op.token,
      body: { name: 'counter', steps: [{ group: 1, level: 1, name: 'count', command: 'for i in 1 2 3; do echo tick $i; sleep 0.4; done', exec_user: 'root' }] },
    });
    const r = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: t.json.id, task_name: 'live', schedule: 'ready', hosts: { '1': [HOSTS[1]] } } });
    const id = r.json.id as number;
    const res = await fetch(`${stack.base}/api/v1/tasks/${id}/logs?follow=1`, { headers: { authorization: `Bearer ${op.token}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const seenWhileRunning: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const status = (await stack.database.db.selectFrom('tasks').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
      for (const m of text.matchAll(/"chunk":"(tick \d)/g)) if (status === 'running' && !seenWhileRunning.includes(m[1]!)) seenWhileRunning.push(m[1]!);
    }
    expect([...text.matchAll(/"chunk":"(tick \d)/g)].map((m) => m[1])).toEqual(['tick 1', 'tick 2', 'tick 3']);
    expect(seenWhileRunning.length).toBeGreaterThan(0); // delivered before the task ended
    expect(text).toMatch(/event: status\ndata: {"status":"running"}/);
    expect(text.trimEnd().endsWith('event: end\ndata: {"status":"succeeded"}')).toBe(true);
  });

  it('approve with a start time, reschedule, then cancel a waiting task', async () => {
    const r = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: templateId, task_name: 'later', schedule: 'new', hosts: { '1': [HOSTS[0]] } } });
    const id = r.json.id as number;
    const later = new Date(Date.now() + 3600_000).toISOString();
    expect((await stack.request('POST', `/api/v1/tasks/${id}/approve`, { token: approver.token, body: { start_at: later } })).status).toBe(200);
    await until(id, (t) => t.status === 'scheduled', 'scheduled');
    expect((await stack.request('POST', `/api/v1/tasks/${id}/reschedule`, { token: op.token, body: { start_at: '2099-01-01 00:00:00' } })).status).toBe(200);
    expect((await stack.request('POST', `/api/v1/tasks/${id}/cancel`, { token: op.token, body: { reason: 'changed plans' } })).status).toBe(200);
    const t = await until(id, (x) => x.status === 'cancelled', 'cancelled');
    expect(t.approver).toBe('appy');
    expect(t.steps.every((s: any) => s.status === 'cancelled')).toBe(true);
  });
});
