// Interventions on a running task: each is a Temporal Update whose validator tells the
// caller at once whether it was accepted. The actor travels in the update. A sharded task's
// step and host interventions go to the shard that owns the host (docs/engine.md#sharded-tasks):
// workflows cannot send each other Updates, so the routing is done here.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  abortHostUpdate,
  approveUpdate,
  cancelUpdate,
  pauseUpdate,
  progressQuery,
  rejectUpdate,
  releaseStepUpdate,
  rescheduleUpdate,
  restartFromStepUpdate,
  resumeUpdate,
  retryStepUpdate,
  shardRouteQuery,
  skipStepUpdate,
  type Actor,
  type InterventionResult,
  type ShardRouteArgs,
  type TaskProgress,
} from '../../workflows/messages';
import { Refusal } from '../domain/errors';
import type { taskWorkflow } from '../../workflows/taskWorkflow';
import { unreachable } from '../domain/unreachable';
import { workflowIdFor } from './submit';

export type Intervention =
  | { action: 'approve'; startAt?: Date | null }
  | { action: 'reject'; reason?: string }
  | { action: 'reschedule'; startAt: Date | null }
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'cancel'; reason?: string }
  | { action: 'retry'; stepId: number; host: string }
  | { action: 'skip'; stepId: number; host: string }
  | { action: 'restart'; stepId: number; host: string }
  | { action: 'abort'; host: string; group: number }
  | { action: 'release'; stepId: number; host?: string };

/** The workflow refused the intervention (wrong state, four-eyes, unknown step) or the task is gone. */
export class InterventionError extends Refusal {
  constructor(
    readonly httpStatus: 404 | 409,
    message: string,
  ) {
    super(httpStatus === 404 ? 'not_found' : 'conflict', null, message);
  }
}

function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

/** The task's workflow, typed by its function (so `result()` is the final TaskStatus). */
export function taskHandle(client: Client, taskId: number): WorkflowHandle<typeof taskWorkflow> {
  return client.workflow.getHandle<typeof taskWorkflow>(workflowIdFor(taskId));
}

/** Which host (and step or group) an intervention is about; task-wide ones go to the task's own workflow. */
export function hostOf(what: Intervention): ShardRouteArgs | null {
  switch (what.action) {
    case 'retry':
    case 'skip':
    case 'restart':
      return { host: what.host, stepId: what.stepId };
    case 'release':
      // Released on a whole group: the parent records it and passes it on to the group's shards.
      return what.host === undefined ? null : { host: what.host, stepId: what.stepId };
    case 'abort':
      return { host: what.host, group: what.group };
    case 'approve':
    case 'reject':
    case 'reschedule':
    case 'pause':
    case 'resume':
    case 'cancel':
      return null;
    default:
      return unreachable(what, 'intervention');
  }
}

/**
 * The workflow an intervention goes to: the started shard that owns its host, else the task's
 * workflow (unsharded tasks, task-wide interventions, hosts whose shard has not started yet —
 * the parent passes those on when it starts the shard).
 */
async function targetOf(client: Client, taskId: number, what: Intervention, sharded: boolean | null): Promise<{ handle: WorkflowHandle<typeof taskWorkflow>; shard: string | null }> {
  const parent = taskHandle(client, taskId);
  const about = hostOf(what);
  // An unsharded task (known from its row) needs no query, which could cost the parent a replay.
  if (!about || sharded === false) return { handle: parent, shard: null };
  // The parent answers from its plan; any failure here (finished long ago, not found) is left
  // to the Update on the parent, which reports it as it always has.
  const route = await parent.query(shardRouteQuery, about).catch(() => ({ workflowId: null }));
  return route.workflowId ? { handle: client.workflow.getHandle<typeof taskWorkflow>(route.workflowId), shard: route.workflowId } : { handle: parent, shard: null };
}

