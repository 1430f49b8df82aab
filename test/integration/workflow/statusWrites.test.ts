// Task status writes run as local activities inside the workflow task that decides them (one
// workflow task per timer firing), and tasks recorded while they were activities still replay.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporal as proto } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { intervene } from '../../../src/tasks/interventions';
import type { Actor } from '../../../workflows/messages';
import { eventually } from '../../support/wait';
import { startWorkflowHarness, type WorkflowHarness } from '../../support/workflowHarness';

const EventType = proto.api.enums.v1.EventType;
const bob: Actor = { username: 'bob', role: 'operator' };
const HOST = '192.0.2.21'; // documentation address (RFC 5737), never contacted: the activities are stubs

let h: WorkflowHarness;
beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

const typesOf = (history: proto.api.history.v1.IHistory): proto.api.enums.v1.EventType[] => (history.events ?? []).map((e) => e.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED);
const scheduledActivities = (history: proto.api.history.v1.IHistory): string[] =>
  (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));

describe('task status writes', () => {
  it('record `running` in the workflow task the start timer wakes, with no activity task', async () => {
    const { taskId, stepIds, handle } = await h.start([{ hosts: [HOST], steps: [{ trigger: 'hand' }] }], { execTime: new Date(Date.now() + 1000).toISOString() });
    // The write runs first, the marker is recorded when its workflow task completes.
    const types = await eventually('the status write to be recorded', async () => {
      const t = typesOf(await handle.fetchHistory());
      return t.includes(EventType.EVENT_TYPE_TIMER_FIRED) && t.indexOf(EventType.EVENT_TYPE_MARKER_RECORDED, t.indexOf(EventType.EVENT_TYPE_TIMER_FIRED)) > 0 ? t : undefined;
    });
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['running']);
    const fired = types.indexOf(EventType.EVENT_TYPE_TIMER_FIRED);
    const marker = types.indexOf(EventType.EVENT_TYPE_MARKER_RECORDED, fired);
    expect(fired).toBeGreaterThan(0);
    expect(marker).toBeGreaterThan(fired);
    // One workflow task from the timer to the recorded status: it completes with the marker.
    expect(types.slice(fired, marker).filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toHaveLength(1);

    await intervene(h.temporal.client, taskId, bob, { action: 'pause' });
    await intervene(h.temporal.client, taskId, bob, { action: 'resume' });
    await intervene(h.temporal.client, taskId, bob, { action: 'release', stepId: stepIds[0] as number });
    expect(await handle.result()).toBe('succeeded');
    expect(h.stub.taskStatusesOf(taskId)).toEqual(['running', 'paused', 'running', 'succeeded']);
    const history = await handle.fetchHistory();
    expect(scheduledActivities(history).filter((name) => name === 'recordTaskStatus')).toEqual([]);
    expect(scheduledActivities(history)).toContain('executeBatch'); // steps stay activities
  });

  it('replay a task recorded while status writes were activities', async () => {
    // Written with JSON.stringify of a fetched history (protobufjs's own JSON form).
    const recorded = proto.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(__dirname, 'histories', 'task-status-as-activity.json'), 'utf8')) as Record<string, unknown>);
    // The fixture is what it claims: four statuses written by activity tasks.
    expect(scheduledActivities(recorded).filter((name) => name === 'recordTaskStatus')).toHaveLength(4);
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: h.temporal.workflowBundlePath } }, recorded, 'task-status-as-activity')).resolves.toBeUndefined();
  });
});
