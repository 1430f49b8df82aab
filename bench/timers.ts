// N `ready` tasks due in the same minute: how late does each one start, and what does the
// process need for it? The real stack (embedded PostgreSQL, `temporal server start-dev` as
// opsflow runs it, migrations, the real worker), N tasks created through submitTask with
// exec_time spread over a window that opens after all are created, one `hand` step each (so no
// SSH: the task starts, records `running` and waits for a release that never comes).
//
//   npm run bench:timers -- [--tasks 10000] [--spread 60] [--lead auto|<s>] [--concurrency 16]
//                           [--temporal-db file|memory] [--pragma NAME=VALUE ...] [--dc KEY=JSON ...] [--no-save]
//
// Results: bench/results/<date>-timers.json and .md (or only .tmp with --no-save).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal as temporalProto } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, migrateToLatest, type Db } from '../src/db/database';
import { SecretBox, generateMasterKey, parseMasterKey } from '../src/security/secretBox';
import { submitTask, workflowIdFor, type TaskServiceDeps } from '../src/tasks/submit';
import { DB_FILE_PRAGMAS } from '../src/temporal/devServer';
import { startWorker, WORKER_TUNING, type WorkerTuning } from '../src/temporal/worker';
import { startBenchBackends } from './lib/backends';
import { loadAverage, machineCpu, treeCpuSeconds } from './lib/proc';

const TASK_QUEUE = 'opsflow-bench-timers';
const ACTOR = { username: 'bench', role: 'admin' as const };

interface Options {
  tasks: number;
  spreadS: number;
  /** Seconds from the end of calibration to the window's opening; null = estimated. */
  leadS: number | null;
  concurrency: number;
  temporalDb: 'file' | 'memory';
  dynamicConfig: Record<string, string | number | boolean>;
  /** SQLite pragmas of the dev server's file; null = opsflow's defaults. */
  pragmas: Record<string, string> | null;
  /** Worker tuning overrides (--worker KEY=NUMBER). */
  tuning: Partial<WorkerTuning>;
  /** Seconds after the window closes to wait for the last start. */
  graceS: number;
  historySample: number;
  save: boolean;
  /** Appended to the results' file names (several runs a day). */
  name: string | null;
}

const USAGE =
  'npm run bench:timers -- [--tasks 10000] [--spread 60] [--lead auto|<s>] [--concurrency 16] [--temporal-db file|memory] [--pragma NAME=VALUE ...] [--dc KEY=JSON ...] [--worker KEY=N ...] [--grace 300] [--history-sample 200] [--name suffix] [--no-save]';

