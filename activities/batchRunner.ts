// The batch runner: a host's consecutive steps over one SSH exec channel through the step
// driver, each step at most once (docs/engine.md#executing-a-batch-over-ssh).
// Throws only for transport errors before any step started (Temporal retries those with
// backoff) and CancelledFailure (its details: the steps that ended before the cancel); every
// other ending is returned per step and recorded in step_runs.
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { buildCommandLine, splitArgTokens } from '../src/domain/shellQuote';
import type { SecretBox } from '../src/security/secretBox';
import type { ConnectionPool } from './connectionPool';
import { hostKeyVerifier, type HostKeyPolicy, type HostKeyVerdict } from './hostKeys';
import { StepLogWriter } from './logWriter';
import { openSshConnection, SshAuthError, SshHostKeyError, SshTransportError, type SshConnection } from './ssh';
import { DriverSession, type DriverEnd, type DriverEvent } from './ssh/driverSession';
import { journalName, taskJournalName } from './ssh/driver';
import { whileDatabaseUnavailable } from '../src/db/availability';
import { advanceRun, credentials, earlierOutcome, finishRun, markRunning, resumePoint, setupFailure, transportRetry, type RunRow } from './stepRunner';
import { resolveAllowedTarget, TargetNotAllowedError, type Cidr } from './targets';
import type { BatchOutcome, BatchStepInput, BatchStepOutcome, ExecuteBatchInput, StepOutcome } from './types';

export interface BatchRunnerDeps {
  db: Db;
  box: SecretBox;
  pool: ConnectionPool;
  allowedTargets: readonly Cidr[];
}

const HEARTBEAT_MS = 1000;
/** Output that arrives between two steps (stray background processes) waits for the next step. */
const STRAY_LIMIT = 64 * 1024;

/** One step of the batch with what its run needs, read in one query for the whole batch. */
interface BatchRow extends RunRow {
  input: BatchStepInput;
  task_step_id: number;
  command: string;
  args: string;
  exec_user: string;
  force_host: string | null;
  timeout_s: number;
  task_args: Record<string, string>;
  /** The task's creation time in microseconds since the epoch (names its journal directory). */
  task_created: string;
  /** The step's exec user (null: no such alias) and the host key pinned for its target and port. */
  user_id: number | null;
  user_name: string | null;
  user_port: number | null;
  user_private_key: string | null;
  user_password: string | null;
  user_host_key_policy: HostKeyPolicy | null;
  pinned_fingerprint: string | null;
}

/**
 * The batch's runs with their frozen steps, the task's arguments, each step's exec user and the
 * host key pinned for its target: one statement per batch, where the exec user and the pin used to
 * be read in one statement each.
 */
async function loadBatch(db: Db, input: ExecuteBatchInput): Promise<BatchRow[]> {
  const { rows } = await sql<Omit<BatchRow, 'input'>>`
    select r.id as run_id, r.task_step_id, r.attempt as run_attempt, r.status as run_status, r.exit_code as run_exit_code, r.error as run_error,
      s.command, s.args, s.exec_user, s.force_host, s.timeout_s, s.idempotent,
      t.args as task_args, (extract(epoch from t.created_at) * 1000000)::bigint::text as task_created,
      e.id as user_id, e.username as user_name, e.port as user_port, e.private_key as user_private_key,
      e.password as user_password, e.host_key_policy as user_host_key_policy, k.fingerprint as pinned_fingerprint
    from step_runs r
      join task_steps s on s.id = r.task_step_id
      join tasks t on t.id = r.task_id
      left join exec_users e on e.alias = s.exec_user
      left join known_hosts k on k.host = coalesce(nullif(s.force_host, ''), r.host) and k.port = e.port
    where r.task_id = ${input.taskId} and r.host = ${input.host} and r.task_step_id = any(${input.steps.map((s) => s.stepId)}::int[])
  `.execute(db);
  return input.steps.map((step) => {
    const row = rows.find((r) => r.task_step_id === step.stepId);
    if (!row) throw setupFailure(`task ${input.taskId} has no run of step ${step.stepId} on ${input.host}`);
    return { ...row, input: step };
  });
}

