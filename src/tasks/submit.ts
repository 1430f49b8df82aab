// submitTask: validate against the template, store the task with a frozen copy of its
// steps, one step_run per group × host × step and the start of workflow `task-<id>` (the outbox
// row), in one statement; then hand the start to the starter (or start it here without one).
// A submission costs two round trips here (issue 9): one read (loadSubmitBasis) and one write
// (insertTask); test/integration/api/submitStatements.test.ts keeps it so.
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import type { Insertable } from 'kysely';
import type { Db } from '../db/database';
import { STEP_COLUMNS, type Task, type TaskStep, type TasksTable, type Template, type TemplateStep } from '../db/schema';
import { checkHostGroups } from '../domain/hosts';
import { buildPlan } from '../domain/plan';
import { DEFAULT_SHARD_HOSTS, isSharded, MAX_STEP_RUNS_PER_TASK } from '../domain/shards';
import { initialStepStatus, initialTaskStatus, type Schedule } from '../domain/statuses';
import type { Actor } from '../../workflows/messages';
import { newStartToken, startAndClear, startPendingNow, workflowIdFor, type WorkflowStart, type WorkflowStarter } from './workflowStart';

export { workflowIdFor };

export interface TaskServiceDeps {
  db: Db;
  client: Client;
  taskQueue: string;
  /** Refuse the creator as approver (four-eyes). */
  fourEyes: boolean;
  /** Approval wait limit in seconds; null = wait forever. */
  approvalTimeoutS?: number | null;
  /** Hosts per shard of a large task (OPSFLOW_SHARD_HOSTS); default DEFAULT_SHARD_HOSTS. */
  shardHosts?: number;
  /** Host × step runs one task may have (OPSFLOW_MAX_RUNS_PER_TASK); default MAX_STEP_RUNS_PER_TASK. */
  maxRunsPerTask?: number;
  /**
   * Starts workflows after the reply (the API's). Without one, submitTask starts the workflow
   * itself before it returns (CLI tools, benchmarks, tests of the engine).
   */
  starter?: WorkflowStarter;
}

export interface SubmitTaskInput {
  templateId: number;
  taskName: string;
  taskType?: string;
  /** Shown as the order's submitter (CODO: free text); defaults to the actor's username. */
  submitter?: string;
  schedule: Schedule;
  /** null = as soon as possible. */
  execTime: Date | null;
  args: Record<string, string>;
  /** group number → hosts */
  hosts: ReadonlyMap<number, readonly string[]>;
  details?: string;
  associatedUser?: Record<string, string[]>;
  /** CODO's approver label, shown until an approver is recorded. */
  executor?: string;
  /** A key that makes a retried submission return the same task (same request only). */
  idempotencyKey?: string | null;
  /** How the caller named the key, for the refusal's message (`csrf_key`, `Idempotency-Key`). */
  idempotencyField?: string;
  /** The dialect's ceiling on hosts per group, below the template's own (CODO: 100); default MAX_HOSTS_PER_GROUP. */
  maxHostsPerGroup?: number;
}

/** A submission the template refuses; `code` is CODO's code for the same problem. */
export class SubmitError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly field: string,
    readonly httpStatus = 400,
    /** What the native API says when `message` is CODO's fixed text (which names no field or value). */
    private readonly explanation?: string,
  ) {
    super(message);
  }

  /** The message naming the field, for /api/v1. */
  get fieldMessage(): string {
    const text = this.explanation ?? this.message;
    return text.startsWith(this.field) ? text : `${this.field}: ${text}`;
  }
}

/** Hosts one group of a task may have (/api/v1; a template may allow fewer). Large groups run as shards. */
export const MAX_HOSTS_PER_GROUP = 10_000;
/** CODO's limit on hosts per group, kept on its routes whatever the template allows. */
export const CODO_MAX_HOSTS_PER_GROUP = 100;
export { MAX_STEP_RUNS_PER_TASK };

/** The template's fields a submission uses. */
export type SubmitTemplate = Pick<Template, 'id' | 'name' | 'allowed_submitters' | 'max_parallel' | 'max_hosts_per_group'>;

/** The task an idempotency key already names. */
interface KeyedTask {
  id: number;
  creator: string;
  request_digest: string | null;
}

