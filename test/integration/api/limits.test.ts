/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- tests poke at parsed JSON replies */
// Hosts per group over HTTP: /api/v1 takes 10,000 hosts in a group (run as shards) and refuses
// 10,001 naming the field; CODO's accept keeps its 100 per group, code and message, whatever
// the template allows. The large task's steps are `hand` steps: nothing connects anywhere.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

let stack: ApiStack;
let admin: TestUser;
let op: TestUser;
let templateId: number;

const ACCEPT = '/api/task/v2/task/accept/';
/** n distinct loopback addresses in 127.64.0.0/10 (never contacted: the steps wait for a person). */
const hostsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `127.${64 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`);

beforeAll(async () => {
  stack = await startApiStack({ worker: true });
  admin = await stack.addUser('root1', 'admin');
  op = await stack.addUser('opal', 'operator');
  await stack.database.db.insertInto('exec_users').values({ alias: 'root', username: 'root', password: stack.box.seal('x', 'exec_users.password:root') }).execute();
  const created = await stack.request('POST', '/api/v1/templates', {
    token: op.token,
    body: { name: 'fleet', max_hosts_per_group: 10_000, steps: [{ group: 1, level: 1, name: 'confirm', command: 'true', trigger: 'hand', exec_user: 'root' }] },
  });
  expect(created.status).toBe(201);
  templateId = created.json.id as number;
});
afterAll(async () => {
  await stack?.close();
});

describe('hosts per group', () => {
  it('/api/v1 accepts 10,000 hosts in a group and runs them as 40 shards', async () => {
    const hosts = hostsOf(10_000);
    expect(new Set(hosts).size).toBe(10_000);
    const r = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: templateId, task_name: 'fleet', schedule: 'ready', hosts: { '1': hosts } } });
    expect(r.status).toBe(201);
    const id = r.json.id as number;
    const last = `task-${id}-g1-s40`;
    await eventually('the 40th shard to start', () => stack.temporal.client.workflow.getHandle(last).describe().then(() => true, () => undefined), 120_000);
    await expect(stack.temporal.client.workflow.getHandle(`task-${id}-g1-s41`).describe()).rejects.toThrow();

    const cancelled = await stack.request('POST', `/api/v1/tasks/${id}/cancel`, { token: admin.token, body: {} });
    expect(cancelled.status).toBe(200);
    await eventually('the task to end cancelled', async () => ((await stack.request('GET', `/api/v1/tasks/${id}`, { token: op.token })).json.status === 'cancelled' ? true : undefined), 120_000);
    const counts = await sql<{ status: string; n: string }>`select status, count(*) as n from step_runs where task_id = ${id} group by status`.execute(stack.database.db);
    expect(counts.rows.map((c) => [c.status, Number(c.n)])).toEqual([['cancelled', 10_000]]);
    // One view over both dialects, read from the rows every shard wrote.
    const view = await stack.request('GET', `/api/v1/tasks/${id}`, { token: op.token });
    expect(view.json.steps).toHaveLength(10_000);
    expect(new Set(view.json.steps.map((x: { status: string }) => x.status))).toEqual(new Set(['cancelled']));
    const order = await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}`, { token: admin.token });
    expect(order.json.code).toBe(0);
    expect(Object.keys(order.json.data.all_hosts_status['1'])).toHaveLength(10_000);
  }, 300_000);

  it('/api/v1 refuses 10,001 hosts in a group, naming the field', async () => {
    const hosts = hostsOf(10_001);
    const asList = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: templateId, task_name: 'too big', hosts: { '1': hosts } } });
    expect(asList.status).toBe(400);
    expect(JSON.stringify(asList.json)).toContain('hosts.1');
    expect(asList.json.msg).toBe('hosts.1: 10001 hosts, more than 10000 per group');
    const asText = await stack.request('POST', '/api/v1/tasks', { token: op.token, body: { template_id: templateId, task_name: 'too big', hosts: { '1': hosts.join(',') } } });
    expect(asText.status).toBe(409);
    expect(asText.json.details[0]).toMatchObject({ field: 'hosts.1' });
    expect(asText.json.msg).toBe("hosts.1: 10001 hosts, more than the template's 10000 per group; split the task");
  });

  it("CODO's accept keeps 100 hosts per group, code and message, though the template allows 10,000", async () => {
    const post = async (n: number) =>
      (await stack.request('POST', ACCEPT, { token: admin.token, body: { temp_id: String(templateId), task_name: 't', schedule: 'new', hosts: `{1: '${hostsOf(n).join(',')}'}` } })).json;
    expect(await post(101)).toMatchObject({ code: -4, msg: 'Too many hosts, please execute in groups' });
    expect((await post(100)).code).toBe(0);
  });
});
