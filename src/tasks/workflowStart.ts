// Starting a task's workflow from its outbox row (table workflow_starts). submitTask commits the
// task and its start row in one transaction and answers; the start happens here, concurrently,
// idempotent by workflow id, and deletes the row. Rows left by a crash or by a Temporal outage
// are retried by the starter's sweep. Why: docs/architecture.md, "The accept path".
import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Db } from '../db/database';
import type { Schedule } from '../domain/statuses';
import { initialTaskStatus } from '../domain/statuses';
import type { TaskWorkflowInput } from '../../workflows/messages';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/searchAttributes';
import { taskWorkflow } from '../../workflows/taskWorkflow';

/** Everything one start needs, stored as the outbox row's `start` (JSON). */
export interface WorkflowStart {
  /** Random, kept in the workflow's memo: tells this task's earlier start from a workflow that only shares its id. */
  token: string;
  taskId: number;
  templateId: number;
  taskName: string;
  creator: string;
  submitter: string;
  schedule: Schedule;
  /** ISO 8601, or null for "as soon as possible". */
  execTime: string | null;
  hostCount: number;
  input: TaskWorkflowInput;
}

export interface StartDeps {
  db: Db;
  client: Client;
  taskQueue: string;
}

export function newStartToken(): string {
  return randomBytes(12).toString('hex');
}

export function workflowIdFor(taskId: number): string {
  return `task-${taskId}`;
}

/**
 * Starts the workflow unless this start already happened. 'foreign': a workflow with the task's id
 * is running for something else (the database was reset while Temporal kept its data).
 */
export async function startTaskWorkflow(deps: StartDeps, s: WorkflowStart): Promise<'started' | 'foreign'> {
  // REJECT_DUPLICATE first: a retried start must not run a task a second time after its first run ended.
  for (const reuse of [WorkflowIdReusePolicy.REJECT_DUPLICATE, WorkflowIdReusePolicy.ALLOW_DUPLICATE]) {
    try {
      await startOnce(deps, s, reuse);
      return 'started';
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const existing = await deps.client.workflow.getHandle(workflowIdFor(s.taskId)).describe();
      if (existing.memo?.startToken === s.token) return 'started';
      // Someone else's workflow: a running one is never adopted; a closed one may be replaced.
      if (existing.status.name === 'RUNNING') return 'foreign';
    }
  }
  return 'foreign';
}

async function startOnce(deps: StartDeps, s: WorkflowStart, workflowIdReusePolicy: WorkflowIdReusePolicy): Promise<void> {
  // By reference: the workflow type is the function's name and `args` is checked against its parameters.
  await deps.client.workflow.start(taskWorkflow, {
    workflowId: workflowIdFor(s.taskId),
    taskQueue: deps.taskQueue,
    workflowIdReusePolicy,
    args: [s.input],
    memo: { taskName: s.taskName, startToken: s.token },
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTE_KEYS.TaskId, value: s.taskId },
      { key: SEARCH_ATTRIBUTE_KEYS.TemplateId, value: s.templateId },
      { key: SEARCH_ATTRIBUTE_KEYS.Submitter, value: s.submitter },
      { key: SEARCH_ATTRIBUTE_KEYS.TaskStatus, value: initialTaskStatus(s.schedule) },
    ],
    staticSummary: `#${s.taskId} ${s.taskName} · template ${s.templateId} · ${s.hostCount} host${s.hostCount === 1 ? '' : 's'}`,
    staticDetails: `submitted by ${s.submitter} (${s.creator}); schedule ${s.schedule}${s.execTime ? ` at ${s.execTime}` : ''}`,
  });
}

/**
 * Starts the task's workflow and deletes its outbox row. A foreign workflow under the task's id
 * fails the task (with the reason in its details) instead. A start that throws leaves the row,
 * counted, for the next try.
 */
export async function startAndClear(deps: StartDeps, s: WorkflowStart): Promise<'started' | 'foreign'> {
  let outcome: 'started' | 'foreign';
  try {
    outcome = await startTaskWorkflow(deps, s);
  } catch (err) {
    await deps.db
      .updateTable('workflow_starts')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: String(err).slice(0, 1000) }))
      .where('task_id', '=', s.taskId)
      .execute();
    throw err;
  }
  if (outcome === 'foreign') {
    await deps.db
      .updateTable('tasks')
      .set({ status: 'failed', details: `workflow id ${workflowIdFor(s.taskId)} is already running in Temporal for something else` })
      .where('id', '=', s.taskId)
      .execute();
  }
  await deps.db.deleteFrom('workflow_starts').where('task_id', '=', s.taskId).execute();
  return outcome;
}

/** The task's pending start, or null when its workflow was started (or it has none). */
export async function pendingStart(db: Db, taskId: number): Promise<WorkflowStart | null> {
  const row = await db.selectFrom('workflow_starts').select('start').where('task_id', '=', taskId).executeTakeFirst();
  return row ? (row.start as WorkflowStart) : null;
}

