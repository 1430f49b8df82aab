// Reading task state from PostgreSQL (kept current by the workflow and activities): tasks a
// caller may see, their step runs and their logs. The dialects shape what these return.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { AuthUser } from '../accounts/sessions';
import { displayNames } from '../accounts/directory';
import type { Db } from '../db/database';
import { containsPattern, prefixPattern } from '../db/queryHelpers';
import type { Database, Task } from '../db/schema';
import { TERMINAL_TASK_STATUSES, type StepStatus, type TaskStatus, type Trigger } from '../domain/statuses';
import { visibleTo } from './access';

export async function getTask(db: Db, taskId: number): Promise<Task | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
}

/** Whether the task runs in shards, as recorded at submit; null for rows from before that (or no such task). */
export async function taskSharded(db: Db, taskId: number): Promise<boolean | null> {
  return (await db.selectFrom('tasks').select('sharded').where('id', '=', taskId).executeTakeFirst())?.sharded ?? null;
}

// ---------------------------------------------------------------------------------------------
// lists

export interface TaskFilter {
  statuses?: TaskStatus[];
  templateId?: number;
  creator?: string;
  submitter?: string;
  /** Substring of the task name. */
  nameContains?: string;
  createdSince?: Date;
  createdBefore?: Date;
  /** Only ids below this (the previous page's last id). */
  beforeId?: number;
}

/** Tasks `user` may see, newest first; one more than `limit` tells the caller a next page exists. */
export async function listTasks(db: Db, user: AuthUser, f: TaskFilter, limit: number): Promise<Task[]> {
  let q = db.selectFrom('tasks').selectAll('tasks').where(visibleTo(user));
  if (f.statuses) q = q.where('tasks.status', 'in', f.statuses);
  if (f.templateId) q = q.where('tasks.template_id', '=', f.templateId);
  if (f.creator) q = q.where('tasks.creator', '=', f.creator);
  if (f.submitter) q = q.where('tasks.submitter', '=', f.submitter);
  if (f.nameContains) q = q.where('tasks.task_name', 'ilike', containsPattern(f.nameContains));
  if (f.createdSince) q = q.where('tasks.created_at', '>=', f.createdSince);
  if (f.createdBefore) q = q.where('tasks.created_at', '<', f.createdBefore);
  if (f.beforeId) q = q.where('tasks.id', '<', f.beforeId);
  return q.orderBy('tasks.id', 'desc').limit(limit).execute();
}

export interface OrderQuery {
  /** Finished orders (history) or open ones. */
  finished: boolean;
  /** A prefix matched against id, name, type, template id, submitter, creator and executor. */
  search?: string;
  /** Statuses the search also matches (a dialect's status codes that start with it). */
  searchStatuses?: readonly TaskStatus[];
  offset: number;
  limit: number;
}

function searchFilter(search: string | undefined, statuses: readonly TaskStatus[]) {
  const s = search?.trim();
  return (eb: ExpressionBuilder<Database, 'tasks'>): Expression<SqlBool> => {
    if (!s) return sql<SqlBool>`true`;
    const like = prefixPattern(s);
    return eb.or([
      eb(sql`tasks.id::text`, 'like', like),
      eb('tasks.task_name', 'ilike', like),
      eb('tasks.task_type', 'ilike', like),
      eb(sql`tasks.template_id::text`, 'like', like),
      eb('tasks.submitter', 'ilike', like),
      eb('tasks.creator', 'ilike', like),
      eb('tasks.executor', 'ilike', like),
      ...(statuses.length ? [eb('tasks.status', 'in', [...statuses])] : []),
    ]);
  };
}

/** A page of orders `user` may see and their total: history newest id first; open ones by start time, then id. */
export async function listOrders(db: Db, user: AuthUser, o: OrderQuery): Promise<{ tasks: Task[]; count: number }> {
  const terminal = [...TERMINAL_TASK_STATUSES];
  let q = db.selectFrom('tasks').where(visibleTo(user)).where(searchFilter(o.search, o.searchStatuses ?? []));
  q = o.finished ? q.where('status', 'in', terminal) : q.where('status', 'not in', terminal);
  const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  let rows = q.selectAll('tasks');
  rows = o.finished
    ? rows.orderBy('tasks.id', 'desc')
    : rows.orderBy(sql`coalesce(tasks.start_time, tasks.exec_time, tasks.created_at)`, 'desc').orderBy('tasks.id', 'desc');
  const tasks = await rows.limit(o.limit).offset(o.offset).execute();
  return { tasks, count: Number(total.n) };
}

