// The task workflow's approval and start time, on the real Temporal dev server with stub
// activities: four-eyes, reject, approval timeout, approve with a start time, reschedule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene, taskProgress } from '../../../src/tasks/interventions';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { approveUpdate, type Actor } from '../../../workflows/messages';
import { eventually } from '../../support/wait';
import { refusal, startWorkflowHarness, type WorkflowHarness } from '../../support/workflowHarness';

const alice: Actor = { username: 'alice', role: 'operator' }; // the harness's creator
const bob: Actor = { username: 'bob', role: 'approver' };
const HOST = '192.0.2.1'; // documentation addresses (RFC 5737), never contacted: the activities are stubs

let h: WorkflowHarness;
beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

const client = () => h.temporal.client;

describe('approval', () => {
  it('waits for an approver, refuses the creator (four-eyes), runs once another user approves', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new' });
    expect((await taskProgress(client(), taskId)).status).toBe('pending_approval');

    const self = await refusal(intervene(client(), taskId, alice, { action: 'approve' }));
    expect(self.httpStatus).toBe(409);
    expect(self.message).toBe(`four-eyes: alice created task ${taskId} and may not approve it`);
    expect(h.stub.tries(taskId)).toEqual([]);

    expect(await intervene(client(), taskId, bob, { action: 'approve' })).toEqual({ accepted: true, status: 'scheduled' });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.tries(taskId)).toEqual([{ stepId: stepIds[0], host: HOST, attempt: 1 }]);
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['scheduled', 'running', 'succeeded']);
    expect(h.stub.taskStatuses.find((s) => s.taskId === taskId && s.status === 'scheduled')?.approver).toBe('bob');
    const progress = await taskProgress(client(), taskId);
    expect(progress).toMatchObject({ status: 'succeeded', approver: 'bob' });
    expect(progress.hosts[0]?.steps[0]).toMatchObject({ status: 'succeeded', attempt: 1 });
  });

  it('lets the creator approve when four-eyes is off', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new', fourEyes: false });
    await intervene(client(), taskId, alice, { action: 'approve' });
    expect(await handle.result()).toBe('succeeded');
  });

  it('a second decision is refused: the task is no longer waiting for approval', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new', execTime: new Date(Date.now() + 60_000).toISOString() });
    await intervene(client(), taskId, bob, { action: 'approve' });
    const again = await refusal(intervene(client(), taskId, bob, { action: 'reject' }));
    expect(again.message).toMatch(/is not waiting for approval/);
    await intervene(client(), taskId, bob, { action: 'cancel' });
    expect(await handle.result()).toBe('cancelled');
  });

  it('a rejected task runs nothing: its steps are cancelled and the approver recorded', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [HOST, '192.0.2.2'], steps: [{}, {}] }], { schedule: 'new' });
    expect(await intervene(client(), taskId, bob, { action: 'reject', reason: 'not today' })).toEqual({ accepted: true, status: 'rejected' });
    expect(await handle.result()).toBe('rejected');
    expect(h.stub.tries(taskId)).toEqual([]);
    expect(h.stub.stepWritesOf(taskId).sort()).toEqual(
      [`cancelled ${stepIds[0]}@${HOST}`, `cancelled ${stepIds[0]}@192.0.2.2`, `cancelled ${stepIds[1]}@${HOST}`, `cancelled ${stepIds[1]}@192.0.2.2`].sort(),
    );
    expect(h.stub.taskStatuses.filter((s) => s.taskId === taskId)).toEqual([{ taskId, status: 'rejected', approver: 'bob', finished: true }]);
  });

  it('ends rejected by the system when nobody decides within the approval timeout', async () => {
    const started = Date.now();
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new', approvalTimeoutS: 1 });
    expect(await handle.result()).toBe('rejected');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(h.stub.taskStatuses.find((s) => s.taskId === taskId)?.approver).toBe('system (approval timed out)');
    expect(h.stub.tries(taskId)).toEqual([]);
  });

  it('an approver may choose the start time; it is recorded as the plan and kept', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new' });
    const startAt = new Date(Date.now() + 1500);
    await intervene(client(), taskId, bob, { action: 'approve', startAt });
    expect(h.stub.plans.filter((p) => p.taskId === taskId)).toEqual([{ taskId, plannedStart: startAt.toISOString() }]);
    expect((await taskProgress(client(), taskId)).startAt).toBe(startAt.toISOString());
    expect(await handle.result()).toBe('succeeded');
    const running = h.stub.taskStatuses.find((s) => s.taskId === taskId && s.status === 'running');
    expect(Date.parse(running!.startTime!)).toBeGreaterThanOrEqual(startAt.getTime());
  });

  it('refuses a start time that is not ISO 8601, naming it', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { schedule: 'new' });
    // The API sends Dates; the workflow still checks what arrives.
    const err = await handle.executeUpdate(approveUpdate, { args: [{ actor: bob, startAt: 'next tuesday' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toBe("startAt: 'next tuesday' is not an ISO 8601 time");
    await intervene(client(), taskId, bob, { action: 'reject' });
    expect(await handle.result()).toBe('rejected');
  });
});

describe('start time', () => {
  it('reschedule moves the timer (later, then sooner) and is refused once the task runs', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{ trigger: 'hand' }] }], { execTime: new Date(Date.now() + 60 * 60_000).toISOString() });
    const later = new Date(Date.now() + 2 * 60 * 60_000);
    expect(await intervene(client(), taskId, bob, { action: 'reschedule', startAt: later })).toEqual({ accepted: true, status: 'scheduled' });
    expect((await taskProgress(client(), taskId)).startAt).toBe(later.toISOString());

    const sooner = new Date(Date.now() + 1000);
    await intervene(client(), taskId, bob, { action: 'reschedule', startAt: sooner });
    expect(h.stub.plans.filter((p) => p.taskId === taskId).map((p) => p.plannedStart)).toEqual([later.toISOString(), sooner.toISOString()]);
    await eventually('the task to start', () => Promise.resolve(h.stub.taskStatusesOf(taskId).includes('running') ? true : undefined), 10_000);
    const running = h.stub.taskStatuses.find((s) => s.taskId === taskId && s.status === 'running');
    expect(Date.parse(running!.startTime!)).toBeGreaterThanOrEqual(sooner.getTime());
    expect(Date.parse(running!.startTime!) - sooner.getTime()).toBeLessThan(1000);

    const late = await refusal(intervene(client(), taskId, bob, { action: 'reschedule', startAt: null }));
    expect(late.message).toBe(`task ${taskId} can be rescheduled only before it starts (running)`);
    await intervene(client(), taskId, bob, { action: 'cancel' });
    expect(await handle.result()).toBe('cancelled');
  });

  it('reschedule with no time starts at once', async () => {
    const { taskId, handle } = await h.start([{ hosts: [HOST], steps: [{}] }], { execTime: new Date(Date.now() + 60 * 60_000).toISOString() });
    await intervene(client(), taskId, bob, { action: 'reschedule', startAt: null });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.plans.filter((p) => p.taskId === taskId)).toHaveLength(1);
  });
});
