// Interventions on a running task: each is a Temporal Update whose validator tells the
// caller at once whether it was accepted. The actor travels in the update.
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
  skipStepUpdate,
  type Actor,
  type InterventionResult,
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

export async function intervene(client: Client, taskId: number, actor: Actor, what: Intervention): Promise<InterventionResult> {
  const handle = taskHandle(client, taskId);
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
    throw await toInterventionError(handle, err, taskId);
  }
}

export async function taskProgress(client: Client, taskId: number): Promise<TaskProgress> {
  const handle = taskHandle(client, taskId);
  try {
    return await handle.query(progressQuery);
  } catch (err) {
    throw await toInterventionError(handle, err, taskId);
  }
}

async function toInterventionError(handle: WorkflowHandle<typeof taskWorkflow>, err: unknown, taskId: number): Promise<Error> {
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
    return closed && closed !== 'RUNNING'
      ? new InterventionError(409, `task ${taskId} has already finished (${closed.toLowerCase()})`)
      : new InterventionError(404, `task ${taskId}: no such task workflow`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
