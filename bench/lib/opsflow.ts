// opsflow's engine as `npm start` runs it, minus the HTTP API: embedded PostgreSQL, a
// Temporal dev server (in memory, headless), the real Worker with the real activities, and
// submitTask. One stack serves every run; each run starts with an empty SSH connection pool.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal as temporalProto } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'kysely';
import pg from 'pg';
import { ConnectionPool } from '../../activities/connectionPool';
import { parseCidrList } from '../../src/config';
import { createDb, migrateToLatest, type Db } from '../../src/db/database';
import type { RunningPostgres } from '../../src/db/embedded';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../src/security/secretBox';
import { SubmitError, submitTask, workflowIdFor, type TaskServiceDeps } from '../../src/tasks/submit';
import { startWorker, type RunningWorker } from '../../src/temporal/worker';
import { startBenchBackends } from './backends';
import { peakRssMiB, resetPeakRss, treeCpuSeconds } from './proc';
import type { Targets } from './targets';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'rejected']);
const POLL_MS = 50;
const TASK_QUEUE = 'opsflow-bench';

export interface OpsflowRun {
  wallS: number;
  ok: boolean;
  status: string;
  succeededHosts: number;
  /** CPU seconds during the run. */
  cpu: { benchProcessS: number; temporalS: number; postgresS: number; totalS: number };
  peakRssMiB: number;
  /** From the database: when the first step started / the last finished, seconds after submit. */
  breakdown: { submitS: number; firstStepStartS: number | null; lastStepEndS: number | null; stepP50S: number | null; stepP95S: number | null };
  /** After the run (not timed): Temporal history events of the task, its shards included. */
  historyEvents: number | null;
  /** After the run (not timed): the encoded size of its largest history (Temporal refuses above 50 MB). */
  historyBytes: number | null;
  /** Host × step runs of the task (hosts × levels). */
  stepRuns: number;
  /** SQL statements opsflow sent during the run (BEGIN/COMMIT included; the bench's own polls not). */
  sqlStatements: number;
  /** The bench's status polls (every 50 ms), not in sqlStatements. */
  polls: number;
  /** sqlStatements by kind ('select task_steps', 'begin', …), the polls included. */
  sqlByKind: Record<string, number>;
  error?: string;
  /** The engine would not take the task (submitTask's refusal, e.g. over the per-task cap). */
  refused?: string;
}

export interface OpsflowStack {
  versions: Record<string, string>;
  /** The stack's database (for reading what a run stored, after it). */
  db: Db;
  /** CPU seconds so far of the Temporal dev server and of PostgreSQL (their process trees). */
  serverCpuS(): { temporalS: number; postgresS: number };
  /** afterTimed is called as soon as the timed part ends (before the stack's bookkeeping). */
  run(hosts: readonly string[], timeoutMs: number, afterTimed?: () => void): Promise<OpsflowRun>;
  stop(): Promise<void>;
}

/** Counts every statement any pg client of this process sends (kysely's pool included). */
const sqlCounter = { count: 0, installed: false, byKind: new Map<string, number>() };
/** 'select … from "step_runs"' → a short kind: verb + first table. */
function sqlKind(arg: unknown): string {
  const text = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null && 'text' in arg ? String((arg).text) : '?';
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
  const table = /\b(?:from|into|update)\s+"?(\w+)"?/i.exec(text)?.[1] ?? '';
  return table ? `${verb} ${table}` : verb;
}
function installSqlCounter(): void {
  if (sqlCounter.installed) return;
  sqlCounter.installed = true;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    sqlCounter.count += 1;
    const kind = sqlKind(args[0]);
    sqlCounter.byKind.set(kind, (sqlCounter.byKind.get(kind) ?? 0) + 1);
    return original.apply(this, args);
  };
}

const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

export interface OpsflowStackOptions {
  /** Steps in the template, one per level, each `command` (default 1). */
  levels?: number;
  /** Every step's command (default `uname -a`). */
  command?: string;
  /** Every step's timeout (default 60 s). */
  timeoutS?: number;
}

