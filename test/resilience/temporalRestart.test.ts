// The Temporal dev server stopped and started again (same SQLite file) while a task runs: the
// worker and the API reconnect, the task finishes, and no step ran twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, Stack, until } from './support/stack';

const HOSTS = Array.from({ length: 10 }, (_, i) => `127.0.10.${i + 1}`);
const STEPS = ['s1', 's2', 's3'];

describe('Temporal restarted mid-run', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ sshdGroups: [HOSTS] });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('the task finishes correctly and every step ran exactly once', async () => {
    const args = Object.fromEntries(STEPS.map((name, i) => [`S${i + 1}`, stack.markerScript(name, 'sleep 3; echo done')]));
    const templateId = await stack.createTemplate(STEPS.map((name, i) => ({ level: i + 1, name, script: `S${i + 1}` })));
    const taskId = await stack.submit(templateId, HOSTS, args);

    // Down while the second level runs on every host, up again a few seconds later.
    await until('level 2 to run', async () => {
      const view = await stack.task(taskId);
      return view.steps.some((s) => s.level === 2 && s.status === 'running') ? true : undefined;
    }, 60_000);
    await stack.stopTemporal();
    // A submission meanwhile is accepted at once (the task and its workflow start commit to the
    // outbox in PostgreSQL), and starts once Temporal is back; a retry with the same key names it.
    const lateArgs = Object.fromEntries(STEPS.map((name, i) => [`S${i + 1}`, stack.markerScript(`late-${name}`, 'echo done')]));
    const late = { template_id: templateId, task_name: 'during outage', schedule: 'ready', args: lateArgs, hosts: { '1': [HOSTS[0]] } };
    const key = { 'Idempotency-Key': `temporal-outage-${Date.now()}` };
    const asked = Date.now();
    const accepted = await stack.request('POST', '/api/v1/tasks', { body: late, headers: key, timeoutMs: 30_000 });
    expect(Date.now() - asked).toBeLessThan(15_000); // a prompt answer, not a hang
    expect(accepted.status, accepted.text).toBe(201);
    const lateId = (accepted.json as { id: number }).id;
    await sleep(2000);
    await stack.startTemporal();
    const retried = await stack.request('POST', '/api/v1/tasks', { body: late, headers: key });
    expect(retried.status, retried.text).toBe(200);
    expect((retried.json as { id: number }).id).toBe(lateId);

    const view = await until('the task to end', async () => {
      const v = await stack.task(taskId);
      return ['succeeded', 'failed', 'cancelled'].includes(v.status) ? v : undefined;
    }, 120_000);
    const counts = stack.markerCounts();
    const runs = HOSTS.flatMap((host) => STEPS.map((step) => `${host} ${step} ×${counts.get(host)?.get(step) ?? 0}`));
    expect(runs.filter((r) => !r.endsWith(' ×1'))).toEqual([]);
    expect(view.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.host} ${s.name}: ${s.status} ${s.error ?? ''}`)).toEqual([]);
    expect(view.status).toBe('succeeded');
    const lateView = await until('the late task to end', async () => {
      const v = await stack.task(lateId);
      return ['succeeded', 'failed', 'cancelled'].includes(v.status) ? v : undefined;
    }, 60_000);
    expect(lateView.status).toBe('succeeded');
    expect(Object.fromEntries(stack.markerCounts().get(HOSTS[0]!) ?? [])).toMatchObject({ 'late-s1': 1, 'late-s2': 1, 'late-s3': 1 });
  });
});
