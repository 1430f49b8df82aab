// The SSH step runner: one step on one host, at most once
// (docs/engine.md#executing-a-step-over-ssh and #at-most-once).
// Throws only for transport errors before the command started (Temporal retries those
// with backoff); every other ending is returned as a StepOutcome and recorded in step_runs.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { sql, type Transaction } from 'kysely';
import { whileDatabaseUnavailable } from '../src/db/availability';
import type { Db } from '../src/db/database';
import type { Database, ExecUser, StepRun } from '../src/db/schema';
import { buildCommandLine, splitArgTokens } from '../src/domain/shellQuote';
import type { SecretBox } from '../src/security/secretBox';
import { execUserSecretContext } from '../src/security/secretContexts';
import type { ConnectionPool } from './connectionPool';
import { hostKeyVerifier, type HostKeyVerdict } from './hostKeys';
import { StepLogWriter } from './logWriter';
import { openSshConnection, runRemoteCommand, SshAuthError, SshCommandLostError, SshHostKeyError, SshTransportError } from './ssh';
import { resolveAllowedTarget, TargetNotAllowedError, type Cidr } from './targets';
import type { ExecuteStepInput, SettleLostStepInput, StepOutcome } from './types';
import type { StepOutcomeStatus } from '../src/domain/statuses';

export interface StepRunnerDeps {
  db: Db;
  box: SecretBox;
  pool: ConnectionPool;
  allowedTargets: readonly Cidr[];
}

const HEARTBEAT_MS = 1000;


/** Stored data does not describe a runnable step: retrying cannot help. */
function setupFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'StepSetupError');
}

/** Everything one try needs, in two reads: the run with its frozen step and the task's args, and the exec user. */
async function loadContext(db: Db, input: ExecuteStepInput) {
  const row = await db
    .selectFrom('step_runs as r')
    .innerJoin('task_steps as s', 's.id', 'r.task_step_id')
    .innerJoin('tasks as t', 't.id', 'r.task_id')
    .select([
      'r.id as run_id', 'r.attempt as run_attempt', 'r.status as run_status', 'r.exit_code as run_exit_code', 'r.error as run_error',
      's.command', 's.args', 's.exec_user', 's.force_host', 's.timeout_s', 's.idempotent',
      't.args as task_args',
    ])
    .where('r.task_id', '=', input.taskId)
    .where('r.task_step_id', '=', input.stepId)
    .where('r.host', '=', input.host)
    .executeTakeFirst();
  if (!row) throw setupFailure(`task ${input.taskId} has no run of step ${input.stepId} on ${input.host}`);
  const execUser = await db.selectFrom('exec_users').selectAll().where('alias', '=', row.exec_user).executeTakeFirst();
  return { ...row, execUser };
}

type Loaded = Awaited<ReturnType<typeof loadContext>>;

