// One step printing a lot (by default 1 GiB of 60-byte lines from `yes`) on one loopback sshd
// target: how fast does its output reach PostgreSQL (step_logs), and how much memory does the
// worker need meanwhile? The worker runs in this process, so its peak RSS is this process's.
//
//   npm run bench:log -- [--mib 1024] [--runs 1] [--no-save]
//
// Results: bench/results/<date>-log-<mib>MiB.md (and .json). The target is 127.20.0.1 only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { startOpsflow, type OpsflowRun } from './lib/opsflow';
import { integerArg } from './lib/args';
import { loadAverage, machineCpu } from './lib/proc';
import { underLoad } from './lib/report';
import { startTargets } from './lib/targets';

interface Options {
  mib: number;
  runs: number;
  save: boolean;
}

const LINE = 'opsflow bench output line 0123456789 abcdefghijklmnopqrstuvw'; // 59 bytes + \n

function parseArgs(argv: string[]): Options {
  const o: Options = { mib: 1024, runs: 1, save: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (max: number): number => integerArg(String(flag), argv[++i], max);
    if (flag === '--mib') o.mib = value(8192);
    else if (flag === '--runs') o.runs = value(10);
    else if (flag === '--no-save') o.save = false;
    else throw new Error(`unknown argument ${flag} (npm run bench:log -- [--mib 1024] [--runs 1] [--no-save])`);
  }
  return o;
}

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface LogRun {
  run: OpsflowRun;
  /** step_runs.started_at → finished_at. */
  stepS: number | null;
  storedStdoutBytes: number;
  rows: number;
  /** Output bytes per second of the step, stored (MiB/s). */
  mibPerS: number | null;
  /** This process's RSS just before the run (the worker at rest), MiB. */
  rssBeforeMiB: number;
  /** Peaks of process.memoryUsage() sampled every 100 ms during the run, MiB: where the RSS goes. */
  memoryPeaksMiB: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  sshdCpuS: number;
  machineBusyS: number;
  load1AtStart: number;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const command = `yes '${LINE}' | head -c ${opts.mib}M`;
  const targets = await startTargets(1);
  const runs: LogRun[] = [];
  let versions: Record<string, string> = {};
  const loadAtStart = loadAverage();
  try {
    log(`starting opsflow (one step: ${command})`);
    const stack = await startOpsflow(targets, log, { command, timeoutS: 3600 });
    versions = { node: process.version, ...stack.versions };
    try {
      for (let i = 1; i <= opts.runs; i++) {
        const sshd0 = targets.cpuSeconds();
        const m0 = machineCpu();
        const load1AtStart = loadAverage()[0] ?? 0;
        const rssBeforeMiB = process.memoryUsage.rss() / 2 ** 20;
        const peaks = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
        const sampler = setInterval(() => {
          const m = process.memoryUsage();
          for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k] / 2 ** 20);
        }, 100);
        const r = await stack.run(targets.addresses, 3_700_000).finally(() => clearInterval(sampler));
        const stored = await sql<{ bytes: string | null; rows: string; started: Date | null; finished: Date | null }>`
          select sum(octet_length(l.chunk)) filter (where l.stream = 'stdout') as bytes, count(l.*) as rows,
                 min(r.started_at) as started, max(r.finished_at) as finished
          from step_runs r left join step_logs l on l.step_run_id = r.id
          where r.task_id = (select max(id) from tasks)`.execute(stack.db);
        const row = stored.rows[0];
        const stepS = row?.started && row.finished ? (new Date(row.finished).getTime() - new Date(row.started).getTime()) / 1000 : null;
        const bytes = Number(row?.bytes ?? 0);
        const lr: LogRun = {
          run: r,
          stepS,
          storedStdoutBytes: bytes,
          rows: Number(row?.rows ?? 0),
          mibPerS: stepS ? bytes / 2 ** 20 / stepS : null,
          rssBeforeMiB,
          memoryPeaksMiB: peaks,
          sshdCpuS: targets.cpuSeconds() - sshd0,
          machineBusyS: machineCpu().busyS - m0.busyS,
          load1AtStart,
        };
        runs.push(lr);
        log(
          `run ${i}: ${r.ok ? 'succeeded' : `FAILED ${r.error ?? r.status}`}, step ${stepS?.toFixed(2) ?? '?'} s, stored ${(bytes / 2 ** 20).toFixed(1)} MiB ` +
            `in ${lr.rows} rows = ${lr.mibPerS?.toFixed(1) ?? '?'} MiB/s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB (${rssBeforeMiB.toFixed(0)} MiB before; peaks: heap ${peaks.heapUsed.toFixed(0)}/${peaks.heapTotal.toFixed(0)}, external ${peaks.external.toFixed(0)} MiB), CPU: worker ${r.cpu.benchProcessS.toFixed(2)} s, ` +
            `PostgreSQL ${r.cpu.postgresS.toFixed(2)} s, sshd ${lr.sshdCpuS.toFixed(2)} s`,
        );
        // Each run starts from an empty table, so PostgreSQL's work does not grow run by run.
        await sql`truncate step_logs`.execute(stack.db);
      }
    } finally {
      await stack.stop();
    }
  } finally {
    await targets.stop();
  }
  const date = new Date().toISOString();
  const text = report(opts, command, runs, versions, date, loadAtStart);
  console.log(text);
  if (opts.save) {
    const dir = path.join(__dirname, 'results');
    const base = `${date.slice(0, 10)}-log-${opts.mib}MiB`;
    fs.writeFileSync(path.join(dir, `${base}.md`), text);
    fs.writeFileSync(path.join(dir, `${base}.json`), JSON.stringify({ date, options: opts, command, versions, loadAtStart, loadAtEnd: loadAverage(), runs }, null, 2) + '\n');
    log(`wrote bench/results/${base}.md and .json`);
  }
  if (runs.some((r) => !r.run.ok || r.storedStdoutBytes !== opts.mib * 2 ** 20)) process.exitCode = 1;
}

