// Other processes, as /proc (Linux) shows them: which program a pid runs, whether it is still the
// same process (pids are reused), and stopping one that is not our child.
import fs from 'node:fs';

/** A process: its pid plus its start time, so a reused pid is never mistaken for it. */
export interface ProcessId {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); null where there is no /proc. */
  started: string | null;
}

/** Whether this system lets us look at other processes (/proc); without it nothing is recognised. */
export function canInspectProcesses(): boolean {
  return fs.existsSync('/proc/self/cmdline');
}

/** The fields of /proc/<pid>/stat after the command name (state, ppid, …), or null. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function identify(pid: number): ProcessId {
  return { pid, started: statFields(pid)?.[19] ?? null };
}

/**
 * Some thread of it still runs. A process whose main thread has exited shows as a zombie ('Z')
 * while its other threads shut down (a Go program after SIGTERM): that is still running.
 */
function hasLiveThreads(pid: number, state: string | undefined): boolean {
  if (state !== 'Z') return true;
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) > 1;
  } catch {
    return false;
  }
}

/** The process exists, is not (wholly) a zombie and (where known) started when it did before. */
export function isRunning(id: ProcessId): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  const fields = statFields(id.pid);
  if (fields) return (id.started === null || fields[19] === id.started) && hasLiveThreads(id.pid, fields[0]);
  if (canInspectProcesses()) return false; // no /proc entry: gone
  try {
    process.kill(id.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, but another account's
  }
}

/** argv of a running process; null when it is gone, exiting (zombie main thread), or unknowable here. */
export function commandLine(pid: number): string[] | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.replace(/\0$/, '').split('\0') : null;
  } catch {
    return null;
  }
}

/** The value after `flag` in argv (`-D dir`, `--db-filename file`). */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForExit(id: ProcessId, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(id)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone meanwhile
  }
}

/** Signals a process that is not our child and waits until it is gone; SIGKILL after graceMs. */
export async function stopProcess(id: ProcessId, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isRunning(id)) return;
  send(id.pid, signal);
  if (await waitForExit(id, graceMs)) return;
  send(id.pid, 'SIGKILL');
  if (!(await waitForExit(id, 5_000))) throw new Error(`process ${id.pid} did not exit after SIGKILL`);
}