function parseArgs(argv: string[]): Options {
  const o: Options = { tasks: 10_000, spreadS: 60, leadS: null, concurrency: 16, temporalDb: 'file', dynamicConfig: {}, pragmas: null, tuning: {}, graceS: 300, historySample: 200, save: true, name: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag}: needs a value (${USAGE})`);
      return v;
    };
    const int = (min: number): number => {
      const raw = next();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got ${raw}`);
      return n;
    };
    switch (flag) {
      case '--tasks':
        o.tasks = int(1);
        break;
      case '--spread':
        o.spreadS = int(0);
        break;
      case '--lead': {
        const raw = next();
        o.leadS = raw === 'auto' ? null : Number(raw);
        if (o.leadS !== null && !(Number.isFinite(o.leadS) && o.leadS >= 0)) throw new Error(`--lead: expected auto or seconds ≥ 0, got ${raw}`);
        break;
      }
      case '--concurrency':
        o.concurrency = int(1);
        break;
      case '--temporal-db': {
        const raw = next();
        if (raw !== 'file' && raw !== 'memory') throw new Error(`--temporal-db: expected file or memory, got ${raw}`);
        o.temporalDb = raw;
        break;
      }
      case '--dc': {
        const raw = next();
        const eq = raw.indexOf('=');
        if (eq < 1) throw new Error(`--dc: expected KEY=JSON, got ${raw}`);
        o.dynamicConfig[raw.slice(0, eq)] = JSON.parse(raw.slice(eq + 1)) as string | number | boolean;
        break;
      }
      case '--pragma': {
        const raw = next();
        const eq = raw.indexOf('=');
        if (eq < 1) throw new Error(`--pragma: expected NAME=VALUE, got ${raw}`);
        o.pragmas = { ...(o.pragmas ?? {}), [raw.slice(0, eq)]: raw.slice(eq + 1) };
        break;
      }
      case '--worker': {
        const raw = next();
        const [key, value] = raw.split('=');
        if (!key || !(key in WORKER_TUNING) || !Number.isInteger(Number(value))) throw new Error(`--worker: expected one of ${Object.keys(WORKER_TUNING).join(', ')}=<integer>, got ${raw}`);
        o.tuning[key as keyof WorkerTuning] = Number(value);
        break;
      }
      case '--grace':
        o.graceS = int(1);
        break;
      case '--history-sample':
        o.historySample = int(0);
        break;
      case '--name': {
        const raw = next();
        if (!/^[a-z0-9-]{1,40}$/.test(raw)) throw new Error(`--name: expected lower-case letters, digits and dashes, got ${raw}`);
        o.name = raw;
        break;
      }
      case '--no-save':
        o.save = false;
        break;
      default:
        throw new Error(`unknown argument ${flag} (${USAGE})`);
    }
  }
  return o;
}

const log = (line: string): void => console.log(`[timers ${new Date().toISOString().slice(11, 19)}] ${line}`);
const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

/** One sample a second of memory and cumulative CPU. */
interface Sample {
  /** Seconds after the window opened (negative before). */
  t: number;
  selfRssMiB: number;
  temporalRssMiB: number;
  postgresRssMiB: number;
  selfCpuS: number;
  temporalCpuS: number;
  postgresCpuS: number;
  machineBusyS: number;
  started: number;
  recorded: number;
}