/** Records how the try ended; waits out a database restart (the command's outcome must not be lost). */
async function finishRun(
  db: Db,
  runId: number,
  fields: { status: StepOutcomeStatus; attempt?: number; exit_code?: number | null; error?: string | null },
  signal?: AbortSignal,
): Promise<void> {
  await whileDatabaseUnavailable(
    () => db.updateTable('step_runs').set({ ...fields, finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` }).where('id', '=', runId).execute(),
    signal,
  );
}

/**
 * Whether this try may go on. Not when this attempt already finished (its result never reached
 * Temporal: report it) or, for a step that is not idempotent, when an earlier try of this
 * attempt already started the command (worker lost): then it is `unknown`, held for an operator.
 */
async function earlierOutcome(db: Db, input: ExecuteStepInput, run: Loaded): Promise<StepOutcome | null> {
  if (run.run_attempt !== input.attempt) return null;
  if (run.run_status === 'succeeded' || run.run_status === 'failed') {
    return { outcome: run.run_status, exitCode: run.run_exit_code, error: run.run_error };
  }
  if ((run.run_status === 'running' || run.run_status === 'unknown') && !run.idempotent) {
    const error = 'the worker running this step was lost; the command may or may not have run. Retry or skip it.';
    await db
      .updateTable('step_runs')
      .set({ status: 'unknown', error, updated_at: sql<Date>`now()` })
      .where('id', '=', run.run_id)
      .where('attempt', '=', input.attempt)
      .where('status', 'in', ['running', 'unknown'])
      .execute();
    return { outcome: 'unknown', exitCode: null, error };
  }
  return null;
}

/**
 * The last moment before the command is sent, as one atomic transition: it succeeds only if no
 * other try of this same attempt has started the command meanwhile (a try Temporal gave up on
 * may still be alive and connecting). Returns false when this try must not run it.
 */
export async function markRunning(db: Db, runId: number, attempt: number, idempotent: boolean): Promise<{ lastLogSeq: number } | null> {
  let update = db
    .updateTable('step_runs')
    .set({ status: 'running', attempt, started_at: sql<Date>`now()`, finished_at: null, exit_code: null, error: null, updated_at: sql<Date>`now()` })
    .where('id', '=', runId);
  if (!idempotent) {
    update = update.where((eb) => eb.not(eb.and([eb('attempt', '=', attempt), eb('status', 'in', ['running', 'unknown', 'succeeded', 'failed', 'cancelled'])])));
  }
  // Output of an earlier try of this attempt (idempotent rerun) stays; new output follows it.
  const updated = await update
    .returning((eb) =>
      eb
        .selectFrom('step_logs')
        .select((l) => l.fn.coalesce(l.fn.max('seq'), sql<number>`0`).as('seq'))
        .where('step_run_id', '=', runId)
        .where('attempt', '=', attempt)
        .as('last_log_seq'),
    )
    .executeTakeFirst();
  return updated ? { lastLogSeq: Number(updated.last_log_seq ?? 0) } : null;
}

function credentials(box: SecretBox, user: ExecUser): { privateKey?: string; password?: string } {
  return {
    privateKey: user.private_key ? box.open(user.private_key, execUserSecretContext.privateKey(user.alias)) : undefined,
    password: user.password ? box.open(user.password, execUserSecretContext.password(user.alias)) : undefined,
  };
}

export async function executeStep(deps: StepRunnerDeps, input: ExecuteStepInput): Promise<StepOutcome> {
  const ctx = Context.current();
  // Heartbeat from the start, not only while the command runs: waiting for a handshake slot
  // or a slow connect must not look like a dead worker (that would start a second attempt).
  const progress = { bytes: 0 };
  const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_MS);
  try {
    return await executeStepBody(deps, input, ctx, progress);
  } finally {
    clearInterval(beat);
  }
}

async function executeStepBody(deps: StepRunnerDeps, input: ExecuteStepInput, ctx: Context, progress: { bytes: number }): Promise<StepOutcome> {
  const { db } = deps;
  const step = await loadContext(db, input);
  const earlier = await earlierOutcome(db, input, step);
  if (earlier) return earlier;
  const run = { id: step.run_id };
  const fail = async (error: string): Promise<StepOutcome> => {
    await finishRun(db, run.id, { status: 'failed', attempt: input.attempt, error });
    return { outcome: 'failed', exitCode: null, error };
  };

  const { execUser } = step;
  if (!execUser) return fail(`exec user '${step.exec_user}' does not exist`);
  const targetHost = step.force_host || input.host;
  let address: string;
  try {
    address = await resolveAllowedTarget(targetHost, deps.allowedTargets);
  } catch (err) {
    if (err instanceof TargetNotAllowedError) return fail(err.message);
    throw transportRetry(`${targetHost}: ${(err as Error).message}`);
  }

  const values = { ...step.task_args, FLOW_ID: String(input.taskId) };
  let commandLine: string;
  try {
    commandLine = buildCommandLine(step.command, splitArgTokens(step.args), values);
  } catch (err) {
    return fail(`command: ${(err as Error).message}`);
  }

  const verdict: HostKeyVerdict = { refusal: null };
  const open = () =>
    openSshConnection({
      host: address,
      port: execUser.port,
      username: execUser.username,
      ...credentials(deps.box, execUser),
      verifyHostKey: hostKeyVerifier(db, execUser.host_key_policy, targetHost, execUser.port, verdict),
    });

  const poolKey = `${execUser.id}|${address}|${execUser.port}`;
  try {
    return await deps.pool.use(poolKey, open, async (conn) => {
      const started = await markRunning(db, run.id, input.attempt, step.idempotent);
      if (!started) {
        return { outcome: 'unknown', exitCode: null, error: 'another try of this step started the command first; it may still be running' };
      }
      const logs = new StepLogWriter(db, run.id, input.attempt, started.lastLogSeq, ctx.cancellationSignal);
      // Show the command as the template wrote it: argument values stay out of the header.
      await logs.system(`[CMD]: ${[step.command, step.args].filter(Boolean).join(' ')}\n`);
      try {
        const result = await runRemoteCommand(conn, commandLine, {
          onOutput: (stream, chunk) => {
            progress.bytes += chunk.length;
            return logs.write(stream, chunk);
          },
          signal: ctx.cancellationSignal,
          timeoutMs: step.timeout_s * 1000,
        });
        if (result.cancelled) {
          await logs.system('\n[opsflow] cancelled: the remote process group was killed\n');
          await logs.close();
          await finishRun(db, run.id, { status: 'cancelled', error: 'cancelled by an operator' }, ctx.cancellationSignal);
          throw new CancelledFailure('step cancelled');
        }
        if (result.timedOut) {
          const error = `timed out after ${step.timeout_s} s; the remote process group was killed`;
          await logs.system(`\n[opsflow] ${error}\n`);
          await logs.close();
          await finishRun(db, run.id, { status: 'failed', error }, ctx.cancellationSignal);
          return { outcome: 'failed', exitCode: null, error };
        }
        await logs.close();
        if (result.exitCode === 0) {
          await finishRun(db, run.id, { status: 'succeeded', exit_code: 0 }, ctx.cancellationSignal);
          return { outcome: 'succeeded', exitCode: 0, error: null };
        }
        const error = result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.exitCode}`;
        await finishRun(db, run.id, { status: 'failed', exit_code: result.exitCode, error }, ctx.cancellationSignal);
        return { outcome: 'failed', exitCode: result.exitCode, error };
      } catch (err) {
        if (err instanceof SshCommandLostError) {
          // The command had started: its fate is unknown, so it is held, never rerun blindly.
          await logs.close().catch(() => undefined);
          const error = `connection lost while the command ran: ${err.message}`;
          await finishRun(db, run.id, { status: 'unknown', error }, ctx.cancellationSignal);
          return { outcome: 'unknown', exitCode: null, error };
        }
        throw err;
      }
    });
  } catch (err) {
    if (err instanceof SshHostKeyError) return fail(verdict.refusal ?? err.message);
    if (err instanceof SshAuthError) return fail(`authentication as ${execUser.username} failed: ${err.message}`);
    if (err instanceof SshTransportError) {
      await db.updateTable('step_runs').set({ error: err.message, updated_at: sql<Date>`now()` }).where('id', '=', run.id).execute();
      throw transportRetry(err.message);
    }
    throw err;
  }
}

/** A retryable failure: the command certainly did not start. */
function transportRetry(message: string): ApplicationFailure {
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
