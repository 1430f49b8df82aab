// The task workflow's steps, on the real Temporal dev server with stub activities: groups in
// order, hand step releases, failures held for retry / skip / restart / abort, on_failure
// policies, unknown outcomes and lost activities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene, taskProgress } from '../../../src/tasks/interventions';
import type { RecordStepStatusInput } from '../../../activities/types';
import type { Actor } from '../../../workflows/messages';
import { eventually } from '../../support/wait';
import { refusal, startWorkflowHarness, type WorkflowHarness } from '../../support/workflowHarness';

const bob: Actor = { username: 'bob', role: 'operator' };
const [A, B, C] = ['192.0.2.11', '192.0.2.12', '192.0.2.13']; // documentation addresses (RFC 5737), never contacted: the activities are stubs

let h: WorkflowHarness;
beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

const client = () => h.temporal.client;

/** Waits until the workflow reports this step on this host in this status. */
function stepReaches(taskId: number, stepId: number, host: string, status: string): Promise<true> {
  return eventually(`step ${stepId} on ${host} to be ${status}`, async () => {
    const progress = await taskProgress(client(), taskId);
    const step = progress.hosts.find((x) => x.host === host)?.steps.find((s) => s.stepId === stepId);
    return step?.status === status ? true : undefined;
  });
}

describe('order', () => {
  it('runs group 1 before group 2 and each host level by level', async () => {
    const { taskId, stepIds, handle } = await h.start([
      { hosts: [A, B], steps: [{}, {}] },
      { hosts: [C], steps: [{}] },
    ]);
    const [s1, s2, s3] = stepIds as [number, number, number];
    expect(await handle.result()).toBe('succeeded');
    const tries = h.stub.tries(taskId).map((t) => `${t.stepId}@${t.host}`);
    expect(tries).toHaveLength(5);
    expect(tries.at(-1)).toBe(`${s3}@${C}`); // group 2 last
    for (const host of [A, B]) expect(tries.indexOf(`${s1}@${host}`)).toBeLessThan(tries.indexOf(`${s2}@${host}`));
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['running', 'succeeded']);
    expect(h.stub.stepWritesOf(taskId)).toEqual([]); // the step activity records its own outcome
  });
});

describe('hand steps', () => {
  it('wait for a release: one host, then the rest of the group at once', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [A, B, C], steps: [{}, { trigger: 'hand', name: 'go live' }] }]);
    const [prepare, goLive] = stepIds as [number, number];
    for (const host of [A, B, C]) await stepReaches(taskId, prepare, host, 'succeeded');
    await new Promise((r) => setTimeout(r, 500));
    expect((await taskProgress(client(), taskId)).hosts.map((x) => x.steps[1]?.status)).toEqual(['waiting_hand', 'waiting_hand', 'waiting_hand']);
    expect(h.stub.tries(taskId).filter((t) => t.stepId === goLive)).toEqual([]);

    // Only hand steps are released.
    expect((await refusal(intervene(client(), taskId, bob, { action: 'release', stepId: prepare }))).message).toBe(`step ${prepare} (step ${prepare}) is not a hand step`);
    expect((await refusal(intervene(client(), taskId, bob, { action: 'release', stepId: 999 }))).message).toBe(`task ${taskId} has no step 999`);

    await intervene(client(), taskId, bob, { action: 'release', stepId: goLive, host: A });
    await stepReaches(taskId, goLive, A, 'succeeded');
    expect(h.stub.tries(taskId).filter((t) => t.stepId === goLive).map((t) => t.host)).toEqual([A]);

    await intervene(client(), taskId, bob, { action: 'release', stepId: goLive }); // the whole group
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.tries(taskId).filter((t) => t.stepId === goLive).map((t) => t.host).sort()).toEqual([A, B, C]);
  });
});