/** What a task's order shows beyond the task row (see orderExtras). */
export interface OrderExtras {
  /** The template's description. */
  description: string;
  /** The template's approvers by display name. */
  templateUsers: string[];
  /** username → display name, for the template approvers and the task's approver. */
  names: ReadonlyMap<string, string>;
}

/** Loads the templates and user names order views need, once for a page of tasks. */
export async function orderExtras(db: Db, tasks: readonly Task[]): Promise<(task: Task) => OrderExtras> {
  const templateIds = [...new Set(tasks.map((t) => t.template_id))];
  const templates = templateIds.length ? await db.selectFrom('templates').select(['id', 'description', 'approvers']).where('id', 'in', templateIds).execute() : [];
  const names = await displayNames(db, [...templates.flatMap((t) => t.approvers), ...tasks.flatMap((t) => (t.approver ? [t.approver] : []))]);
  const byId = new Map(templates.map((t) => [t.id, t]));
  return (task) => {
    const t = byId.get(task.template_id);
    return { description: t?.description ?? '', templateUsers: (t?.approvers ?? []).map((u) => names.get(u) ?? u), names };
  };
}

// ---------------------------------------------------------------------------------------------
// steps

export interface StepView {
  /** step_runs.id (CODO's sched_id). */
  id: number;
  /** task_steps.id: the step in the task's frozen plan. */
  step_id: number;
  group: number;
  host: string;
  level: number;
  name: string;
  command: string;
  args: string;
  trigger: Trigger;
  exec_user: string;
  force_host: string | null;
  status: StepStatus;
  exit_code: number | null;
  attempt: number;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

/** A task's step runs with their frozen steps, by group, host, level. */
export async function taskSteps(db: Db, taskId: number, filter: { group?: number; host?: string } = {}): Promise<StepView[]> {
  let q = db
    .selectFrom('step_runs as r')
    .innerJoin('task_steps as s', 's.id', 'r.task_step_id')
    .select([
      'r.id',
      'r.task_step_id as step_id',
      'r.group_no as group',
      'r.host',
      'r.level',
      's.name',
      's.command',
      's.args',
      's.trigger',
      's.exec_user',
      's.force_host',
      'r.status',
      'r.exit_code',
      'r.attempt',
      'r.error',
      'r.started_at',
      'r.finished_at',
    ])
    .where('r.task_id', '=', taskId);
  if (filter.group !== undefined) q = q.where('r.group_no', '=', filter.group);
  if (filter.host !== undefined) q = q.where('r.host', '=', filter.host);
  return q.orderBy('r.group_no').orderBy('r.host').orderBy('r.level').orderBy('r.id').execute();
}

/** The task's hand steps called `name` (task_steps ids). */
export async function handStepsNamed(db: Db, taskId: number, name: string): Promise<number[]> {
  const rows = await db.selectFrom('task_steps').select('id').where('task_id', '=', taskId).where('name', '=', name).where('trigger', '=', 'hand').execute();
  return rows.map((r) => r.id);
}

/** A step of the task's frozen plan, and whether it runs on `host` (when given). */
export async function findTaskStep(db: Db, taskId: number, stepId: number, host?: string): Promise<{ id: number; group: number; onHost: boolean } | undefined> {
  const step = await db.selectFrom('task_steps').select(['id', 'group_no']).where('id', '=', stepId).where('task_id', '=', taskId).executeTakeFirst();
  if (!step) return undefined;
  const onHost = host === undefined || (await db.selectFrom('step_runs').select('id').where('task_step_id', '=', stepId).where('host', '=', host).executeTakeFirst()) !== undefined;
  return { id: step.id, group: step.group_no, onHost };
}

/** The step runs at (group, level, host) of a task: CODO's log key. */
export async function stepRunsAt(db: Db, taskId: number, at: { group: number; level: number; host: string }): Promise<number[]> {
  const rows = await db
    .selectFrom('step_runs')
    .select('id')
    .where('task_id', '=', taskId)
    .where('group_no', '=', at.group)
    .where('level', '=', at.level)
    .where('host', '=', at.host)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}