function statusKb(pid: number | 'self', field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** RSS of a process tree (PostgreSQL: postmaster + backends; shared buffers counted per process). */
function treeRssMiB(roots: number[]): number {
  const kids = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  let kb = 0;
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    kb += statusKb(pid, 'VmRSS');
    stack.push(...(kids.get(pid) ?? []));
  }
  return kb / 1024;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

function stats(values: number[]): { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null } {
  const v = [...values].sort((a, b) => a - b);
  return {
    n: v.length,
    p50: quantile(v, 0.5),
    p90: quantile(v, 0.9),
    p99: quantile(v, 0.99),
    max: v.at(-1) ?? null,
    mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null,
  };
}

/** Runs fn over 0..n-1 with at most `limit` at once. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Where one task's time went after its timer was due, from its Temporal history (ms). */
interface HistoryTimes {
  timerFireLateMs: number;
  wftQueueMs: number;
  wftRunMs: number;
  activityQueueMs: number;
  activityRunMs: number;
  /** TimerFired to the activity recording `running` completing. */
  toRecordedMs: number;
  events: number;
  /** Event types from the timer firing on, e.g. WORKFLOW_TASK_TIMED_OUT where a task was retried. */
  afterFired: string[];
}

function historyTimes(history: temporalProto.api.history.v1.IHistory): HistoryTimes | null {
  const EventType = temporalProto.api.enums.v1.EventType;
  const events = history.events ?? [];
  const ms = (e: temporalProto.api.history.v1.IHistoryEvent | undefined): number =>
    e?.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : NaN;
  const timerStarted = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
  const fired = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED);
  if (!timerStarted || fired < 0) return null;
  const timeout = timerStarted.timerStartedEventAttributes?.startToFireTimeout;
  const dueMs = ms(timerStarted) + Number(timeout?.seconds ?? 0) * 1000 + Math.floor((timeout?.nanos ?? 0) / 1e6);
  const after = events.slice(fired);
  const find = (type: temporalProto.api.enums.v1.EventType): temporalProto.api.history.v1.IHistoryEvent | undefined => after.find((e) => e.eventType === type);
  const wftScheduled = find(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  const wftStarted = find(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  const wftCompleted = find(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const actScheduled = find(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const actStarted = find(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  const actCompleted = find(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  return {
    timerFireLateMs: ms(events[fired]) - dueMs,
    wftQueueMs: ms(wftStarted) - ms(wftScheduled),
    wftRunMs: ms(wftCompleted) - ms(wftStarted),
    activityQueueMs: ms(actStarted) - ms(actScheduled),
    activityRunMs: ms(actCompleted) - ms(actStarted),
    // Without a status activity (a local activity's marker instead): until the workflow task completed.
    toRecordedMs: (actCompleted ? ms(actCompleted) : ms(wftCompleted)) - ms(events[fired]),
    events: events.length,
    afterFired: after.map((e) => EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? '?'),
  };
}

function countShapes(shapes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of shapes) out[s] = (out[s] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

function firstLine(file: string, args: string[]): string {
  try {
    return execFileSync(file, args).toString().split('\n')[0]?.trim() ?? '?';
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const command = `npm run bench:timers -- ${process.argv.slice(2).join(' ')}`.trim();
  const loadAtStart = loadAverage();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-timers-'));
  fs.chmodSync(runDir, 0o755); // PostgreSQL runs as another account when we are root
  const stoppers: (() => Promise<void>)[] = [];
  try {
    const { cli, postgres, temporal, postgresPids, temporalPids } = await startBenchBackends(runDir, log, stoppers, {
      dbFile: opts.temporalDb === 'file' ? path.join(runDir, 'temporal.db') : null,
      dynamicConfig: opts.dynamicConfig,
      ...(opts.pragmas ? { sqlitePragmas: opts.pragmas } : {}),
    });
    const temporalPid = temporalPids[0] as number;

    const admin = new pg.Client(postgres.adminUrl);
    await admin.connect();
    await admin.query('CREATE DATABASE opsflow');
    await admin.end();
    const db: Db = createDb(postgres.urlFor('opsflow'));
    stoppers.push(() => db.destroy());
    await migrateToLatest(db);
    // Bench-only: when PostgreSQL saw each task become `running` (what the API shows), by a
    // trigger, so the bench need not poll 10,000 rows.
    await sql`alter table tasks add column bench_running_at timestamptz`.execute(db);
    await sql`create function bench_mark_running() returns trigger language plpgsql as $$
      begin
        if new.status = 'running' and old.status <> 'running' and new.bench_running_at is null then new.bench_running_at := clock_timestamp(); end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger bench_mark_running before update on tasks for each row execute function bench_mark_running()`.execute(db);

    const template = await db.insertInto('templates').values({ name: 'bench timers', max_parallel: 50, max_hosts_per_group: 100 }).returning('id').executeTakeFirstOrThrow();
    await db
      .insertInto('template_steps')
      .values({ template_id: template.id, group_no: 1, level: 1, name: 'wait for a person', command: 'true', args: '', trigger: 'hand', exec_user: 'root', timeout_s: 60, retries: 0, idempotent: false, on_failure: 'hold' })
      .execute();

    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/index.ts'), logger: quiet });
    const bundlePath = path.join(runDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    const box = new SecretBox(parseMasterKey(generateMasterKey()));
    const worker = await startWorker({
      address: temporal.address,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      workflowBundlePath: bundlePath,
      deps: { db, box, config: { allowedTargets: [] } },
      tuning: opts.tuning,
    });
    stoppers.push(() => worker.stop());
    const connection = await Connection.connect({ address: temporal.address });
    stoppers.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const service: TaskServiceDeps = { db, client, taskQueue: TASK_QUEUE, fourEyes: true };
    const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]?.v ?? '?';

    const submit = (execTime: Date, name: string): Promise<{ taskId: number }> =>
      submitTask(service, { templateId: template.id, taskName: name, schedule: 'ready', execTime, args: {}, hosts: new Map([[1, ['127.0.0.1']]]) }, ACTOR);

    // Calibration: how fast does this machine create tasks now? (Due tomorrow, then terminated.)
    const calibrationN = Math.min(100, opts.tasks);
    const c0 = performance.now();
    const calibration: number[] = [];
    await pool(calibrationN, opts.concurrency, async (i) => {
      calibration.push((await submit(new Date(Date.now() + 86_400_000), `calibration ${i}`)).taskId);
    });
    const perTaskMs = (performance.now() - c0) / calibrationN;
    await pool(calibration.length, 16, async (i) => {
      await client.workflow.getHandle(workflowIdFor(calibration[i] as number)).terminate('bench calibration');
    });
    await db.deleteFrom('tasks').where('id', 'in', calibration).execute();
    const leadS = opts.leadS ?? Math.ceil((opts.tasks * perTaskMs * 1.5) / 1000 + 15);
    const windowOpen = Date.now() + leadS * 1000;
    log(`calibration: ${perTaskMs.toFixed(1)} ms per task at concurrency ${opts.concurrency}; the window opens in ${leadS} s (${new Date(windowOpen).toISOString()})`);

    // Sampling from now on, once a second.
    const samples: Sample[] = [];
    const cpu0 = { self: process.cpuUsage(), temporal: treeCpuSeconds(temporalPids), postgres: treeCpuSeconds(postgresPids), machine: machineCpu().busyS };
    let counts = { started: 0, recorded: 0 };
    const sample = (): void => {
      const self = process.cpuUsage(cpu0.self);
      samples.push({
        t: (Date.now() - windowOpen) / 1000,
        selfRssMiB: statusKb('self', 'VmRSS') / 1024,
        temporalRssMiB: statusKb(temporalPid, 'VmRSS') / 1024,
        postgresRssMiB: treeRssMiB(postgresPids),
        selfCpuS: (self.user + self.system) / 1e6,
        temporalCpuS: treeCpuSeconds(temporalPids) - cpu0.temporal,
        postgresCpuS: treeCpuSeconds(postgresPids) - cpu0.postgres,
        machineBusyS: machineCpu().busyS - cpu0.machine,
        ...counts,
      });
    };
    const sampler = setInterval(sample, 1000);

    // Create every task, exec_time evenly over the window, in exec_time order.
    const createStart = Date.now();
    let created = 0;
    await pool(opts.tasks, opts.concurrency, async (i) => {
      const due = new Date(windowOpen + Math.floor((i * opts.spreadS * 1000) / opts.tasks));
      await submit(due, `timer ${i}`);
      created += 1;
      if (created % 1000 === 0) log(`created ${created}/${opts.tasks}`);
    });
    const createEnd = Date.now();
    const createdLate = createEnd > windowOpen;
    log(`created ${opts.tasks} tasks in ${((createEnd - createStart) / 1000).toFixed(1)} s${createdLate ? ' — AFTER the window opened: the result is not valid, raise --lead' : `, ${((windowOpen - createEnd) / 1000).toFixed(1)} s before the window opens`}`);

    // Wait for every start (or the grace period after the window).
    const deadline = windowOpen + (opts.spreadS + opts.graceS) * 1000;
    for (;;) {
      const row = await db
        .selectFrom('tasks')
        .select([sql<number>`count(start_time)::int`.as('started'), sql<number>`count(bench_running_at)::int`.as('recorded')])
        .executeTakeFirstOrThrow();
      counts = row;
      if (row.recorded >= opts.tasks || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Ten quiet seconds after the last start: what the process settles at.
    await new Promise((r) => setTimeout(r, 10_000));
    clearInterval(sampler);
    sample();
    const selfPeakMiB = statusKb('self', 'VmHWM') / 1024;
    const temporalPeakMiB = statusKb(temporalPid, 'VmHWM') / 1024;

    const rows = await db.selectFrom('tasks').select(['id', 'exec_time', 'start_time', sql<Date | null>`bench_running_at`.as('recorded_at')]).execute();
    const late = (t: Date | null, due: Date | null): number | null => (t && due ? (t.getTime() - due.getTime()) / 1000 : null);
    const startLate = rows.map((r) => late(r.start_time, r.exec_time)).filter((v): v is number => v !== null);
    const recordLate = rows.map((r) => late(r.recorded_at, r.exec_time)).filter((v): v is number => v !== null);
    const startTimes = rows.flatMap((r) => (r.start_time ? [r.start_time.getTime()] : [])).sort((a, b) => a - b);
    const perSecond = new Map<number, number>();
    for (const t of rows.flatMap((r) => (r.recorded_at ? [r.recorded_at.getTime()] : []))) {
      const s = Math.floor((t - windowOpen) / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    const lastRecorded = Math.max(...rows.map((r) => r.recorded_at?.getTime() ?? 0));

    // Where the time went, from a sample of histories spread over the window.
    const histories: HistoryTimes[] = [];
    const sorted = [...rows].sort((a, b) => a.id - b.id);
    const step = Math.max(1, Math.floor(sorted.length / Math.max(1, opts.historySample)));
    const picks = opts.historySample === 0 ? [] : sorted.filter((_, i) => i % step === 0).slice(0, opts.historySample);
    await pool(picks.length, 8, async (i) => {
      const h = await client.workflow.getHandle(workflowIdFor((picks[i] as { id: number }).id)).fetchHistory();
      const times = historyTimes(h);
      if (times) histories.push(times);
    });
    const last = samples.at(-1) as Sample;
    const windowSamples = samples.filter((s) => s.t >= -5);
    const cpuIn = (key: 'selfCpuS' | 'temporalCpuS' | 'postgresCpuS' | 'machineBusyS'): number => (last[key] ?? 0) - (windowSamples[0]?.[key] ?? 0);
    const result = {
      date: new Date().toISOString(),
      command,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', kernel: os.release(), memGiB: Math.round(os.totalmem() / 2 ** 30), loadAtStart, loadAtEnd: loadAverage() },
      versions: { node: process.version, postgres: pgVersion, temporalCli: firstLine(cli, ['--version']), sdk: sdkVersion() },
      options: opts,
      worker: { ...WORKER_TUNING, ...opts.tuning },
      calibration: { tasks: calibrationN, perTaskMs },
      creation: { seconds: (createEnd - createStart) / 1000, tasksPerS: opts.tasks / ((createEnd - createStart) / 1000), leadS, endedBeforeWindow: !createdLate },
      started: startLate.length,
      recorded: recordLate.length,
      lateness: { startTimeS: stats(startLate), recordedS: stats(recordLate) },
      startsPerS: {
        overall: startTimes.length > 1 ? startTimes.length / Math.max(1, (lastRecorded - windowOpen) / 1000) : null,
        peak1s: Math.max(0, ...perSecond.values()),
        lastRecordedAfterWindowCloseS: (lastRecorded - windowOpen) / 1000 - opts.spreadS,
      },
      memory: {
        selfPeakRssMiB: selfPeakMiB,
        selfEndRssMiB: last.selfRssMiB,
        temporalPeakRssMiB: temporalPeakMiB,
        temporalEndRssMiB: last.temporalRssMiB,
        postgresPeakRssMiB: Math.max(...samples.map((s) => s.postgresRssMiB)),
      },
      cpuFromWindowS: { opsflowProcess: cpuIn('selfCpuS'), temporal: cpuIn('temporalCpuS'), postgres: cpuIn('postgresCpuS'), machineBusy: cpuIn('machineBusyS'), wallS: last.t - (windowSamples[0]?.t ?? 0) },
      cpuWholeRunS: { opsflowProcess: last.selfCpuS, temporal: last.temporalCpuS, postgres: last.postgresCpuS, machineBusy: last.machineBusyS },
      history: {
        sampled: histories.length,
        eventsPerTask: stats(histories.map((h) => h.events)).p50,
        timerFireLateMs: stats(histories.map((h) => h.timerFireLateMs)),
        wftQueueMs: stats(histories.map((h) => h.wftQueueMs)),
        wftRunMs: stats(histories.map((h) => h.wftRunMs)),
        activityQueueMs: stats(histories.map((h) => h.activityQueueMs)),
        activityRunMs: stats(histories.map((h) => h.activityRunMs)),
        firedToRecordedMs: stats(histories.map((h) => h.toRecordedMs)),
        afterFiredShapes: countShapes(histories.map((h) => h.afterFired.join(' '))),
      },
      samples,
    };
    const md = report(result);
    console.log(md);
    const dir = path.join(__dirname, 'results');
    const base = path.join(dir, `${result.date.slice(0, 10)}-timers${opts.name ? `-${opts.name}` : ''}`);
    if (opts.save) {
      fs.writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
      fs.writeFileSync(`${base}.md`, md);
      log(`wrote ${path.relative(process.cwd(), base)}.json and .md`);
    } else {
      fs.writeFileSync(`${base}.json.tmp`, JSON.stringify(result, null, 2) + '\n');
    }
    if (result.recorded < opts.tasks || createdLate) process.exitCode = 1;
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch((err: unknown) => log(`stop: ${String(err)}`));
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

type Result = {
  date: string;
  command: string;
  machine: { cpus: number; model: string; kernel: string; memGiB: number; loadAtStart: number[]; loadAtEnd: number[] };
  versions: Record<string, string>;
  options: Options;
  worker: Record<string, unknown>;
  creation: { seconds: number; tasksPerS: number; leadS: number; endedBeforeWindow: boolean };
  started: number;
  recorded: number;
  lateness: { startTimeS: ReturnType<typeof stats>; recordedS: ReturnType<typeof stats> };
  startsPerS: { overall: number | null; peak1s: number; lastRecordedAfterWindowCloseS: number };
  memory: Record<string, number>;
  cpuFromWindowS: Record<string, number>;
  history: { sampled: number; eventsPerTask: number | null } & Record<string, unknown>;
};

function report(r: Result): string {
  const s = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
  const row = (name: string, st: ReturnType<typeof stats>, unit: string, digits = 2): string =>
    `| ${name} | ${s(st.p50, digits)} | ${s(st.p90, digits)} | ${s(st.p99, digits)} | ${s(st.max, digits)} | ${unit} |`;
  const h = r.history as unknown as Record<string, ReturnType<typeof stats>>;
  const goalLate = (r.lateness.startTimeS.p99 ?? Infinity) < 1 && (r.lateness.recordedS.p99 ?? Infinity) < 1;
  const goalRss = r.memory.selfPeakRssMiB !== undefined && r.memory.selfPeakRssMiB < 1024;
  return [
    `# ${r.options.tasks} \`ready\` tasks due within ${r.options.spreadS} s (${r.date.slice(0, 16)}Z)`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.model}, ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}; load average at start ${r.machine.loadAtStart.join(' / ')}, at end ${r.machine.loadAtEnd.join(' / ')}` +
      ' (other helpers share the machine: a load above ~0.5 at start means the figures were taken under load).',
    `Versions: Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}, ${r.versions.temporalCli}, TypeScript SDK ${r.versions.sdk}.`,
    `Command: \`${r.command}\`. Temporal dev server: SQLite ${r.options.temporalDb === 'file' ? `file, pragmas ${JSON.stringify(r.options.pragmas ?? DB_FILE_PRAGMAS)}${r.options.pragmas ? '' : ' (as `npm start` runs it)'}` : 'in memory'}${Object.keys(r.options.dynamicConfig).length ? `, dynamic config ${JSON.stringify(r.options.dynamicConfig)}` : ''}.`,
    `Worker: ${JSON.stringify(r.worker)}.`,
    '',
    `Tasks created through submitTask at concurrency ${r.options.concurrency}: ${r.creation.seconds.toFixed(1)} s (${r.creation.tasksPerS.toFixed(0)}/s), ${r.creation.endedBeforeWindow ? 'all before the window opened' : '**not all before the window opened: lateness is not valid**'}.`,
    '',
    `**Goal: p99 start lateness < 1 s — ${goalLate ? 'met' : 'missed'}; opsflow process peak RSS < 1 GiB — ${goalRss ? 'met' : 'missed'}.**`,
    '',
    '| lateness after exec_time | p50 | p90 | p99 | max | |',
    '|---|---|---|---|---|---|',
    row(`start_time (the workflow's clock when it began; ${r.started} tasks)`, r.lateness.startTimeS, 's'),
    row(`\`running\` in PostgreSQL (what the API shows; ${r.recorded} tasks)`, r.lateness.recordedS, 's'),
    '',
    `Starts per second: ${s(r.startsPerS.overall, 0)} overall (window open → last recorded), peak ${r.startsPerS.peak1s} in one second; the last start was recorded ${s(r.startsPerS.lastRecordedAfterWindowCloseS, 1)} s after the window closed.`,
    '',
    '| process | peak RSS MiB | RSS at end MiB | CPU s from the window opening |',
    '|---|---|---|---|',
    `| opsflow (this process: worker + submit) | ${s(r.memory.selfPeakRssMiB, 0)} | ${s(r.memory.selfEndRssMiB, 0)} | ${s(r.cpuFromWindowS.opsflowProcess, 1)} |`,
    `| Temporal dev server | ${s(r.memory.temporalPeakRssMiB, 0)} | ${s(r.memory.temporalEndRssMiB, 0)} | ${s(r.cpuFromWindowS.temporal, 1)} |`,
    `| PostgreSQL (all processes) | ${s(r.memory.postgresPeakRssMiB, 0)} | | ${s(r.cpuFromWindowS.postgres, 1)} |`,
    `| whole machine (both cores, everyone) | | | ${s(r.cpuFromWindowS.machineBusy, 1)} of ${s((r.cpuFromWindowS.wallS ?? 0) * r.machine.cpus, 0)} |`,
    '',
    `From ${r.history.sampled} sampled histories (${r.history.eventsPerTask ?? '–'} events per task), milliseconds:`,
    '',
    '| after the timer was due | p50 | p90 | p99 | max | |',
    '|---|---|---|---|---|---|',
    row('timer fired late (server: timer queue)', h.timerFireLateMs as ReturnType<typeof stats>, 'ms', 0),
    row('workflow task queued (until a worker took it)', h.wftQueueMs as ReturnType<typeof stats>, 'ms', 0),
    row('workflow task run (worker, replay if not cached)', h.wftRunMs as ReturnType<typeof stats>, 'ms', 0),
    row('status activity queued', h.activityQueueMs as ReturnType<typeof stats>, 'ms', 0),
    row('status activity run (PostgreSQL update)', h.activityRunMs as ReturnType<typeof stats>, 'ms', 0),
    row('timer fired → `running` recorded in the history', h.firedToRecordedMs as ReturnType<typeof stats>, 'ms', 0),
    '',
    'Events after the timer fired (number of sampled tasks: events):',
    '',
    ...Object.entries(r.history.afterFiredShapes as Record<string, number>).map(([shape, n]) => `- ${n}: ${shape}`),
    '',
  ].join('\n');
}

function sdkVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}


main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