/**
 * Starts workflows from the outbox in the API process: `enqueue` right after a submit commits,
 * and a sweep every `sweepMs` for rows this process did not start (left by a crash, or whose
 * start failed while Temporal was away). At most `concurrency` starts run at once.
 */
export class WorkflowStarter {
  readonly #inFlight = new Map<number, Promise<void>>();
  /** Starts waiting for a free slot: those due to run now first, then the rest (see isDueNow). */
  readonly #waiting = { due: [] as (() => void)[], later: [] as (() => void)[] };
  readonly #timer: NodeJS.Timeout;
  #running = 0;
  #sweeping: Promise<void> | null = null;
  #stopped = false;
  /** The last failure logged, so an outage is reported once, not once per task. */
  #lastError = '';

  constructor(
    private readonly deps: StartDeps & { log: (line: string) => void },
    private readonly opts: { sweepMs?: number; concurrency?: number } = {},
  ) {
    this.#timer = setInterval(() => this.sweep(), opts.sweepMs ?? 1000);
    this.#timer.unref();
    this.sweep(); // drain what an earlier process left
  }

  /** Starts this submission's workflow in the background. */
  enqueue(s: WorkflowStart): void {
    if (this.#stopped || this.#inFlight.has(s.taskId)) return;
    // A start still queued when the starter stops is left in the outbox for the next process.
    const run = this.#limited(isDueNow(s, Date.now()), () => (this.#stopped ? Promise.resolve('left' as const) : startAndClear(this.deps, s)))
      .then((outcome) => {
        if (outcome === 'foreign') this.deps.log(`workflow starter: task ${s.taskId} failed: ${workflowIdFor(s.taskId)} is in use in Temporal for something else`);
        this.#lastError = '';
      })
      .catch((err: unknown) => {
        const line = `workflow starter: task ${s.taskId} not started yet (will retry): ${String(err)}`;
        if (line.replace(/\d+/g, '') !== this.#lastError) this.deps.log(line);
        this.#lastError = line.replace(/\d+/g, '');
      })
      .finally(() => this.#inFlight.delete(s.taskId));
    this.#inFlight.set(s.taskId, run);
  }

  /**
   * Makes sure the task's workflow is started now (an intervention arrived first). True when the
   * task had a start pending here or in the outbox and it went through.
   */
  async startNow(taskId: number): Promise<boolean> {
    const running = this.#inFlight.get(taskId);
    if (running) {
      await running;
      if ((await pendingStart(this.deps.db, taskId)) === null) return true;
    }
    return startPendingNow(this.deps, taskId);
  }

  /** One sweep at a time; a sweep waits for the starts it queued, so an outage paces the retries. */
  sweep(): void {
    if (this.#sweeping || this.#stopped) return;
    this.#sweeping = (async () => {
      try {
        const rows = await this.deps.db.selectFrom('workflow_starts').select(['task_id', 'start']).orderBy('task_id').limit(500).execute();
        for (const row of rows) this.enqueue(row.start as WorkflowStart);
        await Promise.all(rows.flatMap((r) => this.#inFlight.get(r.task_id) ?? []));
      } catch (err) {
        this.deps.log(`workflow starter: sweep: ${String(err)}`);
      } finally {
        this.#sweeping = null;
      }
    })();
  }

  /** Stops sweeping and waits for the starts under way (queued ones are dropped); rows left are started by the next process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#sweeping;
    await Promise.all(this.#inFlight.values());
  }

  async #limited<T>(due: boolean, fn: () => Promise<T>): Promise<T> {
    const limit = this.opts.concurrency ?? 32;
    const queue = due ? this.#waiting.due : this.#waiting.later;
    while (this.#running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    this.#running += 1;
    try {
      return await fn();
    } finally {
      this.#running -= 1;
      (this.#waiting.due.shift() ?? this.#waiting.later.shift())?.();
    }
  }
}

/**
 * Whether the task runs as soon as its workflow starts: no approval to wait for and no start
 * time ahead. Such starts go before a backlog of tasks that would only wait once started (a
 * burst of submissions awaiting approval must not hold up a task someone is waiting to see run).
 */
export function isDueNow(s: Pick<WorkflowStart, 'schedule' | 'execTime'>, now: number): boolean {
  return s.schedule === 'ready' && (s.execTime === null || Date.parse(s.execTime) <= now);
}

/** Starts the task's pending workflow, if it has one, right now (no starter in this process). */
export async function startPendingNow(deps: StartDeps, taskId: number): Promise<boolean> {
  const pending = await pendingStart(deps.db, taskId);
  if (!pending) return false;
  return (await startAndClear(deps, pending)) === 'started';
}
