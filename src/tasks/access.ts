// Loading a task for a caller, with the permission decision from src/domain/permissions.ts,
// and the SQL mirror of canSeeTask for lists.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { AuthUser } from '../accounts/sessions';
import type { Db } from '../db/database';
import type { Database, Task } from '../db/schema';
import { decideTask, type Action, type Principal, type TaskDecision, type TaskFacts } from '../domain/permissions';

/** What deciding about a task needs: the database and whether four-eyes is on. */
export interface TaskAccessDeps {
  db: Db;
  fourEyes: boolean;
}

export interface LoadedTask {
  task: Task;
  templateApprovers: string[];
  facts: TaskFacts;
}

export function principal(user: AuthUser): Principal {
  return { username: user.username, displayName: user.displayName, role: user.role };
}

export async function loadTask(db: Db, taskId: number): Promise<LoadedTask | undefined> {
  if (!Number.isSafeInteger(taskId) || taskId <= 0 || taskId > 2_147_483_647) return undefined;
  const row = await db
    .selectFrom('tasks')
    .leftJoin('templates', 'templates.id', 'tasks.template_id')
    .selectAll('tasks')
    .select('templates.approvers as template_approvers')
    .where('tasks.id', '=', taskId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { template_approvers, ...task } = row;
  const templateApprovers = Array.isArray(template_approvers) ? template_approvers : [];
  return {
    task,
    templateApprovers,
    facts: { creator: task.creator, submitter: task.submitter, associatedUser: task.associated_user ?? {}, templateApprovers },
  };
}

export type TaskAccess = { kind: 'missing' } | { kind: 'denied'; decision: Exclude<TaskDecision, { allowed: true }>; loaded: LoadedTask } | { kind: 'ok'; loaded: LoadedTask };

/** Loads the task and decides `action` for `user`; an invisible task is reported as missing. */
export async function accessTask(deps: TaskAccessDeps, user: AuthUser, taskId: number, action: Action): Promise<TaskAccess> {
  const loaded = await loadTask(deps.db, taskId);
  if (!loaded) return { kind: 'missing' };
  const decision = decideTask(principal(user), action, loaded.facts, { fourEyes: deps.fourEyes });
  if (decision.allowed) return { kind: 'ok', loaded };
  if (decision.reason === 'invisible') return { kind: 'missing' };
  return { kind: 'denied', decision, loaded };
}

/**
 * SQL form of canSeeTask (permissions.ts) for list queries: admins and approvers see all; others
 * their own (creator), as submitter (username or display name), as template approver, or as
 * an associated user. Keep in step with canSeeTask (the role matrix test checks both agree).
 */
export function visibleTo(user: AuthUser) {
  return (eb: ExpressionBuilder<Database, 'tasks'>): Expression<SqlBool> => {
    if (user.role === 'admin' || user.role === 'approver') return sql<SqlBool>`true`;
    return eb.or([
      eb('tasks.creator', '=', user.username),
      eb('tasks.submitter', '=', user.username),
      eb('tasks.submitter', '=', user.displayName),
      sql<SqlBool>`exists (select 1 from templates t where t.id = tasks.template_id and t.approvers ? ${user.username})`,
      sql<SqlBool>`exists (select 1 from jsonb_each(tasks.associated_user) e where jsonb_typeof(e.value) = 'array' and e.value ? ${user.username})`,
    ]);
  };
}

/** Whether `user` may take `action` on a task already loaded (e.g. CODO's approval button). */
export function mayOnTask(deps: Pick<TaskAccessDeps, 'fourEyes'>, user: AuthUser, loaded: LoadedTask, action: Action): boolean {
  return decideTask(principal(user), action, loaded.facts, { fourEyes: deps.fourEyes }).allowed;
}