/** Whether the batch goes on after a step ended so. */
function goesOn(outcome: StepOutcome, step: BatchStepInput): boolean {
  return outcome.outcome === 'succeeded' || (outcome.outcome === 'failed' && step.continueOnFailure);
}

export async function executeBatch(deps: BatchRunnerDeps, input: ExecuteBatchInput): Promise<BatchOutcome> {
  if (input.steps.length === 0) throw setupFailure('a batch needs at least one step');
  const ctx = Context.current();
  // Heartbeat from the start, not only while commands run: waiting for a handshake slot or a
  // slow connect must not look like a dead worker (that would start a second try).
  const progress = { bytes: 0 };
  const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_MS);
  const results: BatchStepOutcome[] = [];
  try {
    await runBatch(deps, input, ctx, progress, results);
    return { steps: results };
  } catch (err) {
    // The workflow learns which steps ended before the cancel from the failure's details.
    if (err instanceof CancelledFailure) throw new CancelledFailure(err.message, [results.filter((r) => r.outcome !== 'cancelled')]);
    throw err;
  } finally {
    clearInterval(beat);
  }
}

async function runBatch(deps: BatchRunnerDeps, input: ExecuteBatchInput, ctx: Context, progress: { bytes: number }, results: BatchStepOutcome[]): Promise<void> {
  const { db } = deps;
  const rows = await loadBatch(db, input);
  // A retried try first reports what earlier tries of the same attempts settled.
  let k = 0;
  let stopped = false;
  for (; k < rows.length && !stopped; k++) {
    const row = rows[k] as BatchRow;
    const earlier = earlierOutcome(row.input, row);
    if (!earlier) break;
    results.push({ stepId: row.input.stepId, attempt: row.input.attempt, ...earlier });
    stopped = !goesOn(earlier, row.input);
  }
  // The steps settled so were run by an earlier try that was lost before it could remove their
  // journals on the host (it removes them with `end`): this try removes them when it ends.
  const earlierJournals = rows.slice(0, k).map((r) => journalName(r.run_id, r.input.attempt));
  if (stopped || k === rows.length) {
    if (k > 0) await removeJournals(deps, input, rows[0] as BatchRow, earlierJournals).catch(() => undefined);
    return;
  }

  const first = rows[k] as BatchRow;
  const fail = async (error: string): Promise<void> => {
    await finishRun(db, first.run_id, { status: 'failed', attempt: first.input.attempt, error });
    results.push({ stepId: first.input.stepId, attempt: first.input.attempt, outcome: 'failed', exitCode: null, error });
  };
  const target = await targetOf(deps, input, first);
  if ('refusal' in target) return fail(target.refusal);

  // The steps that share this connection and whose command lines build; the rest come next time.
  const run: { row: BatchRow; commandLine: string }[] = [];
  for (const row of rows.slice(k)) {
    if (row.exec_user !== first.exec_user || row.force_host !== first.force_host) break;
    let commandLine: string;
    try {
      commandLine = buildCommandLine(row.command, splitArgTokens(row.args), { ...row.task_args, FLOW_ID: String(input.taskId) });
    } catch (err) {
      if (row === first) return fail(`command: ${(err as Error).message}`);
      break;
    }
    run.push({ row, commandLine });
  }

  try {
    await deps.pool.use(target.poolKey, target.open, (conn) =>
      new BatchRun(db, input.taskId, taskJournalName(input.taskId, first.task_created), conn, run, results, ctx, progress, earlierJournals).execute(),
    );
  } catch (err) {
    if (err instanceof SshHostKeyError) return fail(target.verdict.refusal ?? err.message);
    if (err instanceof SshAuthError) return fail(`authentication as ${target.username} failed: ${err.message}`);
    if (err instanceof SshTransportError && results.length === k) {
      await db.updateTable('step_runs').set({ error: err.message, updated_at: sql<Date>`now()` }).where('id', '=', first.run_id).execute();
      throw transportRetry(err.message);
    }
    throw err;
  }
}

