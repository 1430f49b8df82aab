// `npm run bench`: opsflow's task engine against its peers (docs/engine.md#performance).
// One step `uname -a` (or --levels N steps) per host on N loopback sshd targets, parallelism
// 50; wall time and client CPU, medians of --runs.
//
//   npm run bench -- [--hosts 100,500] [--runs 3] [--tools opsflow,parallel-ssh,pssh-debian,ansible]
//                    [--levels 1] [--ansible-runs 1] [--parallel 50] [--max-minutes 45] [--quiet-wait 60]
//                    [--no-save] [--commit <git rev>]
//
// --commit benchmarks that commit's engine (src/, workflows/, activities/) instead of the
// working tree, which other people may be editing: it is exported to a temp dir and run there.
//
// Targets are OpenSSH sshd processes on 127.20.x.y only; nothing is sent anywhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOpsflow, type OpsflowRun, type OpsflowStack } from './lib/opsflow';
import { ansibleSshArgs, debianPsshVersion, ensureVenv, runPeer, type PeerName, type PeerRun } from './lib/peers';
import { loadAverage, machineCpu } from './lib/proc';
import { resultBaseName, writeReports, type BenchResult, type RunRecord } from './lib/report';
import { startTargets, type Targets } from './lib/targets';

type Tool = 'opsflow' | PeerName;
const ALL_TOOLS: Tool[] = ['opsflow', 'parallel-ssh', 'pssh-debian', 'ansible'];
const MAX_HOSTS = 10_000;

/**
 * Named fleet-scale runs: the flags they stand for, which later flags on the command line
 * override. Each includes a size opsflow takes today (one task ≤ 5,000 host × step runs until
 * tasks are sharded) next to the fleet size; opsflow runs every size its engine accepts.
 */
const SCENARIOS: Record<string, string[]> = {
  'fleet-2000x5': ['--hosts', '1000,2000', '--levels', '5', '--runs', '1', '--tools', 'opsflow,parallel-ssh,pssh-debian', '--ansible-runs', '0'],
  'fleet-10000x1': ['--hosts', '5000,10000', '--levels', '1', '--runs', '1', '--tools', 'opsflow,parallel-ssh'],
};

interface Options {
  hosts: number[];
  /** Steps per host, each `uname -a` (opsflow: template levels). */
  levels: number;
  runs: number;
  tools: Tool[];
  ansibleRuns: number;
  parallel: number;
  maxMinutes: number;
  quietWaitS: number;
  save: boolean;
  commit: string | null;
  resultsDir: string;
  /** The engine's source, as recorded in the results. */
  source: string | null;
}

function parseArgs(given: string[]): Options {
  const argv = expandScenario(given);
  const o: Options = { hosts: [100, 500], levels: 1, runs: 3, tools: [...ALL_TOOLS], ansibleRuns: 1, parallel: 50, maxMinutes: 45, quietWaitS: 60, save: true, commit: null, resultsDir: path.join(__dirname, 'results'), source: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (v: string, min: number, max: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: ${v} is not an integer in ${min}..${max}`);
      return n;
    };
    switch (flag) {
      case '--hosts':
        o.hosts = value().split(',').map((v) => int(v, 1, MAX_HOSTS));
        break;
      case '--runs':
        o.runs = int(value(), 1, 20);
        break;
      case '--levels':
        o.levels = int(value(), 1, 20);
        break;
      case '--ansible-runs':
        o.ansibleRuns = int(value(), 0, 20);
        break;
      case '--parallel':
        o.parallel = int(value(), 1, 500);
        break;
      case '--max-minutes':
        o.maxMinutes = int(value(), 1, 600);
        break;
      case '--tools': {
        const tools = value().split(',');
        for (const t of tools) if (!ALL_TOOLS.includes(t as Tool)) throw new Error(`--tools: unknown tool ${t} (${ALL_TOOLS.join(', ')})`);
        o.tools = tools as Tool[];
        break;
      }
      case '--quiet-wait':
        o.quietWaitS = int(value(), 0, 600);
        break;
      case '--no-save':
        o.save = false;
        break;
      case '--commit':
        o.commit = value();
        break;
      case '--results-dir': // set by --commit for the exported copy
        o.resultsDir = path.resolve(value());
        break;
      case '--source': // set by --commit for the exported copy
        o.source = value();
        break;
      case '--help':
      case '-h':
        console.log(
          'npm run bench -- [--scenario fleet-2000x5|fleet-10000x1] [--hosts 100,500] [--runs 3] [--tools opsflow,parallel-ssh,pssh-debian,ansible] ' +
            '[--levels 1] [--ansible-runs 1] [--parallel 50] [--max-minutes 45] [--quiet-wait 60] [--no-save] [--commit <git rev>]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag} (see --help)`);
    }
  }
  return o;
}

