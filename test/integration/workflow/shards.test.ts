// A large task as shards, on the real Temporal dev server with stub activities (no SSH): 2,000
// hosts in one task run as child workflows, and the task reads as one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { taskProgress } from '../../../src/tasks/interventions';
import { startWorkflowHarness, type WorkflowHarness } from '../../support/workflowHarness';

let h: WorkflowHarness;
beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

const hostsOf = (n: number, third: number): string[] => Array.from({ length: n }, (_, i) => `127.${third}.${Math.floor(i / 250)}.${(i % 250) + 1}`);

async function historyLength(client: Client, workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.length ?? 0;
}

describe('a large task', () => {
  it('2,000 hosts run as 8 shards of 250 and finish as one task', async () => {
    const hosts = hostsOf(2000, 40);
    const { taskId, handle } = await h.start([{ hosts, steps: [{}] }], { shardHosts: 250, maxParallel: 200 });
    expect(await handle.result()).toBe('succeeded');

    // Every host ran its step exactly once.
    const tries = h.stub.tries(taskId);
    expect(tries).toHaveLength(2000);
    expect(new Set(tries.map((t) => t.host)).size).toBe(2000);
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['running', 'succeeded']);

    // The children: deterministic ids, summaries for the Web UI, each history well under the limits.
    const client = h.temporal.client;
    const shards = Array.from({ length: 8 }, (_, i) => `${handle.workflowId}-g1-s${i + 1}`);
    for (const id of shards) {
      const d = await client.workflow.getHandle(id).describe();
      expect(d.status.name).toBe('COMPLETED');
      expect(d.parentExecution?.workflowId).toBe(handle.workflowId);
    }
    const first = await client.workflow.getHandle(shards[0]!).describe();
    expect(await first.staticSummary()).toMatch(new RegExp(`^#${taskId} .* · group 1 · shard 1/8 · 250 hosts \\(127\\.40\\.0\\.1 … 127\\.40\\.0\\.250\\)$`));
    await expect(client.workflow.getHandle(`${handle.workflowId}-g1-s9`).describe()).rejects.toThrow();
    expect(await historyLength(client, handle.workflowId)).toBeLessThan(200);
    for (const id of shards) expect(await historyLength(client, id)).toBeLessThan(3000);

    // One view of progress: the parent's status with every shard's hosts.
    const progress = await taskProgress(client, taskId);
    expect(progress.status).toBe('succeeded');
    expect(progress.shards).toHaveLength(8);
    expect(progress.hosts).toHaveLength(2000);
    expect(progress.hosts.every((x) => x.steps.every((s) => s.status === 'succeeded' && s.attempt === 1))).toBe(true);
  }, 240_000);

  it('a small task stays one workflow', async () => {
    const { handle } = await h.start([{ hosts: hostsOf(20, 41), steps: [{}] }], { shardHosts: 250 });
    expect(await handle.result()).toBe('succeeded');
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toBe(false);
  });
});
