// The outbox of workflow starts: an answered task always starts — when Temporal was down at
// submit time, after the process that answered died before starting it, and when an
// intervention arrives before the starter got to it.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../../../src/accounts/sessions';
import { interveneAs } from '../../../src/tasks/service';
import { submitTask, workflowIdFor, type TaskServiceDeps } from '../../../src/tasks/submit';
import { pendingStart, startTaskWorkflow, WorkflowStarter } from '../../../src/tasks/workflowStart';
import { ensureTemporalCli } from '../../../src/temporal/cli';
import { startDevServer } from '../../../src/temporal/devServer';
import type { Actor } from '../../../workflows/messages';
import { alice, startEngineStack, waitFor, type EngineStack } from '../../support/engine';
import { freePort } from '../../support/ports';

const HOST = '127.0.0.71';
let stack: EngineStack;
let templateId: number;
const starters: WorkflowStarter[] = [];
const log = (line: string): void => console.error(`[starter] ${line}`);

beforeAll(async () => {
  stack = await startEngineStack({ addresses: [HOST] });
  templateId = await stack.createTemplate([{ level: 1, name: 'hello', command: 'echo outbox' }]);
});
afterAll(async () => {
  await Promise.all(starters.map((s) => s.stop()));
  await stack?.close();
});

function starterFor(deps: Pick<TaskServiceDeps, 'db' | 'client' | 'taskQueue'>): WorkflowStarter {
  const starter = new WorkflowStarter({ ...deps, log }, { sweepMs: 200 });
  starters.push(starter);
  return starter;
}

/** A starter of a process that died after answering: it never starts what it is handed. */
async function deadStarter(): Promise<WorkflowStarter> {
  const starter = starterFor(stack.service);
  await starter.stop();
  return starter;
}

async function submitWith(deps: TaskServiceDeps, schedule: 'new' | 'ready' = 'ready', actor: Actor = alice): Promise<number> {
  const hosts = new Map([[1, [HOST]]]);
  const { taskId } = await submitTask(deps, { templateId, taskName: 'outbox', schedule, execTime: null, args: {}, hosts }, actor);
  return taskId;
}

const pendingRows = (taskIds: number[]) =>
  stack.database.db.selectFrom('workflow_starts').select(['task_id', 'attempts']).where('task_id', 'in', taskIds).execute();