/** How to reach a step's target, or why it may not be reached (a failure of the step). */
type Target =
  | { poolKey: string; username: string; open: () => Promise<SshConnection>; verdict: HostKeyVerdict }
  | { refusal: string };

async function targetOf(deps: BatchRunnerDeps, input: ExecuteBatchInput, row: BatchRow): Promise<Target> {
  if (row.user_id === null) return { refusal: `exec user '${row.exec_user}' does not exist` };
  const execUser = {
    id: row.user_id,
    alias: row.exec_user,
    username: row.user_name as string,
    port: row.user_port as number,
    private_key: row.user_private_key,
    password: row.user_password,
    host_key_policy: row.user_host_key_policy as HostKeyPolicy,
  };
  const targetHost = row.force_host || input.host;
  let address: string;
  try {
    address = await resolveAllowedTarget(targetHost, deps.allowedTargets);
  } catch (err) {
    if (err instanceof TargetNotAllowedError) return { refusal: err.message };
    throw transportRetry(`${targetHost}: ${(err as Error).message}`);
  }
  const verdict: HostKeyVerdict = { refusal: null };
  const open = () =>
    openSshConnection({
      host: address,
      port: execUser.port,
      username: execUser.username,
      ...credentials(deps.box, execUser),
      verifyHostKey: hostKeyVerifier(deps.db, execUser.host_key_policy, targetHost, execUser.port, verdict, row.pinned_fingerprint),
    });
  return { poolKey: `${execUser.id}|${address}|${execUser.port}`, username: execUser.username, open, verdict };
}

/**
 * Removes journals an earlier, lost try left on the host when this try has no step left to run:
 * the driver with no steps, told `end` with their names. Best effort: a journal left behind
 * costs a few files in the exec user's home, never a rerun.
 */
async function removeJournals(deps: BatchRunnerDeps, input: ExecuteBatchInput, row: BatchRow, journals: readonly string[]): Promise<void> {
  const target = await targetOf(deps, input, row);
  if ('refusal' in target) return;
  await deps.pool.use(target.poolKey, target.open, async (conn) => {
    const session = await DriverSession.open(conn, taskJournalName(input.taskId, row.task_created), [], randomBytes(12).toString('hex'), () => undefined, {
      removeOnEnd: journals,
    });
    session.finish(true);
    await session.ended;
  });
}

interface Current {
  index: number;
  writer: StepLogWriter;
  pgid?: number;
  exitCode: number | null;
  outEnded: boolean;
  errEnded: boolean;
  timer: NodeJS.Timeout;
  timedOut: boolean;
  /** The followed journal had no exit status. */
  journalLost?: boolean;
}

/** One batch on one open connection: the driver's events drive the step rows and logs. */
class BatchRun {
  private session!: DriverSession;
  private current: Current | null = null;
  private cancelRequested = false;
  private stray: { stream: 'stdout' | 'stderr'; data: Buffer }[] = [];
  private strayBytes = 0;

  constructor(
    private readonly db: Db,
    private readonly taskId: number,
    private readonly taskJournal: string,
    private readonly conn: SshConnection,
    private readonly steps: { row: BatchRow; commandLine: string }[],
    private readonly results: BatchStepOutcome[],
    private readonly ctx: Context,
    private readonly progress: { bytes: number },
    /** Journals of steps an earlier try ran and was lost before removing (see runBatch). */
    private readonly earlierJournals: readonly string[],
  ) {}