/** What a submission is checked against and stored with, read in one round trip (loadSubmitBasis). */
export interface SubmitBasis {
  template: SubmitTemplate | null;
  /** The template's steps in their order: group, level, id. */
  steps: TemplateStep[];
  /** The task the submission's idempotency key already created (null: a new key, or none). */
  existing: KeyedTask | null;
  /**
   * Ids drawn from the sequences for the new task and its frozen steps (one per step), so that
   * the workflow start, which names them, is built before the insert and all goes in one
   * statement. A submission that is refused or answered as a retry leaves them unused (a gap).
   */
  taskId: number;
  stepIds: number[];
}

/**
 * One query: the template, its steps, the task the idempotency key already created, and the
 * ids the new task and its frozen steps will get.
 */
export async function loadSubmitBasis(db: Db, templateId: number, idempotencyKey: string | null | undefined): Promise<SubmitBasis> {
  const row = await db
    .selectNoFrom((eb) => [
      jsonObjectFrom(eb.selectFrom('templates').select(['id', 'name', 'allowed_submitters', 'max_parallel', 'max_hosts_per_group']).where('id', '=', templateId)).as('template'),
      jsonArrayFrom(eb.selectFrom('template_steps').selectAll().where('template_id', '=', templateId).orderBy('group_no').orderBy('level').orderBy('id')).as('steps'),
      (idempotencyKey ? jsonObjectFrom(eb.selectFrom('tasks').select(['id', 'creator', 'request_digest']).where('idempotency_key', '=', idempotencyKey)) : sql<KeyedTask | null>`null`).as('existing'),
      sql<number>`nextval('tasks_id_seq')::int`.as('task_id'),
      eb
        .selectFrom('template_steps')
        .select(sql<number[]>`coalesce(array_agg(nextval('task_steps_id_seq')::int), '{}')`.as('ids'))
        .where('template_id', '=', templateId)
        .as('step_ids'),
    ])
    .executeTakeFirstOrThrow();
  return {
    template: row.template,
    steps: row.steps,
    existing: row.existing,
    taskId: row.task_id,
    // array_agg's order is not the steps' order: the frozen copies get them ascending, like a serial would.
    stepIds: (row.step_ids ?? []).sort((a, b) => a - b),
  };
}

/** A submission's outcome: its task, and whether this call created it (false: a retry with the same key). */
export interface SubmitResult {
  taskId: number;
  created: boolean;
  /** The stored row, when this call created it (callers need not read it again). */
  task?: Task;
}