/** `sharded`: from the task's row when the caller has it; null (not known) asks the workflow. */
export async function intervene(client: Client, taskId: number, actor: Actor, what: Intervention, sharded: boolean | null = null): Promise<InterventionResult> {
  const { handle, shard } = await targetOf(client, taskId, what, sharded);
  try {
    switch (what.action) {
      case 'approve':
        return await handle.executeUpdate(approveUpdate, { args: [{ actor, startAt: iso(what.startAt) }] });
      case 'reject':
        return await handle.executeUpdate(rejectUpdate, { args: [{ actor, reason: what.reason }] });
      case 'reschedule':
        return await handle.executeUpdate(rescheduleUpdate, { args: [{ actor, startAt: iso(what.startAt) }] });
      case 'pause':
        return await handle.executeUpdate(pauseUpdate, { args: [{ actor }] });
      case 'resume':
        return await handle.executeUpdate(resumeUpdate, { args: [{ actor }] });
      case 'cancel':
        return await handle.executeUpdate(cancelUpdate, { args: [{ actor, reason: what.reason }] });
      case 'retry':
        return await handle.executeUpdate(retryStepUpdate, { args: [{ actor, stepId: what.stepId, host: what.host }] });
      case 'skip':
        return await handle.executeUpdate(skipStepUpdate, { args: [{ actor, stepId: what.stepId, host: what.host }] });
      case 'restart':
        return await handle.executeUpdate(restartFromStepUpdate, { args: [{ actor, stepId: what.stepId, host: what.host }] });
      case 'abort':
        return await handle.executeUpdate(abortHostUpdate, { args: [{ actor, host: what.host, group: what.group }] });
      case 'release':
        return await handle.executeUpdate(releaseStepUpdate, { args: [{ actor, stepId: what.stepId, host: what.host }] });
      default:
        return unreachable(what, 'intervention');
    }
  } catch (err) {
    throw await toInterventionError(handle, err, taskId, shard);
  }
}

const SHARD_QUERIES_AT_ONCE = 4;

/**
 * The task's live progress, one view: a sharded task's parent tells its status and the hosts
 * of shards not started yet; each started shard tells its own hosts.
 */
export async function taskProgress(client: Client, taskId: number): Promise<TaskProgress> {
  const handle = taskHandle(client, taskId);
  let progress: TaskProgress;
  try {
    progress = await handle.query(progressQuery);
  } catch (err) {
    throw await toInterventionError(handle, err, taskId);
  }
  if (!progress.shards?.length) return progress;
  // A finished shard answers by being replayed on a worker: a few at a time, not 40 at once.
  const parts: TaskProgress[] = [];
  for (let i = 0; i < progress.shards.length; i += SHARD_QUERIES_AT_ONCE) {
    const batch = progress.shards.slice(i, i + SHARD_QUERIES_AT_ONCE);
    parts.push(...(await Promise.all(batch.map((id) => client.workflow.getHandle(id).query(progressQuery)))));
  }
  // Shards start in plan order, so the started ones' hosts come before those the parent still holds.
  return { ...progress, hosts: [...parts.flatMap((p) => p.hosts), ...progress.hosts] };
}

async function toInterventionError(handle: WorkflowHandle<typeof taskWorkflow>, err: unknown, taskId: number, shard: string | null = null): Promise<Error> {
  if (err instanceof WorkflowUpdateFailedError) {
    return new InterventionError(409, err.cause?.message ?? err.message);
  }
  if (err instanceof WorkflowNotFoundError || (err instanceof Error && /already completed/i.test(err.message))) {
    // Updates only reach running workflows: tell "finished" apart from "never existed".
    const closed = await handle.describe().then(
      (d) => d.status.name,
      () => null,
    );
    // RUNNING: started between the Update and this look (its start was in the outbox).
    const ended = closed && closed !== 'RUNNING' ? closed : null;
    if (ended && shard) return new InterventionError(409, `task ${taskId}: the shard ${shard} that runs this host has already finished (${ended.toLowerCase()})`);
    return ended
      ? new InterventionError(409, `task ${taskId} has already finished (${ended.toLowerCase()})`)
      : new InterventionError(404, `task ${taskId}: no such task workflow`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