  async execute(): Promise<void> {
    const nonce = randomBytes(12).toString('hex');
    this.session = await DriverSession.open(
      this.conn,
      this.taskJournal,
      this.steps.map((s) => ({ journal: journalName(s.row.run_id, s.row.input.attempt), command: s.commandLine })),
      nonce,
      (event) => this.onEvent(event),
      { removeOnEnd: this.earlierJournals },
    );
    const first = this.steps[0] as { row: BatchRow };
    if (first.row.run_status === 'running' && first.row.run_attempt === first.row.input.attempt) {
      // An earlier try of this attempt claimed it (its worker was lost): the journal decides.
      const from = await resumePoint(this.db, first.row.run_id, first.row.input.attempt);
      await this.startStep(0, from.lastLogSeq, from);
    } else {
      const claimed = await markRunning(this.db, first.row.run_id, first.row.input.attempt, first.row.idempotent);
      if (!claimed) {
        this.pushResult(0, { outcome: 'unknown', exitCode: null, error: 'another try of this step started the command first; it may still be running' });
        this.session.finish(true);
      } else {
        await this.startStep(0, claimed.lastLogSeq);
      }
    }
    const onAbort = (): void => this.requestCancel();
    const signal = this.ctx.cancellationSignal;
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let end: DriverEnd;
    try {
      end = await this.session.ended;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (this.current) clearTimeout(this.current.timer);
    }
    if (this.current) await this.endedWithoutMarker(end);
    if (this.cancelRequested) throw new CancelledFailure('batch cancelled');
  }

  /** `resume`: an earlier try claimed this step; its output so far is stored up to these bytes. */
  private async startStep(index: number, lastLogSeq: number, resume?: { stdout: number; stderr: number }): Promise<void> {
    const { row } = this.steps[index] as { row: BatchRow };
    const writer = new StepLogWriter(this.db, row.run_id, row.input.attempt, lastLogSeq, this.ctx.cancellationSignal);
    // Show the command as the template wrote it: argument values stay out of the header.
    if (lastLogSeq === 0) await writer.system(`[CMD]: ${[row.command, row.args].filter(Boolean).join(' ')}\n`);
    for (const s of this.stray) await writer.write(s.stream, s.data);
    this.stray = [];
    this.strayBytes = 0;
    const current: Current = {
      index,
      writer,
      exitCode: null,
      outEnded: false,
      errEnded: false,
      timedOut: false,
      timer: setTimeout(() => {
        current.timedOut = true;
        this.killCurrent();
      }, row.timeout_s * 1000),
    };
    this.current = current;
    // A cancel that came while the header was written: the step never starts.
    if (this.cancelRequested) this.session.finish(true);
    else this.session.go(resume);
  }

  private onEvent({ stream, item }: DriverEvent): void | Promise<void> {
    const current = this.current;
    switch (item.kind) {
      case 'output':
        this.progress.bytes += item.data.length;
        if (current) return current.writer.write(stream, item.data);
        if (this.strayBytes < STRAY_LIMIT) {
          this.stray.push({ stream, data: item.data });
          this.strayBytes += item.data.length;
        }
        return;
      case 'recovering':
        if (current?.index === item.index) return current.writer.system('[opsflow] the worker running this step was lost; following it through its journal on the host\n');
        return;
      case 'start':
        if (current?.index === item.index) {
          current.pgid = item.pgid;
          if (current.timedOut || this.cancelRequested) this.killCurrent();
        }
        return;
      case 'end':
        if (current?.index !== item.index) return;
        if (stream === 'stdout') {
          current.exitCode = item.exitCode;
          current.journalLost = item.lost === true;
          current.outEnded = true;
        } else {
          current.errEnded = true;
        }
        if (current.outEnded && current.errEnded) return this.stepEnded(current);
        return;
    }
  }

