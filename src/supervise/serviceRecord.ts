// A service opsflow starts (embedded PostgreSQL, Temporal dev server) is recorded in a pid file in
// the data dir: the service's process and the opsflow process that owns it. At the next start a
// still-running service of this data dir is then either in use by a live opsflow process (leave
// it alone) or an orphan whose owner died without stopping it (kill -9, OOM): stop and replace it.
import fs from 'node:fs';
import { commandLine, identify, isRunning, type ProcessId } from './processes';

export interface ServiceRecord {
  service: ProcessId;
  owner: ProcessId;
}

/** Records that this process started `pid`. */
export function writeServiceRecord(file: string, pid: number): void {
  const record: ServiceRecord = { service: identify(pid), owner: identify(process.pid) };
  fs.writeFileSync(file, JSON.stringify(record) + '\n', { mode: 0o600 });
}

export function readServiceRecord(file: string): ServiceRecord | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ServiceRecord>;
    const valid = (p: unknown): p is ProcessId =>
      typeof p === 'object' && p !== null && Number.isInteger((p as ProcessId).pid) && ['string', 'object'].includes(typeof (p as ProcessId).started);
    return valid(parsed.service) && valid(parsed.owner) ? { service: parsed.service, owner: parsed.owner } : null;
  } catch {
    return null; // missing, or not ours to understand: as if there were none
  }
}

/** Removes the record if it still names `pid` (another process may have replaced it since). */
export function removeServiceRecord(file: string, pid: number): void {
  if (readServiceRecord(file)?.service.pid === pid) fs.rmSync(file, { force: true });
}

export type Leftover =
  /** In use by a live opsflow process. */
  | { kind: 'owned'; process: ProcessId; ownerPid: number }
  /** Its owner is gone (or unknown): nobody will stop it. */
  | { kind: 'orphan'; process: ProcessId };

/**
 * A running process `pid` that is this data dir's service (`isOurs` checks its command line, which
 * names the data path), with who owns it; null when there is none or it cannot be told here.
 */
export function findLeftover(pid: number | undefined, recordFile: string, isOurs: (argv: string[]) => boolean): Leftover | null {
  if (pid === undefined) return null;
  const running = identify(pid);
  const record = readServiceRecord(recordFile);
  const recorded = record !== null && record.service.pid === pid && running.started !== null && record.service.started === running.started;
  const argv = commandLine(pid);
  // While it exits its command line is gone; pid and start time as recorded still identify it.
  if (argv ? !isOurs(argv) : !(recorded && isRunning(running))) return null;
  if (recorded && isRunning(record.owner)) {
    return { kind: 'owned', process: running, ownerPid: record.owner.pid };
  }
  return { kind: 'orphan', process: running };
}