/** `--scenario name` → its flags, in its place (so flags after it override the preset's). */
function expandScenario(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--scenario') {
      out.push(argv[i] as string);
      continue;
    }
    const name = argv[++i] ?? '';
    const preset = SCENARIOS[name];
    if (!preset) throw new Error(`--scenario: unknown scenario '${name}' (${Object.keys(SCENARIOS).join(', ')})`);
    out.push(...preset);
  }
  return out;
}

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Per-run limit: generous, but every run ends by itself. */
function timeoutFor(tool: Tool, hosts: number, levels: number): number {
  return tool === 'ansible' ? 120_000 + hosts * levels * 1_500 : 60_000 + hosts * levels * 500;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.commit !== null) {
    process.exitCode = runExported(opts.commit, process.argv.slice(2), opts.resultsDir, log);
    return;
  }
  const started = Date.now();
  const deadline = started + opts.maxMinutes * 60_000;
  const maxHosts = Math.max(...opts.hosts);
  const versions: Record<string, string> = { opsflow: opts.source ?? workingTreeSource(), node: process.version, openssh: sshVersion() };
  const tools = opts.tools.filter((t) => {
    if (t === 'pssh-debian') {
      const v = debianPsshVersion();
      if (!v) {
        log('Debian parallel-ssh (apt package pssh) not installed: skipping it (apt-get install pssh to include it)');
        return false;
      }
      versions['pssh (Debian)'] = v;
    }
    if (t === 'ansible' && opts.ansibleRuns === 0) return false;
    return true;
  });
  if (tools.some((t) => t === 'parallel-ssh' || t === 'ansible')) Object.assign(versions, ensureVenv(log));
  if (tools.includes('ansible')) versions['ansible ssh connection'] = ansibleSshArgs();

  log(`starting ${maxHosts} sshd targets on 127.20.x.y`);
  const targets: Targets = await startTargets(maxHosts);
  let opsflow: OpsflowStack | null = null;
  const cleanup = async (): Promise<void> => {
    await opsflow?.stop();
    opsflow = null;
    await targets.stop();
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping');
    void cleanup().finally(() => process.exit(130));
  });

  const records: RunRecord[] = [];
  /** Host counts opsflow's engine refused as one task (e.g. over its per-task cap): not retried. */
  const refusedSizes = new Map<number, string>();
  try {
    if (tools.includes('opsflow')) {
      log(`starting opsflow: embedded PostgreSQL, Temporal dev server, worker (template: ${opts.levels} level${opts.levels === 1 ? '' : 's'})`);
      opsflow = await startOpsflow(targets, log, { levels: opts.levels });
      Object.assign(versions, opsflow.versions);
      const warm = await opsflow.run(targets.addresses.slice(0, 10), 60_000);
      log(`opsflow warm-up (10 hosts, not counted): ${warm.wallS.toFixed(2)} s ${warm.ok ? 'ok' : `FAILED ${warm.error ?? warm.status}`}`);
    }
    const loadAtStart = loadAverage();
    outer: for (let run = 1; run <= opts.runs; run++) {
      for (const n of opts.hosts) {
        // Rotate the order per run so no tool always runs first (or right after Ansible).
        const order = tools.map((_, i) => tools[(i + run - 1) % tools.length] as Tool);
        for (const tool of order) {
          if (tool === 'ansible' && run > opts.ansibleRuns) continue;
          if (tool === 'opsflow' && refusedSizes.has(n)) continue;
          const timeoutMs = timeoutFor(tool, n, opts.levels);
          if (Date.now() + timeoutMs / 4 > deadline) {
            log(`--max-minutes ${opts.maxMinutes} reached: stopping before ${tool} × ${n} (run ${run})`);
            break outer;
          }
          const hosts = targets.addresses.slice(0, n);
          await new Promise((r) => setTimeout(r, 1500)); // let the previous run's sessions end
          const waited = await waitForQuiet(opts.quietWaitS * 1000);
          if (waited.waitedS >= 1) log(`waited ${waited.waitedS.toFixed(0)} s for the machine to go quiet (${waited.busyCores.toFixed(2)} cores busy)`);
          const sshd0 = targets.cpuSeconds();
          const m0 = machineCpu();
          const load0 = loadAverage()[0] ?? 0;
          let record: RunRecord;
          let m1: { busyS: number; totalS: number } | null = null;
          if (tool === 'opsflow') {
            if (!opsflow) throw new Error('opsflow stack missing');
            const r: OpsflowRun = await opsflow.run(hosts, timeoutMs, () => (m1 = machineCpu()));
            record = baseRecord(tool, n, run, r.wallS, r.ok, r.succeededHosts, r.cpu.totalS, r.peakRssMiB, r.error);
            record.opsflow = r;
            if (r.refused !== undefined) {
              refusedSizes.set(n, r.refused);
              log(`opsflow refused ${n} hosts × ${opts.levels} steps as one task: ${r.refused} (not retried at this size)`);
            }
          } else {
            const r: PeerRun = await runPeer(tool, targets, hosts, opts.parallel, opts.levels, timeoutMs);
            record = baseRecord(tool, n, run, r.wallS, r.ok, r.succeededHosts, r.cpu.totalS, r.peakRssMiB, r.error);
            record.peer = r;
          }
          m1 ??= machineCpu();
          // sshd's session processes count in its tree once they have exited: let them.
          await new Promise((r) => setTimeout(r, 800));
          record.targetsCpuS = round(targets.cpuSeconds() - sshd0);
          record.machineBusyS = round(m1.busyS - m0.busyS);
          record.machineOtherS = round(record.machineBusyS - record.clientCpuS - record.targetsCpuS);
          record.load1AtStart = load0;
          records.push(record);
          log(
            `${tool.padEnd(12)} ${String(n).padStart(4)} hosts run ${run}: ${record.wallS.toFixed(2)} s, client CPU ${record.clientCpuS.toFixed(2)} s, ` +
              `sshd CPU ${record.targetsCpuS.toFixed(2)} s, other CPU ${record.machineOtherS.toFixed(2)} s, ` +
              `${record.succeededHosts}/${n} ok${record.ok ? '' : ` — FAILED: ${record.error ?? '?'}`}`,
          );
        }
      }
    }
    const result: BenchResult = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', kernel: os.release(), memGiB: Math.round(os.totalmem() / 2 ** 30), loadAtStart },
      versions,
      config: { hosts: opts.hosts, levels: opts.levels, runs: opts.runs, ansibleRuns: opts.ansibleRuns, parallel: opts.parallel, command: 'uname -a', tools, sshdProcesses: targets.processes },
      invocation: `npm run bench -- ${process.argv.slice(2).filter((a, i, all) => a !== '--results-dir' && a !== '--source' && all[i - 1] !== '--results-dir' && all[i - 1] !== '--source').join(' ')}`.trim(),
      loadAtEnd: loadAverage(),
      durationS: round((Date.now() - started) / 1000),
      runs: records,
    };
    if (opts.save) {
      const files = writeReports(opts.resultsDir, result);
      log(`wrote ${files.join(', ')}`);
    } else {
      fs.mkdirSync(opts.resultsDir, { recursive: true });
      const tmp = path.join(opts.resultsDir, `${resultBaseName(result)}.json.tmp`);
      fs.writeFileSync(tmp, JSON.stringify(result, null, 2));
      log(`--no-save: raw results in ${tmp}`);
    }
  } finally {
    await cleanup();
  }
}