export async function startOpsflow(targets: Targets, log: (line: string) => void, options: OpsflowStackOptions = {}): Promise<OpsflowStack> {
  const levels = options.levels ?? 1;
  const command = options.command ?? 'uname -a';
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-'));
  fs.chmodSync(runDir, 0o755); // PostgreSQL runs as another account when we are root
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) await stop().catch((err: unknown) => log(`stop: ${String(err)}`));
    stoppers.length = 0;
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  installSqlCounter();
  try {
    const { cli, postgres, temporal, postgresPids, temporalPids } = await startBenchBackends(runDir, log, stoppers);

    const db = await createDatabase(postgres, 'opsflow');
    stoppers.push(() => db.destroy());
    await migrateToLatest(db);

    const box = new SecretBox(parseMasterKey(generateMasterKey()));
    await db
      .insertInto('exec_users')
      .values({
        alias: 'root',
        username: targets.sshd.username,
        port: targets.sshd.port,
        private_key: box.seal(targets.sshd.clientPrivateKey, privateKeyContext('root')),
      })
      .execute();
    // Steady state: the fleet's host keys are already pinned (TOFU), as for hosts opsflow has
    // run on before. (First contact costs two more statements per host: insert, re-read.)
    const keyType = targets.sshd.hostPublicKey.split(/\s+/)[0] ?? 'ssh-ed25519';
    for (let i = 0; i < targets.addresses.length; i += 500) {
      await db
        .insertInto('known_hosts')
        .values(targets.addresses.slice(i, i + 500).map((host) => ({ host, port: targets.sshd.port, key_type: keyType, fingerprint: targets.sshd.hostFingerprint })))
        .execute();
    }
    const template = await db
      .insertInto('templates')
      .values({ name: `bench ${command}`.slice(0, 100), max_parallel: 50, max_hosts_per_group: Math.max(100, targets.addresses.length) })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('template_steps')
      .values(
        Array.from({ length: levels }, (_, i) => ({
          template_id: template.id,
          group_no: 1,
          level: i + 1,
          name: levels === 1 ? 'step' : `step ${i + 1}`,
          command,
          args: '',
          trigger: 'order',
          exec_user: 'root',
          timeout_s: options.timeoutS ?? 60,
          retries: 2,
          idempotent: false,
          on_failure: 'hold',
        })),
      )
      .execute();

    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows/index.ts'), logger: quiet });
    const bundlePath = path.join(runDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);

    const pool = new ConnectionPool();
    const worker: RunningWorker = await startWorker({
      address: temporal.address,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      workflowBundlePath: bundlePath,
      deps: { db, box, config: { allowedTargets: parseCidrList('127.0.0.0/8') }, pool },
    });
    stoppers.push(async () => {
      await worker.stop();
      await pool.closeAll();
    });
    const connection = await Connection.connect({ address: temporal.address });
    stoppers.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const service: TaskServiceDeps = { db, client, taskQueue: TASK_QUEUE, fourEyes: true };

    const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]?.v ?? '?';
    const versions = { postgres: pgVersion, temporalCli: firstLine(cli, ['--version']) };

    let runNo = 0;
    const stack: OpsflowStack = {
      versions,
      db,
      serverCpuS: () => ({ temporalS: treeCpuSeconds(temporalPids), postgresS: treeCpuSeconds(postgresPids) }),
      async run(hosts, timeoutMs, afterTimed) {
        runNo += 1;
        await pool.closeAll(); // every run pays its own handshakes, like the peers
        resetPeakRss();
        const statements0 = sqlCounter.count;
        const kinds0 = new Map(sqlCounter.byKind);
        let polls = 0;
        const cpu0 = { self: process.cpuUsage(), temporal: treeCpuSeconds(temporalPids), postgres: treeCpuSeconds(postgresPids) };
        const t0 = performance.now();
        const submittedAt = Date.now();
        let taskId: number | null = null;
        let status = 'submitting';
        let error: string | undefined;
        let refused: string | undefined;
        let submitS = 0;
        try {
          ({ taskId } = await submitTask(
            service,
            {
              templateId: template.id,
              taskName: `bench run ${runNo}: ${command} on ${hosts.length} hosts`.slice(0, 200),
              schedule: 'ready',
              execTime: null,
              args: {},
              hosts: new Map([[1, [...hosts]]]),
            },
            { username: 'bench', role: 'admin' },
          ));
          submitS = (performance.now() - t0) / 1000;
          const deadline = t0 + timeoutMs;
          for (;;) {
            polls += 1;
            const row = await db.selectFrom('tasks').select('status').where('id', '=', taskId).executeTakeFirstOrThrow();
            status = row.status;
            if (TERMINAL.has(status)) break;
            if (performance.now() > deadline) {
              error = `timed out after ${timeoutMs} ms (status ${status})`;
              log(`run ${runNo} timed out; what it was waiting for:\n${await stuckReport(db, client, taskId)}`);
              await client.workflow.getHandle(workflowIdFor(taskId)).terminate('bench timeout').catch(() => undefined);
              break;
            }
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
          if (err instanceof SubmitError) refused = err.message.startsWith(err.field) ? err.message : `${err.field}: ${err.message}`;
        }
        const wallS = (performance.now() - t0) / 1000;
        const self = process.cpuUsage(cpu0.self);
        const benchProcessS = (self.user + self.system) / 1e6;
        const temporalS = treeCpuSeconds(temporalPids) - cpu0.temporal;
        const postgresS = treeCpuSeconds(postgresPids) - cpu0.postgres;
        const peak = peakRssMiB();
        const sqlStatements = sqlCounter.count - statements0 - polls;
        const sqlByKind = Object.fromEntries(
          [...sqlCounter.byKind]
            .map(([k, n]) => [k, n - (kinds0.get(k) ?? 0)] as const)
            .filter(([, n]) => n > 0)
            .sort((a, b) => b[1] - a[1]),
        );
        afterTimed?.();

        // Not timed from here on. Close the run's SSH connections now: sshd's per-connection
        // processes account their CPU to the listener's tree only once they have exited.
        await pool.closeAll();
        let succeededHosts = 0;
        let breakdown: OpsflowRun['breakdown'] = { submitS, firstStepStartS: null, lastStepEndS: null, stepP50S: null, stepP95S: null };
        let historyEvents: number | null = null;
        let historyBytes: number | null = null;
        let stepRuns = 0;
        if (taskId !== null) {
          const runs = await db.selectFrom('step_runs').select(['status', 'exit_code', 'started_at', 'finished_at']).where('task_id', '=', taskId).execute();
          stepRuns = runs.length;
          // A host counts once every one of its steps succeeded.
          succeededHosts = Math.floor(runs.filter((r) => r.status === 'succeeded' && r.exit_code === 0).length / levels);
          const starts = runs.flatMap((r) => (r.started_at ? [new Date(r.started_at).getTime()] : []));
          const ends = runs.flatMap((r) => (r.finished_at ? [new Date(r.finished_at).getTime()] : []));
          const durations = runs
            .flatMap((r) => (r.started_at && r.finished_at ? [(new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()) / 1000] : []))
            .sort((a, b) => a - b);
          breakdown = {
            submitS,
            firstStepStartS: starts.length ? (Math.min(...starts) - submittedAt) / 1000 : null,
            lastStepEndS: ends.length ? (Math.max(...ends) - submittedAt) / 1000 : null,
            stepP50S: quantile(durations, 0.5),
            stepP95S: quantile(durations, 0.95),
          };
          try {
            ({ historyEvents, historyBytes } = await taskHistorySize(client, workflowIdFor(taskId)));
          } catch {
            historyEvents = null;
          }
        }
        const ok = error === undefined && status === 'succeeded' && succeededHosts === hosts.length;
        return {
          wallS,
          ok,
          status,
          succeededHosts,
          cpu: { benchProcessS, temporalS, postgresS, totalS: benchProcessS + temporalS + postgresS },
          peakRssMiB: peak,
          breakdown,
          historyEvents,
          historyBytes,
          stepRuns,
          sqlStatements,
          polls,
          sqlByKind,
          ...(error !== undefined ? { error } : {}),
          ...(refused !== undefined ? { refused } : {}),
        };
      },
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * A task's Temporal history: events summed over the task workflow and its shards (child
 * workflows, named in the parent's history), bytes of the largest single history (the limit
 * Temporal enforces is per history).
 */
/**
 * Why a run did not end: its unfinished step runs, and for the workflow (and its shards) the
 * pending activities and the last history events. Printed before the bench terminates it.
 */
async function stuckReport(db: Db, client: Client, taskId: number): Promise<string> {
  const lines: string[] = [];
  const runs = await db
    .selectFrom('step_runs')
    .select(['id', 'host', 'task_step_id', 'status', 'attempt', 'error', 'started_at'])
    .where('task_id', '=', taskId)
    .where('status', '!=', 'succeeded')
    .limit(20)
    .execute();
  for (const r of runs) lines.push(`  step run ${r.id} ${r.host} step ${r.task_step_id}: ${r.status}, attempt ${r.attempt}, started ${String(r.started_at)}${r.error ? `, ${r.error}` : ''}`);
  const ids = [workflowIdFor(taskId)];
  try {
    const history = await client.workflow.getHandle(ids[0]!).fetchHistory();
    for (const e of history.events ?? []) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) ids.push(child);
    }
  } catch (err) {
    lines.push(`  history: ${String(err)}`);
  }
  for (const id of ids) {
    try {
      const described = await client.workflow.getHandle(id).describe();
      const pending = described.raw.pendingActivities ?? [];
      const pendingTask = described.raw.pendingWorkflowTask;
      lines.push(`  ${id}: ${described.status.name}, ${described.historyLength} events, ${pending.length} pending activities${pendingTask ? `, a workflow task pending (attempt ${pendingTask.attempt ?? 1})` : ''}`);
      for (const a of pending.slice(0, 10)) {
        const failure = a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : '';
        lines.push(`    activity ${a.activityId} ${a.activityType?.name ?? ''} state ${String(a.state)} attempt ${a.attempt ?? 0}, last heartbeat ${a.lastHeartbeatTime?.seconds?.toString() ?? 'none'}, started ${a.lastStartedTime?.seconds?.toString() ?? 'no'}${failure}`);
      }
      if (pending.length === 0 && ids.length === 1) {
        const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
        const types = events.slice(-12).map((e) => temporalProto.api.enums.v1.EventType[e.eventType ?? 0]);
        lines.push(`    last events: ${types.join(' ')}`);
      }
    } catch (err) {
      lines.push(`  ${id}: ${String(err)}`);
    }
  }
  return lines.join('\n');
}

