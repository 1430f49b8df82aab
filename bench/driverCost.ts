// What the step driver costs on the target, without SSH, PostgreSQL or Temporal in the way: the
// CPU (user + sys of every process it starts) of batches of 5 `uname -a` steps run by the driver
// under this machine's /bin/sh, against the same steps run the way a peer's SSH channel runs
// them (one `sh -c 'uname -a'` per step). This is the target-side part of the 500 × 5 goal
// (bench/results/*-evening-analysis.md): the rest of sshd's CPU (handshakes, channels) is the same
// for every tool. `--commit rev` adds the driver as it was at rev, to show a change side by side.
//
//   npm run bench:driver -- [--shell /bin/sh] [--batches 200] [--runs 3] [--commit rev]... [--no-save]
//
// Results: bench/results/<date>-driver-cost-<shell>.md (and .json).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as shipped from '../activities/ssh/driver';
import { integerArg } from './lib/args';
import { loadAverage } from './lib/proc';
import { median } from './lib/report';

interface Options {
  /** The exec user's login shell: sshd runs the channel's command with it, and so does the driver each step. */
  shell: string;
  batches: number;
  runs: number;
  commits: string[];
  save: boolean;
}

/** The driver's command for a batch; before the journal (9a8bf61 and older) it took the command lines only. */
type DriverCommand = ((taskJournal: string, steps: readonly { journal: string; command: string }[]) => string) | ((commands: readonly string[]) => string);

interface DriverModule {
  driverCommand: DriverCommand;
}

function batchScript(driver: DriverModule, batch: number): string {
  const steps = Array.from({ length: STEPS }, (_, s) => ({ journal: `${batch * STEPS + s}-1`, command: COMMAND }));
  const make = driver.driverCommand;
  if (make.length === 1) return (make as (commands: readonly string[]) => string)(steps.map((s) => s.command));
  return (make as (taskJournal: string, batch: typeof steps) => string)('1-1764770000000000', steps);
}

const STEPS = 5;
const COMMAND = 'uname -a';
const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv: string[]): Options {
  const o: Options = { shell: '/bin/sh', batches: 200, runs: 3, commits: [], save: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (max: number): number => integerArg(String(flag), argv[++i], max);
    if (flag === '--batches') o.batches = value(10_000);
    else if (flag === '--runs') o.runs = value(20);
    else if (flag === '--commit') o.commits.push(String(argv[++i]));
    else if (flag === '--shell') o.shell = String(argv[++i]);
    else if (flag === '--no-save') o.save = false;
    else throw new Error(`unknown argument ${flag} (npm run bench:driver -- [--shell /bin/sh] [--batches 200] [--runs 3] [--commit rev]... [--no-save])`);
  }
  return o;
}

/** The driver module of a commit, copied with what it imports into a temp dir. */
async function driverAt(commit: string, dir: string): Promise<DriverModule> {
  const at = path.join(dir, `driver-${commit.replace(/[^A-Za-z0-9]/g, '_')}`);
  fs.mkdirSync(at);
  for (const file of ['driver.ts', 'remote-script.ts']) {
    fs.writeFileSync(path.join(at, file), execFileSync('git', ['show', `${commit}:activities/ssh/${file}`], { cwd: ROOT }));
  }
  return (await import(path.join(at, 'driver.ts'))) as DriverModule;
}

/** Writes one script per batch (each batch its own step journals) and the stdin they read. */
function writeBatches(dir: string, driver: DriverModule | null, batches: number): void {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'stdin'), ['nonce0123456789abcdef0123', ...Array<string>(STEPS).fill('go'), 'end', ''].join('\n'));
  for (let b = 0; b < batches; b++) {
    const script = driver ? batchScript(driver, b) : Array<string>(STEPS).fill(`"$SHELL" -c '${COMMAND}'`).join('\n');
    fs.writeFileSync(path.join(dir, `${String(b).padStart(6, '0')}.sh`), script);
  }
}