describe('workflow start outbox', () => {
  it('a task accepted while the Temporal server is down starts when it is back', async () => {
    const cli = await ensureTemporalCli(log);
    const port = await freePort();
    const serve = () => startDevServer({ cliPath: cli, port, uiPort: null, dbFile: null, namespace: 'default' });
    let server = await serve();
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default' });
    const deps: TaskServiceDeps = { ...stack.service, client, taskQueue: 'outbox-down' };
    const starter = starterFor(deps);
    try {
      await server.stop();
      const began = Date.now();
      const taskId = await submitWith({ ...deps, starter });
      // Answered from the commit alone, without waiting for Temporal.
      expect(Date.now() - began).toBeLessThan(5_000);
      expect((await stack.task(taskId)).status).toBe('scheduled');
      await waitFor('a failed start attempt recorded', async () => (((await pendingRows([taskId]))[0]?.attempts ?? 0) >= 1 ? true : undefined), 60_000);

      server = await serve();
      await waitFor('the outbox row to be started and deleted', async () => ((await pendingRows([taskId])).length === 0 ? true : undefined), 90_000);
      const described = await client.workflow.getHandle(workflowIdFor(taskId)).describe();
      expect(described.status.name).toBe('RUNNING');
      expect(described.memo?.taskName).toBe('outbox');
    } finally {
      await starter.stop();
      await connection.close();
      await server.stop();
    }
  }, 240_000);

  it('a new process drains what a crashed one answered but never started, once each', async () => {
    const dead = await deadStarter();
    const taskIds: number[] = [];
    for (let i = 0; i < 5; i++) taskIds.push(await submitWith({ ...stack.service, starter: dead }));
    expect(await pendingRows(taskIds)).toHaveLength(5);

    starterFor(stack.service); // the restarted process: its first sweep drains the outbox
    await waitFor('the outbox to drain', async () => ((await pendingRows(taskIds)).length === 0 ? true : undefined), 60_000);
    for (const id of taskIds) {
      const described = await stack.temporal.client.workflow.getHandle(workflowIdFor(id)).describe();
      expect(described.status.name).toBe('RUNNING');
    }
    // A second sweep of the same start (a replica, a retry after a lost reply) adopts it: still one run.
    const again = starterFor(stack.service);
    await again.stop();
    const runs = stack.temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(taskIds[0]!)}'` });
    let count = 0;
    for await (const _ of runs) count += 1;
    expect(count).toBe(1);
  }, 120_000);

  it('an intervention on a task whose workflow has not started yet starts it first and is applied', async () => {
    await stack.startWorker();
    try {
      const dead = await deadStarter();
      const taskId = await submitWith({ ...stack.service, starter: dead }, 'new');
      expect(await pendingRows([taskId])).toHaveLength(1);
      const bob: AuthUser = { id: 2, username: 'bob', displayName: 'Bob', role: 'approver', via: 'token', credentialId: 1 };
      // No starter in this process: the intervention finds the workflow missing, starts it from the outbox, and is applied.
      expect(await interveneAs(stack.service, bob, taskId, { action: 'approve' })).toEqual({ accepted: true, status: 'scheduled' });
      expect(await pendingRows([taskId])).toHaveLength(0);
      const done = await stack.waitForTask(taskId, ['succeeded', 'failed']);
      expect(done.status).toBe('succeeded');
      expect(done.approver).toBe('bob');

      // Right after an answered submit, with the start handed to a live starter (in flight or done).
      const live = starterFor(stack.service);
      const next = await submitWith({ ...stack.service, starter: live }, 'new');
      expect(await interveneAs({ ...stack.service, starter: live }, bob, next, { action: 'reject', reason: 'not now' })).toMatchObject({ accepted: true });
      expect((await stack.waitForTask(next, ['rejected'])).status).toBe('rejected');
    } finally {
      await stack.stopWorker();
    }
  }, 120_000);

  it('a repeated start is the same run; a workflow under the id with another token is not adopted', async () => {
    const taskId = await submitWith({ ...stack.service, starter: await deadStarter() });
    const start = await pendingStart(stack.database.db, taskId);
    expect(start).not.toBeNull();
    expect(await startTaskWorkflow(stack.service, start!)).toBe('started');
    expect(await startTaskWorkflow(stack.service, start!)).toBe('started');
    expect(await startTaskWorkflow(stack.service, { ...start!, token: 'someone-else' })).toBe('foreign');
    const handle = stack.temporal.client.workflow.getHandle(workflowIdFor(taskId));
    expect((await handle.describe()).memo?.startToken).toBe(start!.token);
    // Once the run has ended, the same start does not run the task again.
    await handle.terminate('test');
    expect(await startTaskWorkflow(stack.service, start!)).toBe('started');
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  }, 60_000);

  it('a task due now is started before a backlog of tasks awaiting approval', async () => {
    await Promise.all(starters.map((s) => s.stop())); // earlier tests' starters would sweep these rows too
    const dead = await deadStarter();
    const waiting: number[] = [];
    for (let i = 0; i < 20; i++) waiting.push(await submitWith({ ...stack.service, starter: dead }, 'new'));
    const due = await submitWith({ ...stack.service, starter: dead }, 'ready');

    // One start at a time; the first sweep queues all 21 rows in id order, the due task last.
    const starter = new WorkflowStarter({ ...stack.service, log }, { sweepMs: 60_000, concurrency: 1 });
    starters.push(starter);
    await waitFor('every start', async () => ((await pendingRows([...waiting, due])).length === 0 ? true : undefined), 120_000);
    const startedAt = async (taskId: number) => (await stack.temporal.client.workflow.getHandle(workflowIdFor(taskId)).describe()).startTime.getTime();
    const dueAt = await startedAt(due);
    const before = (await Promise.all(waiting.map(startedAt))).filter((t) => t < dueAt);
    // Only the start already under way when the due task queued went before it.
    expect(before.length).toBeLessThanOrEqual(1);
  }, 180_000);
});