export async function submitTask(
  deps: TaskServiceDeps,
  input: SubmitTaskInput,
  actor: Actor,
  /** What loadSubmitBasis read for this input, when the caller has read it already (submitAs). */
  loaded?: SubmitBasis,
): Promise<SubmitResult> {
  const basis = loaded ?? (await loadSubmitBasis(deps.db, input.templateId, input.idempotencyKey));
  const digest = input.idempotencyKey ? requestDigest(input) : null;
  if (input.idempotencyKey && basis.existing) return { taskId: await retryOf(deps, input, digest, actor, basis.existing), created: false };

  const { template, steps: templateSteps } = basis;
  if (!template) throw new SubmitError(-2, `temp_id: template ${input.templateId} does not exist`, 'temp_id', 404);
  if (templateSteps.length === 0) throw new SubmitError(-2, `temp_id: template ${template.id} has no steps`, 'temp_id');
  const ceiling = input.maxHostsPerGroup ?? MAX_HOSTS_PER_GROUP;
  const maxHosts = Math.min(template.max_hosts_per_group, ceiling);
  const problem = checkHostGroups(input.hosts, templateSteps.map((s) => s.group_no), maxHosts);
  if (problem) {
    switch (problem.kind) {
      case 'empty':
        throw new SubmitError(-4, 'The exec host cannot be empty', `hosts.${problem.group}`, 400, `no hosts for group ${problem.group} of the template`);
      case 'too_many':
        throw new SubmitError(
          -4,
          'Too many hosts, please execute in groups',
          `hosts.${problem.group}`,
          400,
          maxHosts < template.max_hosts_per_group
            ? `${problem.count} hosts, more than ${maxHosts} per group, the most this API takes; split the task`
            : `${problem.count} hosts, more than the template's ${template.max_hosts_per_group} per group; split the task`,
        );
      case 'invalid_host':
        throw new SubmitError(5, 'ip格式有误', `hosts.${problem.group}`, 400, `'${problem.host.slice(0, 100)}' is not an IP address or host name`);
      case 'mismatch':
        throw new SubmitError(-3, 'Host groupings and template groupings mismatch', `hosts.${problem.group}`, 400, `the template has no group ${problem.group}`);
    }
  }
  const runCount = templateSteps.reduce((n, s) => n + (input.hosts.get(s.group_no)?.length ?? 0), 0);
  const maxRuns = deps.maxRunsPerTask ?? MAX_STEP_RUNS_PER_TASK;
  if (runCount > maxRuns) {
    throw new SubmitError(-4, `hosts: ${runCount} host steps exceed the limit of ${maxRuns} per task; split the task`, 'hosts');
  }

  const hostsJson = Object.fromEntries([...input.hosts].map(([g, hs]) => [String(g), [...hs]]));
  const taskId = basis.taskId;
  const frozen: TaskStep[] = templateSteps.map(({ template_id: _template, ...columns }, i) => ({ ...columns, id: basis.stepIds[i] as number, task_id: taskId }));
  const start = workflowStartFor(deps, taskId, input, template, frozen, actor);
  let task: Task;
  try {
    task = await insertTask(deps.db, {
      id: taskId,
      workflow_id: workflowIdFor(taskId),
      task_name: input.taskName || template.name,
      task_type: input.taskType ?? template.name,
      submitter: input.submitter || actor.username,
      creator: actor.username,
      template_id: template.id,
      schedule: input.schedule,
      exec_time: input.execTime,
      args: JSON.stringify(input.args),
      hosts: JSON.stringify(hostsJson),
      details: input.details ?? '',
      associated_user: JSON.stringify(input.associatedUser ?? {}),
      status: initialTaskStatus(input.schedule),
      max_parallel: template.max_parallel,
      idempotency_key: input.idempotencyKey ?? null,
      request_digest: digest,
      // As the workflow decides it from the same plan and shard size (workflows/taskRun.ts).
      sharded: isSharded(start.input.groups, start.input.shardHosts ?? DEFAULT_SHARD_HOSTS),
      ...(input.executor ? { executor: input.executor } : {}),
    }, frozen, start);
  } catch (err) {
    // A concurrent submission with the same key committed first: answer as a retry of it.
    if (!isUniqueViolation(err) || !input.idempotencyKey) throw err;
    const existing = await taskForIdempotencyKey(deps.db, input.idempotencyKey);
    if (existing === null) throw err;
    return { taskId: await retryOf(deps, input, digest, actor, existing), created: false };
  }
  if (deps.starter) {
    deps.starter.enqueue(start);
  } else if ((await startAndClear(deps, start)) === 'foreign') {
    throw new SubmitError(-1, `task ${taskId}: workflow id ${workflowIdFor(taskId)} is already in use in Temporal (was the database reset?)`, 'list_id', 409);
  }
  return { taskId, created: true, task };
}

/** The columns of a frozen step as jsonb_to_recordset reads them (kept in step with STEP_COLUMNS). */
const FROZEN_STEP_RECORD: Record<'id' | 'task_id' | (typeof STEP_COLUMNS)[number], string> = {
  id: 'int',
  task_id: 'int',
  group_no: 'int',
  level: 'int',
  name: 'text',
  command: 'text',
  args: 'text',
  trigger: 'text',
  exec_user: 'text',
  force_host: 'text',
  timeout_s: 'int',
  retries: 'int',
  idempotent: 'boolean',
  on_failure: 'text',
};
const FROZEN_STEP_COLUMNS = Object.keys(FROZEN_STEP_RECORD) as (keyof typeof FROZEN_STEP_RECORD)[];
const frozenStepRecord = sql.raw(Object.entries(FROZEN_STEP_RECORD).map(([column, type]) => `${column} ${type}`).join(', '));

/**
 * Stores the task, its frozen steps, its step runs and its workflow start (the outbox row) in one
 * statement (data-modifying CTEs: atomic, and committed when it returns). The steps travel as
 * one JSON parameter and the runs are expanded from the stored hosts, so the statement's size
 * does not grow with its parameters' count, whatever the number of hosts.
 */
