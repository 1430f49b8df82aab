// The largest task opsflow accepts (by default 500 hosts × 10 levels of `uname -a`, the
// 5,000 host × step runs one unsharded task takes), run once on loopback sshd targets: does it finish, how
// long does it take, and how close does its workflow history come to Temporal's limits?
//
//   npm run bench:largest -- [--hosts 500] [--levels 10] [--no-save]
//
// Results: bench/results/largest-task.md (and .json). Targets are 127.20.x.y only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOpsflow, type OpsflowRun } from './lib/opsflow';
import { startTargets } from './lib/targets';

// Temporal's defaults (limit.historyCount.* / limit.historySize.*): a warning, then the
// workflow is terminated.
const HISTORY_EVENTS_WARN = 10_240;
const HISTORY_EVENTS_LIMIT = 51_200;
const HISTORY_BYTES_WARN = 10 * 2 ** 20;
const HISTORY_BYTES_LIMIT = 50 * 2 ** 20;

interface Options {
  hosts: number;
  levels: number;
  save: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { hosts: 500, levels: 10, save: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${argv[i]}`);
      return n;
    };
    if (flag === '--hosts') o.hosts = value();
    else if (flag === '--levels') o.levels = value();
    else if (flag === '--no-save') o.save = false;
    else throw new Error(`unknown argument ${flag} (npm run bench:largest -- [--hosts 500] [--levels 10] [--no-save])`);
  }
  return o;
}

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(0)} %`;

function report(opts: Options, r: OpsflowRun, date: string): string {
  const events = r.historyEvents ?? NaN;
  const bytes = r.historyBytes ?? NaN;
  return [
    `# The largest task: ${opts.hosts} hosts × ${opts.levels} levels = ${r.stepRuns} step runs (${date.slice(0, 10)})`,
    '',
    `Machine: ${os.cpus().length} cores, Node ${process.version}. One run, \`uname -a\` per step, max_parallel 50,`,
    `one SSH connection per host reused across its steps. \`npm run bench:largest\`.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| result | ${r.ok ? 'succeeded' : `FAILED: ${r.error ?? r.status}`} (${r.succeededHosts}/${opts.hosts} hosts all steps ok) |`,
    `| wall time | ${r.wallS.toFixed(2)} s (${((1000 * r.wallS) / r.stepRuns).toFixed(2)} ms per step run) |`,
    `| client CPU (bench process + Temporal + PostgreSQL) | ${r.cpu.totalS.toFixed(2)} s (worker process ${r.cpu.benchProcessS.toFixed(2)} s, Temporal ${r.cpu.temporalS.toFixed(2)} s, PostgreSQL ${r.cpu.postgresS.toFixed(2)} s) |`,
    `| worker process peak RSS | ${r.peakRssMiB.toFixed(0)} MiB |`,
    `| history events | ${events} (${(events / r.stepRuns).toFixed(2)} per step run; ${pct(events, HISTORY_EVENTS_LIMIT)} of Temporal's ${HISTORY_EVENTS_LIMIT} limit, warning from ${HISTORY_EVENTS_WARN}) |`,
    `| history size | ${(bytes / 2 ** 20).toFixed(2)} MiB (${pct(bytes, HISTORY_BYTES_LIMIT)} of the 50 MiB limit, warning from 10 MiB${bytes > HISTORY_BYTES_WARN ? ': above it' : ''}) |`,
    `| SQL statements | ${r.sqlStatements} (${(r.sqlStatements / r.stepRuns).toFixed(2)} per step run) |`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  log(`starting ${opts.hosts} sshd targets on 127.20.x.y`);
  const targets = await startTargets(opts.hosts);
  try {
    log(`starting opsflow (template: ${opts.levels} levels)`);
    const stack = await startOpsflow(targets, log, { levels: opts.levels });
    try {
      const warm = await stack.run(targets.addresses.slice(0, 10), 120_000);
      log(`warm-up (10 hosts, not counted): ${warm.wallS.toFixed(2)} s ${warm.ok ? 'ok' : `FAILED ${warm.error ?? warm.status}`}`);
      const r = await stack.run(targets.addresses, 30 * 60_000);
      // The engine's own limit decides (it moves as tasks get sharded): say so and stop.
      if (r.refused !== undefined) throw new Error(`opsflow refused ${opts.hosts} hosts × ${opts.levels} levels as one task: ${r.refused}`);
      const date = new Date().toISOString();
      const text = report(opts, r, date);
      console.log(text);
      if (opts.save) {
        const dir = path.join(__dirname, 'results');
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'largest-task.md'), text);
        fs.writeFileSync(path.join(dir, 'largest-task.json'), JSON.stringify({ date, options: opts, run: r }, null, 2) + '\n');
        log('wrote bench/results/largest-task.md and .json');
      }
      if (!r.ok) process.exitCode = 1;
    } finally {
      await stack.stop();
    }
  } finally {
    await targets.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