async function taskHistorySize(client: Client, workflowId: string): Promise<{ historyEvents: number; historyBytes: number }> {
  const parent = await client.workflow.getHandle(workflowId).fetchHistory();
  const children = (parent.events ?? []).flatMap((e) => {
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    return child ? [child] : [];
  });
  const histories = [parent, ...(await Promise.all(children.map((id) => client.workflow.getHandle(id).fetchHistory())))];
  return {
    historyEvents: histories.reduce((n, h) => n + (h.events?.length ?? 0), 0),
    historyBytes: Math.max(...histories.map((h) => temporalProto.api.history.v1.History.encode(h).finish().length)),
  };
}

async function createDatabase(postgres: RunningPostgres, name: string): Promise<Db> {
  const admin = new pg.Client(postgres.adminUrl);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return createDb(postgres.urlFor(name)); // the pool size `npm start` uses
}

/**
 * The SecretBox context the step runner opens exec-user keys with. It has lived in
 * activities/stepRunner and src/security/secretContexts: take it from whichever this tree has.
 */
function privateKeyContext(alias: string): string {
  const load = createRequire(__filename);
  for (const mod of ['../../src/security/secretContexts', '../../activities/stepRunner']) {
    try {
      const m = load(mod) as { execUserSecretContext?: { privateKey(a: string): string } };
      if (m.execUserSecretContext) return m.execUserSecretContext.privateKey(alias);
    } catch {
      // not in this tree
    }
  }
  throw new Error('cannot find execUserSecretContext (activities/stepRunner or src/security/secretContexts)');
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}


function firstLine(file: string, args: string[]): string {
  try {
    return execFileSync(file, args).toString().split('\n')[0]?.trim() ?? '?';
  } catch {
    return '?';
  }
}