async function insertTask(db: Db, row: Insertable<TasksTable> & { id: number }, frozen: TaskStep[], start: WorkflowStart): Promise<Task> {
  const steps = JSON.stringify(frozen.map((s) => ({ ...s, status: initialStepStatus(s.trigger) })));
  return db
    .with('task', (q) => q.insertInto('tasks').values(row).returningAll())
    .with('frozen', (q) =>
      q
        .insertInto('task_steps')
        .columns(FROZEN_STEP_COLUMNS)
        .expression(sql`select ${sql.join(FROZEN_STEP_COLUMNS.map((c) => sql.ref(c)))} from jsonb_to_recordset(${steps}::jsonb) as s(${frozenStepRecord})`),
    )
    .with('runs', (q) =>
      q
        .insertInto('step_runs')
        .columns(['task_id', 'task_step_id', 'group_no', 'host', 'level', 'status'])
        // One run per step × host of its group, step by step, hosts in submitted order.
        .expression(
          sql`select task.id, s.id, s.group_no, h.host, s.level, s.status
            from task, jsonb_to_recordset(${steps}::jsonb) as s(id int, group_no int, level int, status text),
              jsonb_array_elements_text(task.hosts -> s.group_no::text) with ordinality as h(host, n)
            order by s.id, h.n`,
        ),
    )
    .with('outbox', (q) => q.insertInto('workflow_starts').values({ task_id: row.id, start: JSON.stringify(start) }))
    .selectFrom('task')
    .selectAll()
    .executeTakeFirstOrThrow();
}

/** The task an idempotency key created (read again after a concurrent submission with the key won). */
async function taskForIdempotencyKey(db: Db, key: string): Promise<KeyedTask | null> {
  return (await db.selectFrom('tasks').select(['id', 'creator', 'request_digest']).where('idempotency_key', '=', key).executeTakeFirst()) ?? null;
}

/**
 * The answer to a submission whose idempotency key already created `existing`. The same key is
 * only a retry when it comes from the same account with the same request; anything else is
 * refused (409) rather than answered with a task the caller did not ask for.
 */
async function retryOf(deps: TaskServiceDeps, input: SubmitTaskInput, digest: string | null, actor: Actor, existing: KeyedTask): Promise<number> {
  const field = input.idempotencyField ?? 'idempotency_key';
  if (existing.creator !== actor.username) throw new SubmitError(-1, `${field}: already used by another user`, field, 409);
  // Tasks stored before request digests existed (null) are taken as the same request.
  if (existing.request_digest !== null && existing.request_digest !== digest) {
    throw new SubmitError(
      -1,
      `${field}: already used for task ${existing.id} with a different request; get a new key for a new task`,
      field,
      409,
    );
  }
  // A start still pending (a crash after the commit) is the starter's; without one, start it here.
  if (!deps.starter) await startPendingNow(deps, existing.id);
  return existing.id;
}

/** sha256 over everything a submission asks for, in a fixed order (hosts and args sorted by key). */
export function requestDigest(input: SubmitTaskInput): string {
  const sorted = (o: Record<string, unknown>) => Object.keys(o).sort().map((k) => [k, o[k]]);
  const canonical = JSON.stringify([
    input.templateId,
    input.taskName,
    input.taskType ?? null,
    input.submitter ?? null,
    input.schedule,
    input.execTime ? input.execTime.toISOString() : null,
    sorted(input.args),
    [...input.hosts].sort(([a], [b]) => a - b).map(([g, hs]) => [g, [...hs]]),
    input.details ?? '',
    sorted(input.associatedUser ?? {}),
    input.executor ?? '',
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Postgres unique violation (a concurrent submit with the same idempotency key). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** The workflow start of a new task: the plan's shape only, never command text, argument values or secrets. */
function workflowStartFor(deps: TaskServiceDeps, taskId: number, input: SubmitTaskInput, template: SubmitTemplate, steps: TaskStep[], actor: Actor): WorkflowStart {
  const taskName = input.taskName || template.name;
  return {
    token: newStartToken(),
    taskId,
    templateId: template.id,
    taskName,
    creator: actor.username,
    submitter: input.submitter || actor.username,
    schedule: input.schedule,
    execTime: input.execTime ? input.execTime.toISOString() : null,
    hostCount: [...input.hosts.values()].reduce((n, hs) => n + hs.length, 0),
    input: {
      taskId,
      templateId: template.id,
      taskName,
      creator: actor.username,
      schedule: input.schedule,
      execTime: input.execTime ? input.execTime.toISOString() : null,
      maxParallel: template.max_parallel,
      approvalTimeoutS: deps.approvalTimeoutS ?? null,
      fourEyes: deps.fourEyes,
      groups: buildPlan(steps, input.hosts),
      shardHosts: deps.shardHosts ?? DEFAULT_SHARD_HOSTS,
    },
  };
}
