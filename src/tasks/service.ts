// The tasks core's entry points for an authenticated person: submitting (the template's
// submitter list, then submitTask) and intervening (the workflow's Temporal Updates), each with
// the caller recorded as the actor.
import type { AuthUser } from '../accounts/sessions';
import { Refusal } from '../domain/errors';
import { canSubmitWithTemplate } from '../domain/permissions';
import type { Actor, InterventionResult } from '../../workflows/messages';
import { principal } from './access';
import { taskSharded } from './queries';
import { hostOf, intervene, InterventionError, type Intervention } from './interventions';
import { loadSubmitBasis, SubmitError, submitTask, type SubmitResult, type SubmitTaskInput, type TaskServiceDeps } from './submit';
import { startPendingNow } from './workflowStart';

/** The template's submitter list does not name the caller. */
export class TemplateForbiddenError extends Refusal {
  constructor(message: string) {
    super('forbidden', null, message);
  }
}

export function actorOf(user: AuthUser): Actor {
  return { username: user.username, role: user.role };
}

/**
 * Submits as `user` after checking the template's submitter list (an unknown template is left to
 * submitTask, which names it). The same idempotency key with the same request returns the same
 * task (`created: false`); with a different request it is refused.
 */
export async function submitAs(deps: TaskServiceDeps, user: AuthUser, input: SubmitTaskInput): Promise<SubmitResult> {
  const basis = await loadSubmitBasis(deps.db, input.templateId, input.idempotencyKey);
  const template = basis.template;
  if (template && !canSubmitWithTemplate(principal(user), template.allowed_submitters ?? [])) {
    throw new TemplateForbiddenError(`template ${template.id} does not allow ${user.username} to submit (allowed: ${(template.allowed_submitters ?? []).join(', ') || 'by role'})`);
  }
  return submitTask(deps, input, actorOf(user), basis);
}

/**
 * Sends the intervention to the task's workflow. A task answered a moment ago may not have its
 * workflow yet (its start is in the outbox): then it is started first and the intervention sent again.
 */
export async function interveneAs(deps: Pick<TaskServiceDeps, 'client' | 'db' | 'taskQueue' | 'starter'>, user: AuthUser, taskId: number, what: Intervention): Promise<InterventionResult> {
  // A host's intervention goes to the shard that owns the host: whether there are shards is on the task's row.
  const sharded = hostOf(what) ? await taskSharded(deps.db, taskId) : null;
  try {
    return await intervene(deps.client, taskId, actorOf(user), what, sharded);
  } catch (err) {
    if (!(err instanceof InterventionError && err.httpStatus === 404)) throw err;
    // Start it if its start is pending; once more either way, since a start may have just finished.
    if (deps.starter) await deps.starter.startNow(taskId);
    else await startPendingNow(deps, taskId);
    return intervene(deps.client, taskId, actorOf(user), what, sharded);
  }
}

/** Where a submission's idempotency key came from: CODO's one-use csrf_key, or /api/v1's Idempotency-Key header. */
export type IdempotencySource = 'csrf_key' | 'Idempotency-Key';

/**
 * The stored idempotency key for a key a client sent. csrf_keys are issued to one user already;
 * Idempotency-Keys are the client's own words, so they are kept apart per user.
 */
export function idempotencyFor(source: IdempotencySource, key: string | null | undefined, user: AuthUser): Pick<SubmitTaskInput, 'idempotencyKey' | 'idempotencyField'> {
  if (!key) return { idempotencyKey: null, idempotencyField: source };
  return { idempotencyKey: source === 'csrf_key' ? `csrf:${key}` : `v1:${user.username}:${key}`, idempotencyField: source };
}

/** The same idempotency key was used for a different request (or by another user): the caller's key, refused. */
export function isIdempotencyConflict(err: unknown, input: Pick<SubmitTaskInput, 'idempotencyField'>): boolean {
  return err instanceof SubmitError && err.field === input.idempotencyField;
}
