// The real opsflow CLI as a child process, and what it leaves running: for tests that start
// `opsflow start` (or `npm start`) in a temp data dir and stop or kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../src/config';

export const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'src', 'main.ts');
export const READY_LINE = 'Press Ctrl+C to stop.';

export interface Ports {
  PORT: number;
  OPSFLOW_PG_PORT: number;
  OPSFLOW_TEMPORAL_PORT: number;
  TEMPORAL_UI_PORT: number;
}

/** The test's environment without any opsflow setting, plus the given ones. */
export function opsflowEnv(settings: Record<string, string | number>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete env[name];
  for (const [name, value] of Object.entries(settings)) env[name] = String(value);
  return env;
}

export interface OpsflowOptions {
  stdin?: string;
  /** Defaults to what `npm start` execs: one node process with tsx's loader. */
  program?: string[];
  /** Its own process group, as a terminal's foreground job has (signal it with -pid). */
  detached?: boolean;
}

export class Opsflow {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv, opts: OpsflowOptions = {}) {
    const [command, ...prefix] = (opts.program ?? [process.execPath, '--import', 'tsx', MAIN]) as [string, ...string[]];
    const stdin = opts.stdin;
    this.child = spawn(command, [...prefix, ...args], { cwd: ROOT, env, detached: opts.detached ?? false, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) this.child.stdin?.end(stdin);
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until stdout contains text; fails with the output if the process exits or time runs out. */
  async waitForStdout(text: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stdout.includes(text)) {
      if (!this.running) throw new Error(`opsflow exited before printing "${text}":\n${this.stderr}\n${this.stdout}`);
      if (Date.now() > deadline) throw new Error(`opsflow did not print "${text}" within ${ms} ms:\n${this.stderr}\n${this.stdout}`);
      await sleep(100);
    }
  }

  /** SIGKILLs it and everything it started (test clean-up). */
  async kill(): Promise<void> {
    if (!this.running) return;
    const tree = descendants(this.child.pid!);
    this.child.kill('SIGKILL');
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}

/** Runs a short CLI command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = new Opsflow(args, env, { stdin });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 45_000);
  const { code } = await run.exited;
  clearTimeout(timer);
  return { code, stdout: run.stdout, stderr: run.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** pid → parent pid for every process, from /proc (Linux). */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      table.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

export function descendants(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** A process that exists and is not a zombie (a zombie main thread with other threads still running counts as alive). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') return true;
    return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) > 1;
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line names the dir (postgres -D <dir>/pg, temporal --db-filename <dir>/…). */
export function pidsNaming(dir: string): number[] {
  return [...processTable().keys()].filter((pid) => pid !== process.pid && alive(pid) && commandLine(pid).includes(dir));
}

/** Command lines of the processes naming the dir. */
export function processesNaming(dir: string): string[] {
  return pidsNaming(dir).map(commandLine);
}

export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}