/** CPU seconds (user + sys) of everything the batches started, from bash's `times`. */
function runBatches(dir: string, home: string, shell: string): number {
  const loop = `for f in "${dir}"/*.sh; do "$SHELL" "$f" <"${dir}/stdin" >/dev/null 2>&1; done; times`;
  const out = execFileSync('bash', ['-c', loop], { env: { PATH: process.env.PATH, HOME: home, SHELL: shell }, encoding: 'utf8' });
  const children = out.trim().split('\n').at(-1)!; // "0m1.234s 0m0.567s": user and sys of children
  const seconds = children.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    if (!m) throw new Error(`cannot read bash's times: ${out}`);
    return Number(m[1]) * 60 + Number(m[2]);
  });
  return seconds[0]! + seconds[1]!;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const loadAtStart = loadAverage();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-driver-cost-'));
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  const variants: { name: string; driver: DriverModule | null }[] = [
    { name: `one \`${opts.shell} -c '${COMMAND}'\` per step (as a peer's channel)`, driver: null },
    { name: 'opsflow driver (this tree)', driver: shipped },
  ];
  for (const commit of opts.commits) variants.push({ name: `opsflow driver at ${commit}`, driver: await driverAt(commit, tmp) });

  const rows: { name: string; msPerStep: number[] }[] = [];
  try {
    for (const [i, v] of variants.entries()) {
      const dir = path.join(tmp, `v${i}`);
      writeBatches(dir, v.driver, opts.batches);
      const msPerStep: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        msPerStep.push((runBatches(dir, home, opts.shell) * 1000) / (opts.batches * STEPS));
        const left = fs.existsSync(path.join(home, '.opsflow', 'journal')) ? fs.readdirSync(path.join(home, '.opsflow', 'journal')) : [];
        if (left.length > 0) throw new Error(`${v.name} left journals behind: ${left.join(', ')}`);
      }
      rows.push({ name: v.name, msPerStep });
      console.log(`[driver-cost] ${v.name}: ${msPerStep.map((x) => x.toFixed(2)).join(', ')} ms of CPU per step`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const date = new Date().toISOString().slice(0, 10);
  const command = `npm run bench:driver -- ${process.argv.slice(2).join(' ')}`.trim();
  const sh = fs.realpathSync(opts.shell);
  const base = rows[0]!;
  const text = [
    `# Step driver CPU on the target — ${date}`,
    '',
    `${opts.batches} batches of ${STEPS} steps \`${COMMAND}\`, each run by \`${sh}\` (the exec user's login shell: sshd starts the channel's command with it, and the driver each step) (stdin: the nonce, ${STEPS} × \`go\`, \`end\`), ${opts.runs} runs, medians. CPU = user + sys of every process the batches started (bash's \`times\`). Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Linux ${os.release()}, Node ${process.version}. Load average at start: ${loadAtStart.join(' ')}, at the end: ${loadAverage().join(' ')}.`,
    '',
    `Command: \`${command}\``,
    '',
    '| how the steps run | CPU per step (median) | more than one `sh -c` per step | every run |',
    '|---|---|---|---|',
    ...rows.map((r) => {
      const m = median(r.msPerStep)!;
      const extra = r === base ? '—' : `${(m - median(base.msPerStep)!).toFixed(2)} ms`;
      return `| ${r.name} | ${m.toFixed(2)} ms | ${extra} | ${r.msPerStep.map((x) => x.toFixed(2)).join(', ')} ms |`;
    }),
    '',
  ].join('\n');
  console.log(text);
  if (opts.save) {
    const dir = path.join(ROOT, 'bench', 'results');
    fs.writeFileSync(path.join(dir, `${date}-driver-cost-${path.basename(sh)}.md`), text);
    fs.writeFileSync(path.join(dir, `${date}-driver-cost-${path.basename(sh)}.json`), JSON.stringify({ date, options: opts, command, loadAtStart, loadAtEnd: loadAverage(), rows }, null, 2) + '\n');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
