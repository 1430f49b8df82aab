// submitTask: validate against the template, store the task with a frozen copy of its
// steps, one step_run per group × host × step and the start of workflow `task-<id>` (the outbox
// row), in one transaction; then hand the start to the starter (or start it here without one).
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/database';
import { STEP_COLUMNS, type TaskStep, type Template } from '../db/schema';
import { checkHostGroups } from '../domain/hosts';
import { buildPlan } from '../domain/plan';
import { DEFAULT_SHARD_HOSTS, MAX_STEP_RUNS_PER_TASK } from '../domain/shards';
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

export async function submitTask(
  deps: TaskServiceDeps,
  input: SubmitTaskInput,
  actor: Actor,
  /** The template's row when the caller has read it already (one query less per submit). */
  loaded?: Template,
): Promise<{ taskId: number; created: boolean }> {
  const digest = input.idempotencyKey ? requestDigest(input) : null;
  if (input.idempotencyKey) {
    const existing = await taskForIdempotencyKey(deps, input, digest, actor);
    if (existing !== null) return { taskId: existing, created: false };
  }

  const template = loaded?.id === input.templateId ? loaded : await deps.db.selectFrom('templates').selectAll().where('id', '=', input.templateId).executeTakeFirst();
  if (!template) throw new SubmitError(-2, `temp_id: template ${input.templateId} does not exist`, 'temp_id', 404);
  const templateSteps = await deps.db
    .selectFrom('template_steps')
    .selectAll()
    .where('template_id', '=', template.id)
    .orderBy('group_no')
    .orderBy('level')
    .orderBy('id')
    .execute();
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
  let stored: { taskId: number; start: WorkflowStart };
  try {
    stored = await insertTask(deps, input, template, hostsJson, digest, actor);
  } catch (err) {
    // A concurrent submission with the same key committed first: answer as a retry of it.
    if (!isUniqueViolation(err) || !input.idempotencyKey) throw err;
    const existing = await taskForIdempotencyKey(deps, input, digest, actor);
    if (existing === null) throw err;
    return { taskId: existing, created: false };
  }
  const { taskId, start } = stored;
  if (deps.starter) {
    deps.starter.enqueue(start);
  } else if ((await startAndClear(deps, start)) === 'foreign') {
    throw new SubmitError(-1, `task ${taskId}: workflow id ${workflowIdFor(taskId)} is already in use in Temporal (was the database reset?)`, 'list_id', 409);
  }
  return { taskId, created: true };
}

/** Stores the task, its frozen steps, its step runs and its workflow start (the outbox row) in one transaction. */
async function insertTask(
  deps: TaskServiceDeps,
  input: SubmitTaskInput,
  template: Template,
  hostsJson: Record<string, string[]>,
  digest: string | null,
  actor: Actor,
): Promise<{ taskId: number; start: WorkflowStart }> {
  return deps.db.transaction().execute(async (trx) => {
    const task = await trx
      .insertInto('tasks')
      .values({
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
        ...(input.executor ? { executor: input.executor } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.updateTable('tasks').set({ workflow_id: workflowIdFor(task.id) }).where('id', '=', task.id).execute();
    // The frozen copy is made by the database from the template's rows: later template edits never reach the task.
    const frozen: TaskStep[] = await trx
      .insertInto('task_steps')
      .columns(['task_id', ...STEP_COLUMNS])
      .expression(
        trx
          .selectFrom('template_steps')
          .select((eb) => [eb.val(task.id).as('task_id'), ...STEP_COLUMNS])
          .where('template_id', '=', template.id)
          .orderBy('group_no')
          .orderBy('level')
          .orderBy('id'),
      )
      .returningAll()
      .execute();
    const runs = frozen.flatMap((step) =>
      (input.hosts.get(step.group_no) ?? []).map((host) => ({
        task_id: task.id,
        task_step_id: step.id,
        group_no: step.group_no,
        host,
        level: step.level,
        status: initialStepStatus(step.trigger),
      })),
    );
    for (let i = 0; i < runs.length; i += 1000) await trx.insertInto('step_runs').values(runs.slice(i, i + 1000)).execute();
    const start = workflowStartFor(deps, task.id, input, template, frozen, actor);
    await trx.insertInto('workflow_starts').values({ task_id: task.id, start: JSON.stringify(start) }).execute();
    return { taskId: task.id, start };
  });
}

/**
 * The task an idempotency key already created, or null when the key is new. The same key is
 * only a retry when it comes from the same account with the same request; anything else is
 * refused (409) rather than answered with a task the caller did not ask for.
 */
async function taskForIdempotencyKey(deps: TaskServiceDeps, input: SubmitTaskInput, digest: string | null, actor: Actor): Promise<number | null> {
  const field = input.idempotencyField ?? 'idempotency_key';
  const existing = await deps.db
    .selectFrom('tasks')
    .select(['id', 'creator', 'request_digest'])
    .where('idempotency_key', '=', input.idempotencyKey ?? '')
    .executeTakeFirst();
  if (!existing) return null;
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
function workflowStartFor(deps: TaskServiceDeps, taskId: number, input: SubmitTaskInput, template: Template, steps: TaskStep[], actor: Actor): WorkflowStart {
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
