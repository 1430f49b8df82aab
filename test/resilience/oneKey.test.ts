// 200 concurrent submissions carrying one idempotency key, over both APIs: exactly one task is
// created and started, every answer names it, and the same key on a different request is a 409.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, until } from './support/stack';

const HOST = '127.0.13.1';
const N = 200;

describe('one key, 200 concurrent submissions', () => {
  let stack: Stack;
  let templateId: number;
  let args: Record<string, string>;

  beforeAll(async () => {
    stack = await Stack.start({ sshdGroups: [[HOST]] });
    templateId = await stack.createTemplate([{ level: 1, name: 'once', script: 'ONCE' }]);
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function tasksWithKey(key: string): Promise<number[]> {
    const rows = await stack.db.selectFrom('tasks').select('id').where('idempotency_key', 'like', `%${key}%`).execute();
    return rows.map((r) => r.id);
  }

  async function ranOnce(taskId: number, marker: string): Promise<void> {
    const v = await until(`task ${taskId} to end`, async () => {
      const t = await stack.task(taskId);
      return ['succeeded', 'failed', 'cancelled'].includes(t.status) ? t : undefined;
    }, 60_000);
    expect(v.status).toBe('succeeded');
    expect(stack.markerCounts().get(HOST)?.get(marker)).toBe(1);
  }

  it('/api/v1 with Idempotency-Key: one task; 201 once, 200 for the rest, all naming it; a different request is a 409', async () => {
    const key = `resilience-v1-${Date.now()}`;
    args = { ONCE: stack.markerScript('v1', 'echo once') };
    const body = { template_id: templateId, task_name: 'one key', schedule: 'ready', args, hosts: { '1': [HOST] } };
    const replies = await Promise.all(
      Array.from({ length: N }, () => stack.request('POST', '/api/v1/tasks', { body, headers: { 'Idempotency-Key': key }, timeoutMs: 60_000 })),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(N - 1);
    const ids = new Set(replies.map((r) => (r.json as { id?: number }).id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [number];
    expect(await tasksWithKey(key)).toEqual([id]);

    const other = await stack.request('POST', '/api/v1/tasks', { body: { ...body, task_name: 'another' }, headers: { 'Idempotency-Key': key } });
    expect(other.status, other.text).toBe(409);
    expect((other.json as { msg: string }).msg).toMatch(/Idempotency-Key/);
    await ranOnce(id, 'v1');
  });

  it('CODO accept/ with one csrf_key: one task, every answer has its list_id; a different request is a 409', async () => {
    const issued = await stack.call<{ csrf_key: string }>('GET', '/api/task/v2/task/accept/');
    const key = issued.csrf_key;
    const body = {
      temp_id: templateId,
      task_name: 'one csrf key',
      schedule: 'ready',
      args: JSON.stringify({ ONCE: stack.markerScript('codo', 'echo once') }),
      hosts: JSON.stringify({ 1: HOST }),
      csrf_key: key,
    };
    const replies = await Promise.all(Array.from({ length: N }, () => stack.request('POST', '/api/task/v2/task/accept/', { body, timeoutMs: 60_000 })));
    const answers = replies.map((r) => ({ status: r.status, ...(r.json as { code: number; list_id?: number }) }));
    expect(answers.filter((a) => a.status !== 200 || a.code !== 0)).toEqual([]);
    const ids = new Set(answers.map((a) => a.list_id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [number];
    const v = await stack.task(id);
    expect(v.id).toBe(id);

    const other = await stack.request('POST', '/api/task/v2/task/accept/', { body: { ...body, task_name: 'another' } });
    expect(other.status, other.text).toBe(409);
    expect((other.json as { msg: string }).msg).toMatch(/csrf_key/);
    await ranOnce(id, 'codo');
  });
});
