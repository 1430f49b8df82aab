// The step run rows' transitions that keep a step at most once (docs/engine.md#at-most-once),
// shared by the batch runner: claiming a run, reading an earlier try's outcome, settling a lost one.
import { ApplicationFailure } from '@temporalio/common';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import { whileDatabaseUnavailable } from '../src/db/availability';
import type { Db } from '../src/db/database';
import type { Database, ExecUser, StepRun } from '../src/db/schema';
import type { SecretBox } from '../src/security/secretBox';
import { insertLogRows, type StepLogRows } from './logWriter';
import { execUserSecretContext } from '../src/security/secretContexts';
import type { SettleLostStepInput, StepOutcome } from './types';
import type { StepOutcomeStatus } from '../src/domain/statuses';

/** Statuses a claim of the same attempt must not find: that attempt's command may have started. */
const CLAIMED = ['running', 'unknown', 'succeeded', 'failed', 'cancelled'] as const;

/** Stored data does not describe a runnable step: retrying cannot help. */
export function setupFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'StepSetupError');
}

/** What earlierOutcome needs of a step run row. */
export interface RunRow {
  run_id: number;
  run_attempt: number;
  run_status: StepRun['status'];
  run_exit_code: number | null;
  run_error: string | null;
  idempotent: boolean;
}

/**
 * The step logs' last rows, as a data-modifying CTE in front of a status write (`with logs as
 * (insert …) update …`): the rows and the status in one statement. Empty: nothing.
 */
function withLogs(logs: StepLogRows | undefined): RawBuilder<unknown> {
  return logs && logs.rows.length > 0 ? sql`with logs as (${insertLogRows(logs)}) ` : sql``;
}

/**
 * Records how the try ended, with the step's last log rows if given; waits out a database
 * restart (the command's outcome must not be lost; the statement is safe to repeat).
 */
export async function finishRun(
  db: Db,
  runId: number,
  fields: { status: StepOutcomeStatus; attempt?: number; exit_code?: number | null; error?: string | null },
  signal?: AbortSignal,
  logs?: StepLogRows,
): Promise<void> {
  const sets = [sql`status = ${fields.status}`];
  if (fields.attempt !== undefined) sets.push(sql`attempt = ${fields.attempt}`);
  if (fields.exit_code !== undefined) sets.push(sql`exit_code = ${fields.exit_code}`);
  if (fields.error !== undefined) sets.push(sql`error = ${fields.error}`);
  await whileDatabaseUnavailable(
    () => sql`${withLogs(logs)}update step_runs set ${sql.join(sets)}, finished_at = now(), updated_at = now() where id = ${runId}`.execute(db),
    signal,
  );
}

/**
 * Whether this try may go on. Not when this attempt already finished (its result never reached
 * Temporal: report it) or ended `unknown` (held for an operator) unless the step is idempotent.
 * A step an earlier try left `running` goes on: the batch re-attaches to it through its journal
 * on the host (docs/engine.md#the-journal-on-the-host), which says whether it ran.
 */
export function earlierOutcome(input: { attempt: number }, run: RunRow): StepOutcome | null {
  if (run.run_attempt !== input.attempt) return null;
  if (run.run_status === 'succeeded' || run.run_status === 'failed' || (run.run_status === 'unknown' && !run.idempotent)) {
    return { outcome: run.run_status, exitCode: run.run_exit_code, error: run.run_error };
  }
  return null;
}

/**
 * Where a re-attached step's log goes on: the last log row's seq, and how many bytes of stdout
 * and stderr are stored (the driver resends the journal's output after them).
 */
export async function resumePoint(db: Db, runId: number, attempt: number): Promise<{ lastLogSeq: number; stdout: number; stderr: number }> {
  const row = await db
    .selectFrom('step_logs')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.max('seq'), sql<number>`0`).as('seq'),
      sql<string>`coalesce(sum(octet_length(chunk)) filter (where stream = 'stdout'), 0)`.as('stdout'),
      sql<string>`coalesce(sum(octet_length(chunk)) filter (where stream = 'stderr'), 0)`.as('stderr'),
    ])
    .where('step_run_id', '=', runId)
    .where('attempt', '=', attempt)
    .executeTakeFirst();
  return { lastLogSeq: Number(row?.seq ?? 0), stdout: Number(row?.stdout ?? 0), stderr: Number(row?.stderr ?? 0) };
}

/**
 * The claim of a step run for this attempt (an UPDATE … RETURNING its last log seq): it finds the
 * row only if no other try of this same attempt has started the command meanwhile (a try
 * Temporal gave up on may still be alive and connecting); an idempotent step may run again.
 * Output of an earlier try of this attempt (idempotent rerun) stays; new output follows it.
 */