function baseRecord(tool: Tool, hosts: number, run: number, wallS: number, ok: boolean, succeededHosts: number, clientCpuS: number, peakRssMiB: number, error?: string): RunRecord {
  return {
    tool,
    hosts,
    run,
    wallS: round(wallS),
    ok,
    succeededHosts,
    clientCpuS: round(clientCpuS),
    peakRssMiB: round(peakRssMiB, 1),
    targetsCpuS: 0,
    machineBusyS: 0,
    machineOtherS: 0,
    load1AtStart: 0,
    ...(error !== undefined ? { error } : {}),
  };
}

/**
 * Other work on the machine (someone's test run) skews a run: wait, bounded, until less than a
 * quarter of a core is busy over one second. The run records the other CPU it saw anyway.
 */
async function waitForQuiet(maxWaitMs: number): Promise<{ waitedS: number; busyCores: number }> {
  const t0 = Date.now();
  let busyCores = 0;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpu();
    busyCores = (b.busyS - a.busyS) / ((b.totalS - a.totalS) / os.cpus().length || 1);
    const waitedS = (Date.now() - t0) / 1000 - 1;
    if (busyCores < 0.25 || Date.now() - t0 >= maxWaitMs) return { waitedS, busyCores };
  }
}

function git(args: string[], cwd = path.join(__dirname, '..')): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}

/** HEAD plus the engine files that differ from it in the working tree. */
function workingTreeSource(): string {
  try {
    const head = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src', 'workflows', 'activities', 'test/support'])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return dirty.length ? `working tree at ${head} + uncommitted changes in ${dirty.join(', ')}` : `${head} (clean working tree)`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Exports `rev` to a temp dir, adds this bench/ and node_modules, and runs the bench there. */
function runExported(rev: string, argv: string[], resultsDir: string, say: (line: string) => void): number {
  const root = path.join(__dirname, '..');
  const commit = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-src-'));
  try {
    say(`exporting ${commit.slice(0, 12)} to ${dir}`);
    execFileSync('bash', ['-c', 'git archive "$1" | tar -x -C "$2"', 'export', commit, dir], { cwd: root, stdio: 'inherit' });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.rmSync(path.join(dir, 'bench'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'bench'));
    for (const entry of ['run.ts', 'lib']) fs.cpSync(path.join(__dirname, entry), path.join(dir, 'bench', entry), { recursive: true });
    fs.symlinkSync(path.join(__dirname, '.venv'), path.join(dir, 'bench', '.venv'));
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--commit' || argv[i] === '--results-dir' || argv[i] === '--source') i++;
      else rest.push(argv[i] as string);
    }
    const subject = git(['log', '-1', '--format=%s', commit]);
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, path.join(dir, 'bench', 'run.ts'), ...rest, '--results-dir', resultsDir, '--source', `${commit.slice(0, 12)} (${subject})`],
      { cwd: dir, stdio: 'inherit' },
    );
    return child.status ?? 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function sshVersion(): string {
  try {
    return spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
  } catch {
    return '?';
  }
}

main().then(
  () => process.exit(), // process.exitCode, 0 unless set
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
