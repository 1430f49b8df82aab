// Step output (step_logs): reading it, and following it while a task runs. One source serves
// both followers, the native API's Server-Sent Events and CODO's log WebSocket: it polls for new
// rows, ends when what it follows has finished, and ends as soon as the credential it was
// opened with stops being valid (logout, expiry, revocation, a disabled account).
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveCredential } from '../accounts/sessions';
import type { Db } from '../db/database';
import { isStepStatus, isTaskStatus, isTerminalStepStatus, isTerminalTaskStatus } from '../domain/statuses';

export interface LogRow {
  id: number;
  step_run_id: number;
  attempt: number;
  seq: number;
  stream: string;
  chunk: string;
  at: Date;
  group: number;
  host: string;
  level: number;
  step: string;
}

/** Which of a task's logs: one step run, several, a host, a group (all given must match). */
export interface LogFilter {
  stepRunId?: number;
  stepRunIds?: readonly number[];
  host?: string;
  group?: number;
}

/** The task's log rows after row `after`, oldest first, at most `limit`. */
export async function taskLogs(db: Db, taskId: number, opts: LogFilter & { after?: number; limit: number }): Promise<LogRow[]> {
  let q = db
    .selectFrom('step_logs as l')
    .innerJoin('step_runs as r', 'r.id', 'l.step_run_id')
    .innerJoin('task_steps as s', 's.id', 'r.task_step_id')
    .select(['l.id', 'l.step_run_id', 'l.attempt', 'l.seq', 'l.stream', 'l.chunk', 'l.at', 'r.group_no as group', 'r.host', 'r.level', 's.name as step'])
    .where('r.task_id', '=', taskId);
  if (opts.after !== undefined) q = q.where('l.id', '>', String(opts.after));
  if (opts.stepRunId !== undefined) q = q.where('l.step_run_id', '=', opts.stepRunId);
  if (opts.stepRunIds !== undefined) q = q.where('l.step_run_id', 'in', opts.stepRunIds.length ? [...opts.stepRunIds] : [0]);
  if (opts.host !== undefined) q = q.where('r.host', '=', opts.host);
  if (opts.group !== undefined) q = q.where('r.group_no', '=', opts.group);
  const rows = await q.orderBy('l.id').limit(opts.limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** One stored piece of a step run's output (step_logs row). */
export interface LogChunk {
  step_run_id: number;
  attempt: number;
  stream: string;
  chunk: string;
  at: Date;
}

/** Per step run: its whole log, all attempts, in order. */
export async function stepRunLogChunks(db: Db, stepRunIds: readonly number[]): Promise<Map<number, LogChunk[]>> {
  const byRun = new Map<number, LogChunk[]>();
  if (stepRunIds.length === 0) return byRun;
  const rows = await db
    .selectFrom('step_logs')
    .select(['step_run_id', 'attempt', 'seq', 'stream', 'chunk', 'at'])
    .where('step_run_id', 'in', [...stepRunIds])
    .orderBy('step_run_id')
    .orderBy('attempt')
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    const list = byRun.get(r.step_run_id);
    if (list) list.push(r);
    else byRun.set(r.step_run_id, [r]);
  }
  return byRun;
}

// ---------------------------------------------------------------------------------------------
// following

export interface FollowOptions {
  taskId: number;
  filter: LogFilter;
  /** Start after this row id (0: from the beginning). */
  after: number;
  /** `task`: until the task has finished; `runs`: until the runs in `filter.stepRunIds` have (or the task). */
  until: 'task' | 'runs';
  /** The session or API token the follower authenticated with; checked again while following. */
  credential: string;
  /** How long to wait between looks for new rows. */
  pollMs: number;
  /** How often the credential is checked again (default 1 s). */
  recheckMs?: number;
  /** Rows per look (default 500); a full batch is followed at once by the next. */
  batch?: number;
  /** Aborting ends the follow (the client went away, or subscribed to something else). */
  signal?: AbortSignal;
}

export type FollowEvent =
  /** A look: the new rows, the task's status, and whether this was the last look. */
  | { kind: 'rows'; rows: LogRow[]; status: string; finished: boolean }
  /** The credential is no longer valid; nothing more follows. */
  | { kind: 'unauthorized'; reason: string };

/** Whether what is followed has finished; read before the rows, so a final look has every row. */
async function followedState(db: Db, o: FollowOptions): Promise<{ status: string; finished: boolean }> {
  const t = await db.selectFrom('tasks').select('status').where('id', '=', o.taskId).executeTakeFirst();
  const status = t?.status ?? 'unknown';
  if (!t || (isTaskStatus(status) && isTerminalTaskStatus(status))) return { status, finished: true };
  if (o.until === 'task') return { status, finished: false };
  const ids = o.filter.stepRunIds ?? [];
  const runs = ids.length ? await db.selectFrom('step_runs').select('status').where('id', 'in', [...ids]).execute() : [];
  return { status, finished: runs.every((r) => isStepStatus(r.status) && isTerminalStepStatus(r.status)) };
}

/**
 * Follows a task's log: yields each look's new rows (also when there are none, so a follower can
 * resend or keep the connection alive) until what it follows has finished, the credential is no
 * longer valid, or `signal` aborts.
 */
export async function* followLogs(db: Db, o: FollowOptions): AsyncGenerator<FollowEvent, void, undefined> {
  const recheckMs = o.recheckMs ?? 1000;
  const batch = o.batch ?? 500;
  let after = o.after;
  let checkedAt = Date.now();
  while (!o.signal?.aborted) {
    if (Date.now() - checkedAt >= recheckMs) {
      checkedAt = Date.now();
      const auth = await resolveCredential(db, o.credential);
      if (!auth.ok) {
        yield { kind: 'unauthorized', reason: auth.reason };
        return;
      }
    }
    const state = await followedState(db, o);
    for (;;) {
      const rows = await taskLogs(db, o.taskId, { ...o.filter, after, limit: batch });
      after = rows[rows.length - 1]?.id ?? after;
      const more = rows.length === batch;
      yield { kind: 'rows', rows, status: state.status, finished: state.finished && !more };
      if (!more || o.signal?.aborted) break;
    }
    if (state.finished) return;
    try {
      await sleep(o.pollMs, undefined, { signal: o.signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