function claimRun(next: { runId: number; attempt: number; idempotent: boolean }, unless: RawBuilder<unknown> = sql``): RawBuilder<{ last_log_seq: number }> {
  const claimed = sql.join(CLAIMED.map((s) => sql.lit(s)));
  return sql<{ last_log_seq: number }>`update step_runs set status = 'running', attempt = ${next.attempt}, started_at = now(), finished_at = null,
      exit_code = null, error = null, updated_at = now()
    where id = ${next.runId} ${unless}
      and (${next.idempotent}::boolean or not (attempt = ${next.attempt} and status in (${claimed})))
    returning (select coalesce(max(seq), 0) from step_logs where step_run_id = ${next.runId} and attempt = ${next.attempt}) as last_log_seq`;
}

/**
 * The last moment before the command is sent, as one atomic transition (claimRun). Returns null
 * when this try must not run it.
 */
export async function markRunning(db: Db, runId: number, attempt: number, idempotent: boolean): Promise<{ lastLogSeq: number } | null> {
  const { rows } = await claimRun({ runId, attempt, idempotent }).execute(db);
  return rows[0] ? { lastLogSeq: Number(rows[0].last_log_seq) } : null;
}

/**
 * One statement between two steps of a batch: stores the previous step's last log rows, records
 * how it ended and claims the next one as markRunning does — unless the task is paused now, which
 * is how a running batch learns of a pause (the pause update writes `paused` before it answers).
 * Safe to repeat after a cut connection except for the claim, which then finds the step claimed.
 */
export async function advanceRun(
  db: Db,
  taskId: number,
  prev: { runId: number; status: StepOutcomeStatus; exitCode: number | null; error: string | null; logs?: StepLogRows },
  next: { runId: number; attempt: number; idempotent: boolean },
): Promise<{ lastLogSeq: number } | 'paused' | null> {
  const logs = prev.logs && prev.logs.rows.length > 0 ? sql`logs as (${insertLogRows(prev.logs)}), ` : sql``;
  const { rows } = await sql<{ paused: boolean; last_log_seq: string | number | null }>`
    with ${logs}fin as (
      update step_runs set status = ${prev.status}, exit_code = ${prev.exitCode}, error = ${prev.error},
        finished_at = now(), updated_at = now()
      where id = ${prev.runId} returning id
    ), gate as (
      select exists (select 1 from tasks where id = ${taskId} and status = 'paused') as paused
    ), nxt as (
      ${claimRun(next, sql`and not (select paused from gate)`)}
    )
    select (select paused from gate) as paused, (select last_log_seq from nxt) as last_log_seq, (select count(*) from fin) as fin
  `.execute(db);
  const row = rows[0];
  if (row?.paused) return 'paused';
  return row && row.last_log_seq !== null ? { lastLogSeq: Number(row.last_log_seq) } : null;
}

export function credentials(box: SecretBox, user: Pick<ExecUser, 'alias' | 'private_key' | 'password'>): { privateKey?: string; password?: string } {
  return {
    privateKey: user.private_key ? box.open(user.private_key, execUserSecretContext.privateKey(user.alias)) : undefined,
    password: user.password ? box.open(user.password, execUserSecretContext.password(user.alias)) : undefined,
  };
}

/** A retryable failure: the command certainly did not start. */
export function transportRetry(message: string): ApplicationFailure {
  return ApplicationFailure.retryable(message, 'SshTransportError');
}

/** The step run row, locked until the transaction ends (one decision about it at a time). */
function lockStepRun(trx: Transaction<Database>, ref: { stepId: number; host: string }): Promise<StepRun | undefined> {
  return trx.selectFrom('step_runs').selectAll().where('task_step_id', '=', ref.stepId).where('host', '=', ref.host).forUpdate().executeTakeFirst();
}

/** The step activity gave up for good: settle its row from what the database knows. */
export async function settleLostStep(db: Db, input: SettleLostStepInput): Promise<StepOutcome> {
  return db.transaction().execute(async (trx) => {
    const run = await lockStepRun(trx, input);
    if (!run) throw setupFailure(`task ${input.taskId} has no run of step ${input.stepId} on ${input.host}`);
    if (run.attempt === input.attempt && (run.status === 'succeeded' || run.status === 'failed' || run.status === 'unknown')) {
      return { outcome: run.status, exitCode: run.exit_code, error: run.error };
    }
    const started = run.attempt === input.attempt && run.status === 'running';
    const status = started ? 'unknown' : 'failed';
    const error = started
      ? `the worker running this step was lost (${input.error}); the command may or may not have run`
      : `the step could not run: ${input.error}`;
    await trx
      .updateTable('step_runs')
      .set({ status, error, attempt: input.attempt, finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('id', '=', run.id)
      .execute();
    return { outcome: status, exitCode: null, error };
  });
}