function report(opts: Options, command: string, runs: LogRun[], versions: Record<string, string>, date: string, loadAtStart: number[]): string {
  const cpu = os.cpus();
  const lines = [
    `# One step printing ${opts.mib} MiB into step_logs (${date.slice(0, 10)})`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}; ` +
      `${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Load average at start: ${loadAtStart.join(' ')}, at the end: ${loadAverage().join(' ')}.`,
    '',
    ...[underLoad(cpu.length, [loadAtStart, loadAverage(), ...runs.map((r) => [r.load1AtStart])]) ?? ''].filter(Boolean).flatMap((l) => [l, '']),
    `Command: \`npm run bench:log -- ${process.argv.slice(2).join(' ')}\`. The step: \`${command}\` on one OpenSSH sshd on 127.20.0.1, ` +
      'run by the real worker (in this process) with embedded PostgreSQL and the Temporal dev server on the same 2 cores.',
    '',
    '| run | result | step time | stored stdout | rows | MiB/s into step_logs | worker RSS before → peak (heap used / total, external) | CPU: worker | CPU: PostgreSQL | CPU: Temporal | CPU: sshd + yes | machine busy | load (1 min) at start |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r, i) =>
        `| ${i + 1} | ${r.run.ok ? 'succeeded' : `FAILED: ${r.run.error ?? r.run.status}`} | ${r.stepS?.toFixed(2) ?? '—'} s | ${(r.storedStdoutBytes / 2 ** 20).toFixed(1)} MiB | ${r.rows} | ` +
        `${r.mibPerS?.toFixed(1) ?? '—'} | ${r.rssBeforeMiB.toFixed(0)} → ${r.run.peakRssMiB.toFixed(0)} MiB (${r.memoryPeaksMiB.heapUsed.toFixed(0)} / ${r.memoryPeaksMiB.heapTotal.toFixed(0)}, ${r.memoryPeaksMiB.external.toFixed(0)}) | ${r.run.cpu.benchProcessS.toFixed(2)} s | ${r.run.cpu.postgresS.toFixed(2)} s | ` +
        `${r.run.cpu.temporalS.toFixed(2)} s | ${r.sshdCpuS.toFixed(2)} s | ${r.machineBusyS.toFixed(2)} s | ${r.load1AtStart} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
