// The API's side of the task service: submission with the template's submitter list, and
// interventions through the engine's Temporal Updates.
import type { AuthUser } from '../accounts/sessions';
import { canSubmitWithTemplate } from '../domain/permissions';
import { intervene, type Intervention } from '../tasks/interventions';
import { submitTask, type SubmitTaskInput } from '../tasks/submit';
import { taskServiceDeps, type ApiDeps } from './deps';
import { principal } from './taskAccess';
import type { Actor } from '../../workflows/messages';

export class TemplateForbiddenError extends Error {}

export function actorOf(user: AuthUser): Actor {
  return { username: user.username, role: user.role };
}

/** Submits after checking the template's submitter list (an unknown template is left to submitTask). */
export async function submitAs(deps: ApiDeps, user: AuthUser, input: SubmitTaskInput): Promise<{ taskId: number; created: boolean }> {
  const template = await deps.db.selectFrom('templates').select(['id', 'allowed_submitters']).where('id', '=', input.templateId).executeTakeFirst();
  if (template && !canSubmitWithTemplate(principal(user), template.allowed_submitters ?? [])) {
    throw new TemplateForbiddenError(`template ${template.id} does not allow ${user.username} to submit (allowed: ${(template.allowed_submitters ?? []).join(', ') || 'by role'})`);
  }
  return submitTask(taskServiceDeps(deps), input, actorOf(user));
}

export async function interveneAs(deps: ApiDeps, user: AuthUser, taskId: number, what: Intervention): Promise<{ accepted: true; status: string }> {
  return intervene(deps.client, taskId, actorOf(user), what);
}
