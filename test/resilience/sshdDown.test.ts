// sshd stopped on one host of a task: that host's step fails with the reason once its transport
// retries are spent (the other hosts go on); after sshd is back, a retry of the step succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, until, type TaskView } from './support/stack';

const UP = ['127.0.12.1', '127.0.12.2', '127.0.12.3'];
const DOWN = '127.0.12.9';
const STEPS = ['s1', 's2'];

describe('sshd stopped on one host', () => {
  let stack: Stack;

  beforeAll(async () => {
    // The stopped host has an sshd of its own (same port and client key), so the others keep theirs.
    stack = await Stack.start({ sshdGroups: [UP, [DOWN]] });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('that host fails with the reason after its retries; a retry after sshd is back succeeds', async () => {
    const args = Object.fromEntries(STEPS.map((name, i) => [`S${i + 1}`, stack.markerScript(name, 'echo done')]));
    const templateId = await stack.createTemplate(STEPS.map((name, i) => ({ level: i + 1, name, script: `S${i + 1}`, retries: 2 })));
    await stack.sshds[1]!.stop();

    const started = Date.now();
    const taskId = await stack.submit(templateId, [...UP, DOWN], args);
    const stuck = (v: TaskView) => v.steps.find((s) => s.host === DOWN && s.name === 's1' && s.status === 'held');
    const held = await until('the stopped host to be held', async () => {
      const v = await stack.task(taskId);
      return stuck(v) && v.steps.filter((s) => s.host !== DOWN).every((s) => s.status === 'succeeded') ? v : undefined;
    }, 90_000);
    const step = stuck(held)!;
    expect(step.error).toMatch(new RegExp(`${DOWN.replaceAll('.', '\\.')}.*(ECONNREFUSED|refused)`, 'i'));
    // Three tries (retries: 2) with 1 s and 2 s back-off between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(held.status).toBe('running'); // waiting for a decision, not ended
    expect(held.steps.find((s) => s.host === DOWN && s.name === 's2')?.status).toBe('pending');
    expect(stack.markerCounts().get(DOWN)).toBeUndefined(); // nothing ran there

    await stack.restartSshd(1);
    const retried = await stack.request('POST', `/api/v1/tasks/${taskId}/steps/${step.step_id}/retry`, { body: { host: DOWN } });
    expect(retried.status, retried.text).toBe(200);
    const done = await until('the task to end', async () => {
      const v = await stack.task(taskId);
      return ['succeeded', 'failed', 'cancelled'].includes(v.status) ? v : undefined;
    }, 60_000);
    expect(done.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.host} ${s.name}: ${s.status}`)).toEqual([]);
    expect(done.status).toBe('succeeded');
    for (const host of [...UP, DOWN]) expect(Object.fromEntries(stack.markerCounts().get(host) ?? [])).toEqual({ s1: 1, s2: 1 });
  });
});
