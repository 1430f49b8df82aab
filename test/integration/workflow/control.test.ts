// Pausing, resuming and cancelling the task workflow, on the real Temporal dev server with stub
// activities: a blocked stub step stands for a command that is still running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene, taskProgress } from '../../../src/tasks/interventions';
import type { Actor } from '../../../workflows/messages';
import { eventually } from '../../support/wait';
import { refusal, startWorkflowHarness, type WorkflowHarness } from '../../support/workflowHarness';

const bob: Actor = { username: 'bob', role: 'operator' };
const [A, B] = ['192.0.2.21', '192.0.2.22']; // documentation addresses (RFC 5737), never contacted: the activities are stubs

let h: WorkflowHarness;
beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

const client = () => h.temporal.client;

const blocked = (taskId: number, stepId: number, host: string) =>
  eventually(`step ${stepId} on ${host} to be running`, () => Promise.resolve(h.stub.isBlocked(taskId, stepId, host) ? true : undefined));

describe('pause and resume', () => {
  it('pause lets the running step finish but starts no new one; resume goes on', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [A], steps: [{}, {}] }], {}, (id, [one]) => h.stub.script(id, one!, A, 'block'));
    const [one, two] = stepIds as [number, number];
    await blocked(taskId, one, A);
    expect(await intervene(client(), taskId, bob, { action: 'pause' })).toEqual({ accepted: true, status: 'paused' });
    expect((await refusal(intervene(client(), taskId, bob, { action: 'pause' }))).message).toBe(`task ${taskId} is already paused`);
    h.stub.unblock(taskId, one, A);
    await eventually('step one to succeed', async () => ((await taskProgress(client(), taskId)).hosts[0]?.steps[0]?.status === 'succeeded' ? true : undefined));
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.stub.tries(taskId).map((t) => t.stepId)).toEqual([one]);
    expect(await taskProgress(client(), taskId)).toMatchObject({ status: 'paused', paused: true });

    expect(await intervene(client(), taskId, bob, { action: 'resume' })).toEqual({ accepted: true, status: 'running' });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.tries(taskId).map((t) => t.stepId)).toEqual([one, two]);
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['running', 'paused', 'running', 'succeeded']);
    expect((await refusal(intervene(client(), taskId, bob, { action: 'resume' }))).message).toMatch(/already finished/);
  });

  it('a task paused before its start time starts paused and runs nothing until resumed', async () => {
    const { taskId, handle } = await h.start([{ hosts: [A], steps: [{}] }], { execTime: new Date(Date.now() + 800).toISOString() });
    expect(await intervene(client(), taskId, bob, { action: 'pause' })).toEqual({ accepted: true, status: 'paused' });
    await eventually('the start time to pass', () => Promise.resolve(h.stub.taskStatusesOf(taskId).includes('paused') ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(h.stub.tries(taskId)).toEqual([]);
    expect(await intervene(client(), taskId, bob, { action: 'resume' })).toEqual({ accepted: true, status: 'running' });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['paused', 'running', 'succeeded']);
  });
});

describe('cancel', () => {
  it('cancels the running step, marks what did not run, and ends cancelled', async () => {
    const { taskId, stepIds, handle } = await h.start(
      [
        { hosts: [A, B], steps: [{}, {}] },
        { hosts: [A], steps: [{}] },
      ],
      {},
      (id, [first]) => h.stub.script(id, first!, A, 'block'),
    );
    const [first, second, third] = stepIds as [number, number, number];
    await blocked(taskId, first, A);
    await eventually('host B to finish group 1', () => Promise.resolve(h.stub.tries(taskId).filter((t) => t.host === B).length === 2 ? true : undefined));
    expect(await intervene(client(), taskId, bob, { action: 'cancel', reason: 'wrong window' })).toEqual({ accepted: true, status: 'cancelled' });
    expect(await handle.result()).toBe('cancelled');
    // The running try was told to stop (the real runner kills the remote process group).
    expect(h.stub.cancelledTries.map((t) => [t.taskId, t.stepId, t.host])).toEqual([[taskId, first, A]]);
    expect(h.stub.stepWritesOf(taskId).sort()).toEqual([`cancelled ${first}@${A}`, `cancelled ${second}@${A}`, `cancelled ${third}@${A}`].sort());
    expect(h.stub.taskStatuses.filter((s) => s.taskId === taskId).at(-1)).toEqual({ taskId, status: 'cancelled', finished: true });
    expect((await taskProgress(client(), taskId)).hosts.map((x) => x.steps.map((s) => s.status))).toEqual([
      ['cancelled', 'cancelled'],
      ['succeeded', 'succeeded'],
      ['cancelled'],
    ]);
    expect((await refusal(intervene(client(), taskId, bob, { action: 'cancel' }))).message).toMatch(/already finished/);
  });

  it('cancelling a task waiting for approval or its start time runs nothing', async () => {
    const waiting = await h.start([{ hosts: [A], steps: [{}] }], { schedule: 'new' });
    const scheduled = await h.start([{ hosts: [A], steps: [{}] }], { execTime: new Date(Date.now() + 60 * 60_000).toISOString() });
    for (const t of [waiting, scheduled]) {
      await intervene(client(), t.taskId, bob, { action: 'cancel' });
      expect(await t.handle.result()).toBe('cancelled');
      expect(h.stub.tries(t.taskId)).toEqual([]);
      expect(h.stub.stepWritesOf(t.taskId)).toEqual([`cancelled ${t.stepIds[0]}@${A}`]);
    }
  });

  it('an `unknown` step keeps its status when the task is cancelled: whether it ran is still not known', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [A], steps: [{}, {}] }], {}, (id, [first]) => h.stub.script(id, first!, A, 'unknown'));
    const [first, second] = stepIds as [number, number];
    await eventually('the step to be unknown', async () => ((await taskProgress(client(), taskId)).hosts[0]?.steps[0]?.status === 'unknown' ? true : undefined));
    await intervene(client(), taskId, bob, { action: 'cancel' });
    expect(await handle.result()).toBe('cancelled');
    expect(h.stub.stepWritesOf(taskId)).toEqual([`cancelled ${second}@${A}`]);
    expect((await taskProgress(client(), taskId)).hosts[0]?.steps.map((s) => [s.stepId, s.status])).toEqual([
      [first, 'unknown'],
      [second, 'cancelled'],
    ]);
  });
});