describe('failures held for a decision', () => {
  it('a failed step is held (later steps wait); retry runs it again as the next attempt', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}, {}] }], (id, [flaky]) => [[id, flaky!, A, 'failed']]);
    const [flaky, after] = stepIds as [number, number];
    const held = await heldWrite(taskId, flaky, A);
    expect(held.error).toBe('exit code 3');
    expect(h.stub.tries(taskId).filter((t) => t.stepId === after)).toEqual([]);
    expect((await taskProgress(client(), taskId)).status).toBe('running');

    // Retry and skip act on held steps only.
    expect((await refusal(intervene(client(), taskId, bob, { action: 'retry', stepId: after, host: A }))).message).toBe(
      `step ${after} on ${A} is not held for a decision (pending)`,
    );
    expect((await refusal(intervene(client(), taskId, bob, { action: 'retry', stepId: flaky, host: C }))).message).toBe(`task ${taskId} has no step ${flaky} on host ${C}`);

    await intervene(client(), taskId, bob, { action: 'retry', stepId: flaky, host: A });
    expect(await handle.result()).toBe('succeeded');
    const tries = h.stub.tries(taskId);
    expect(tries.filter((t) => t.stepId === flaky).map((t) => t.attempt)).toEqual([1, 2]);
    expect(tries.filter((t) => t.stepId === after).map((t) => t.attempt)).toEqual([1]);
  });

  it('keeps a decision sent while the `held` status is still being written', async () => {
    h.stub.stepWriteDelayMs = 1500;
    try {
      const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}] }], (id, [step]) => [[id, step!, A, 'failed']]);
      const [step] = stepIds as [number];
      await stepReaches(taskId, step, A, 'held'); // the workflow's state; its write takes 1.5 s
      expect(h.stub.stepWritesOf(taskId)).toEqual([]);
      await intervene(client(), taskId, bob, { action: 'retry', stepId: step, host: A });
      expect(await handle.result()).toBe('succeeded');
      expect(h.stub.tries(taskId).map((t) => t.attempt)).toEqual([1, 2]);
    } finally {
      h.stub.stepWriteDelayMs = 0;
    }
  });

  it('skip goes on past a held step', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}, {}] }], (id, [broken]) => [[id, broken!, A, 'failed']]);
    const [broken, next] = stepIds as [number, number];
    await stepReaches(taskId, broken, A, 'held');
    await intervene(client(), taskId, bob, { action: 'skip', stepId: broken, host: A });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.stepWritesOf(taskId)).toEqual([`held ${broken}@${A}`, `skipped ${broken}@${A}`]);
    expect(h.stub.tries(taskId).map((t) => t.stepId)).toEqual([broken, next]);
  });

  it('abort stops the held host; the other hosts go on; the task ends failed', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A, B], steps: [{}, {}] }], (id, [check]) => [[id, check!, A, 'failed']]);
    const [check, deploy] = stepIds as [number, number];
    await stepReaches(taskId, check, A, 'held');
    await stepReaches(taskId, deploy, B, 'succeeded');
    expect(await intervene(client(), taskId, bob, { action: 'abort', host: A, group: 1 })).toEqual({ accepted: true, status: 'running' });
    expect(await handle.result()).toBe('failed');
    expect(h.stub.stepWritesOf(taskId)).toEqual([`held ${check}@${A}`, `aborted ${check}@${A}`, `aborted ${deploy}@${A}`]);
    expect(h.stub.tries(taskId).filter((t) => t.host === A).map((t) => t.stepId)).toEqual([check]);
    const progress = await taskProgress(client(), taskId);
    expect(progress.hosts.map((x) => [x.host, x.steps.map((s) => s.status)])).toEqual([
      [A, ['aborted', 'aborted']],
      [B, ['succeeded', 'succeeded']],
    ]);
    // A host is aborted once; an unknown host is named.
    expect((await refusal(intervene(client(), taskId, bob, { action: 'abort', host: A, group: 1 }))).message).toMatch(/already finished/);
  });

  it('refuses to abort a host the task does not have, naming it', async () => {
    const { taskId, handle } = await h.start([{ hosts: [A], steps: [{ trigger: 'hand' }] }]);
    expect((await refusal(intervene(client(), taskId, bob, { action: 'abort', host: C, group: 1 }))).message).toBe(`task ${taskId} has no host ${C} in group 1`);
    await intervene(client(), taskId, bob, { action: 'abort', host: A, group: 1 });
    expect((await refusal(intervene(client(), taskId, bob, { action: 'abort', host: A, group: 1 }))).message).toMatch(
      new RegExp(`host ${A} in group 1 is already aborted|already finished`),
    );
    expect(await handle.result()).toBe('failed');
  });

  it('restart reruns a held host from an earlier step; hand steps wait for a release again', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}, { trigger: 'hand' }, {}, {}] }], (id, [, , check]) => [[id, check!, A, 'failed']]);
    const [prepare, confirm, check, after] = stepIds as [number, number, number, number];
    await stepReaches(taskId, confirm, A, 'waiting_hand');
    expect((await refusal(intervene(client(), taskId, bob, { action: 'restart', stepId: prepare, host: A }))).message).toBe(
      `host ${A} in group 1 is not held at a step; only a held host can be restarted`,
    );
    await intervene(client(), taskId, bob, { action: 'release', stepId: confirm, host: A });
    await stepReaches(taskId, check, A, 'held');
    expect((await refusal(intervene(client(), taskId, bob, { action: 'restart', stepId: after, host: A }))).message).toBe(
      `step ${after} comes after the held step ${check} on ${A}; restart from it or an earlier step`,
    );

    await intervene(client(), taskId, bob, { action: 'restart', stepId: prepare, host: A });
    await stepReaches(taskId, prepare, A, 'succeeded');
    await stepReaches(taskId, confirm, A, 'waiting_hand');
    await intervene(client(), taskId, bob, { action: 'release', stepId: confirm, host: A });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.stepWritesOf(taskId)).toEqual([`held ${check}@${A}`, `pending ${prepare}@${A}`, `pending ${check}@${A}`, `waiting_hand ${confirm}@${A}`]);
    expect(h.stub.tries(taskId).map((t) => [t.stepId, t.attempt])).toEqual([
      [prepare, 1],
      [confirm, 1],
      [check, 1],
      [prepare, 2],
      [confirm, 2],
      [check, 2],
      [after, 1],
    ]);
  });

  it('on_failure: continue goes on by itself; on_failure: abort stops the host without holding', async () => {
    const { taskId, stepIds, handle } = await startWithScript(
      [{ hosts: [A], steps: [{ onFailure: 'continue' }, { onFailure: 'abort' }, {}] }],
      (id, [optional, fatal]) => [
        [id, optional!, A, 'failed'],
        [id, fatal!, A, 'failed'],
      ],
    );
    const [, , never] = stepIds as [number, number, number];
    expect(await handle.result()).toBe('failed');
    expect(h.stub.stepWritesOf(taskId)).toEqual([`aborted ${never}@${A}`]);
    expect((await taskProgress(client(), taskId)).hosts[0]?.steps.map((s) => s.status)).toEqual(['failed', 'failed', 'aborted']);
  });

  it('an unknown outcome (worker lost mid-step) is held without being marked failed; retry reruns it', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}] }], (id, [step]) => [[id, step!, A, 'unknown']]);
    const [step] = stepIds as [number];
    await stepReaches(taskId, step, A, 'unknown');
    expect(h.stub.stepWritesOf(taskId)).toEqual([]); // the activity already wrote `unknown`
    await intervene(client(), taskId, bob, { action: 'retry', stepId: step, host: A });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.tries(taskId).map((t) => t.attempt)).toEqual([1, 2]);
  });

  it('an activity that fails for good is settled by settleLostStep and held', async () => {
    const { taskId, stepIds, handle } = await startWithScript([{ hosts: [A], steps: [{}] }], (id, [step]) => [[id, step!, A, 'lost']]);
    const [step] = stepIds as [number];
    const held = await heldWrite(taskId, step, A);
    expect(h.stub.settled.filter((s) => s.taskId === taskId)).toEqual([{ taskId, stepId: step, host: A, attempt: 1, error: `connect ECONNREFUSED ${A}:22` }]);
    expect(held.error).toBe(`the step could not run: connect ECONNREFUSED ${A}:22`);
    await intervene(client(), taskId, bob, { action: 'skip', stepId: step, host: A });
    expect(await handle.result()).toBe('succeeded');
  });
});

/** Waits until the workflow has recorded the step as held (the write happens after the state changes). */
function heldWrite(taskId: number, stepId: number, host: string): Promise<RecordStepStatusInput> {
  return eventually(`step ${stepId} on ${host} written as held`, () =>
    Promise.resolve(h.stub.stepStatuses.find((s) => s.taskId === taskId && s.status === 'held' && s.steps.some((r) => r.stepId === stepId && r.host === host))),
  );
}

/** Starts a task whose first tries of some steps end as scripted (set before the workflow starts). */
async function startWithScript(
  groups: Parameters<WorkflowHarness['start']>[0],
  script: (taskId: number, stepIds: number[]) => [number, number, string, 'failed' | 'unknown' | 'lost'][],
) {
  return h.start(groups, {}, (taskId, stepIds) => {
    for (const [id, stepId, host, outcome] of script(taskId, stepIds)) h.stub.script(id, stepId, host, outcome);
  });
}
