// CPU and memory accounting from /proc (Linux): per process tree, per machine, and the
// bench process's own peak RSS.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | null = null;
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds: own CPU plus that of reaped children. */
  cpuS: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone
  }
  // Fields after the last ')' (comm may contain spaces): state ppid pgrp ... utime(14) stime cutime cstime.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (field: number): number => Number(rest[field - 3]);
  return { pid, ppid: num(4), cpuS: (num(14) + num(15) + num(16) + num(17)) / clockTicks() };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) out.push(s);
  }
  return out;
}

/**
 * CPU seconds of the trees rooted at `roots`: for every live process in them, its own CPU
 * plus what its reaped children used. Deltas of this are exact for trees whose short-lived
 * children (PostgreSQL backends, sshd sessions) are reaped inside the tree.
 */
export function treeCpuSeconds(roots: readonly number[]): number {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const seen = new Set<number>();
  let total = 0;
  const stack = roots.filter((p) => byPid.has(p));
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += byPid.get(pid)?.cpuS ?? 0;
    for (const c of children.get(pid) ?? []) stack.push(c.pid);
  }
  return total;
}

/** Live processes whose command line contains `needle` (e.g. a temp dir only we use). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** Own CPU (utime + stime, without children) of each pid, in seconds. */
export function ownCpuSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / clockTicks();
    } catch {
      // gone
    }
  }
  return total;
}

/** Whole-machine CPU: busy and total seconds summed over all cores since boot. */
export function machineCpu(): { busyS: number; totalS: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busyS: busy / clockTicks(), totalS: (busy + idle + iowait) / clockTicks() };
}

/** Resets this process's peak RSS (VmHWM) so the next reading covers one run only. */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** This process's peak RSS since the last reset, in MiB. */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function loadAverage(): number[] {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return [];
  }
}