  private requestCancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    // Between two steps the one that ended is being recorded: stepEnded sees the flag and ends.
    if (this.current) this.killCurrent();
  }

  private killCurrent(): void {
    const current = this.current;
    if (current?.pgid === undefined) return; // killed when its start marker arrives
    void this.session.kill(current.pgid, () => this.current === current);
  }

  /** Both streams' end markers arrived: record the step, then start the next or end the batch. */
  private async stepEnded(current: Current): Promise<void> {
    clearTimeout(current.timer);
    this.current = null;
    const { row } = this.steps[current.index] as { row: BatchRow };
    const outcome = await this.outcomeOf(current, current.exitCode);
    // The step's last log rows go into the statement that records its end.
    const logs = await current.writer.finish();
    this.pushResult(current.index, outcome);
    const nextIndex = current.index + 1;
    const next = this.steps[nextIndex];
    const prev = { runId: row.run_id, status: outcome.outcome, exitCode: outcome.exitCode, error: outcome.error, logs };
    if (!next || this.cancelRequested || !goesOn(outcome, row.input)) {
      await finishRun(this.db, row.run_id, { status: prev.status, exit_code: prev.exitCode, error: prev.error }, this.ctx.cancellationSignal, logs);
      this.session.finish(true);
      return;
    }
    // A database restart between two steps pauses the batch; it must not lose the ended step's outcome.
    const claimed = await whileDatabaseUnavailable(
      () => advanceRun(this.db, this.taskId, prev, { runId: next.row.run_id, attempt: next.row.input.attempt, idempotent: next.row.idempotent }),
      this.ctx.cancellationSignal,
    );
    if (claimed === 'paused' || this.cancelRequested) {
      // Claimed just as a cancel came in: it never started.
      if (claimed !== 'paused' && claimed !== null) await finishRun(this.db, next.row.run_id, { status: 'cancelled', error: 'cancelled by an operator' });
      this.session.finish(true);
    } else if (claimed === null) {
      this.pushResult(nextIndex, { outcome: 'unknown', exitCode: null, error: 'another try of this step started the command first; it may still be running' });
      this.session.finish(true);
    } else {
      await this.startStep(nextIndex, claimed.lastLogSeq);
    }
  }

  /** The driver's exit came without the step's end markers: the connection or the driver died. */
  private async endedWithoutMarker(end: DriverEnd): Promise<void> {
    const current = this.current as Current;
    this.current = null;
    const { row } = this.steps[current.index] as { row: BatchRow };
    if (end.lost && !current.timedOut && !this.cancelRequested) {
      // The step goes on on the host, into its journal: the next try re-attaches to it there
      // (the row stays `running`). Only when the host stays unreachable does it become unknown.
      await current.writer.close().catch(() => undefined);
      throw transportRetry(`connection to ${this.conn.host}:${this.conn.port} lost while the command ran; reconnecting to follow it through its journal`);
    }
    const outcome = await this.outcomeOf(current, end.exitCode, end.signal);
    const logs = await current.writer.finish().catch(() => undefined);
    await finishRun(this.db, row.run_id, { status: outcome.outcome, exit_code: outcome.exitCode, error: outcome.error }, this.ctx.cancellationSignal, logs);
    this.pushResult(current.index, outcome);
  }

  private async outcomeOf(current: Current, exitCode: number | null, signal?: string): Promise<StepOutcome> {
    const { row } = this.steps[current.index] as { row: BatchRow };
    if (this.cancelRequested) {
      await current.writer.system('\n[opsflow] cancelled: the remote process group was killed\n');
      return { outcome: 'cancelled', exitCode: null, error: 'cancelled by an operator' };
    }
    if (current.timedOut) {
      const error = `timed out after ${row.timeout_s} s; the remote process group was killed`;
      await current.writer.system(`\n[opsflow] ${error}\n`);
      return { outcome: 'failed', exitCode: null, error };
    }
    if (current.journalLost) {
      return { outcome: 'unknown', exitCode: null, error: 'the worker running this step was lost and the journal on the host has no exit status (its driver was killed); the command may or may not have finished. Retry or skip it.' };
    }
    if (exitCode === 0) return { outcome: 'succeeded', exitCode: 0, error: null };
    const error = exitCode === null ? `killed by ${signal ?? 'a signal'}` : `exit code ${exitCode}`;
    return { outcome: 'failed', exitCode, error };
  }

  private pushResult(index: number, outcome: StepOutcome): void {
    const { row } = this.steps[index] as { row: BatchRow };
    this.results.push({ stepId: row.input.stepId, attempt: row.input.attempt, ...outcome });
  }
}
