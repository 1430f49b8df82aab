// Runs `temporal server start-dev` as a child process we own.
import { spawn } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { portIsOpen } from '../db/embedded';
import { flagValue, stopProcess } from '../supervise/processes';
import { findLeftover, readServiceRecord, removeServiceRecord, writeServiceRecord } from '../supervise/serviceRecord';
import { stopWithUs } from '../supervise/watchdog';
import { DEV_SERVER_SEARCH_ATTRIBUTE_FLAGS } from './searchAttributes';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; null = headless. */
  uiPort: number | null;
  /** SQLite file for durable state; null = in memory (tests). */
  dbFile: string | null;
  /**
   * Pid file recording the server and its owner (with a dbFile only): a server of this dbFile left
   * running by an opsflow process that died is then stopped and replaced (its state is in the file).
   */
  pidFile?: string;
  namespace: string;
  /** SQLite pragmas for a dbFile (default DB_FILE_PRAGMAS); ignored in memory. */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** More `--dynamic-config-value KEY=VALUE` settings (VALUE as JSON), e.g. rate limits for a benchmark. */
  dynamicConfig?: Readonly<Record<string, string | number | boolean>>;
  /** Called with notices worth showing a person (default: stderr). */
  onNotice?: (line: string) => void;
  onLog?: (line: string) => void;
}

/**
 * The dev server opens its file with SQLite's defaults: a rollback journal with several fsyncs per
 * commit on one connection, which caps it at a few dozen workflow tasks a second on an ordinary
 * disk. WAL keeps every commit durable (synchronous FULL: the log is synced at each commit) with
 * one sync instead of several (docs/engine.md#timers).
 */
export const DB_FILE_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'full' };

export interface RunningDevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push(...(opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort)]));
  if (opts.dbFile) {
    args.push('--db-filename', opts.dbFile);
    for (const [pragma, value] of Object.entries(opts.sqlitePragmas ?? DB_FILE_PRAGMAS)) args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const flag of DEV_SERVER_SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  // Let dev-server workflows handle many updates and keep histories readable.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  const { dbFile, pidFile } = opts;
  if (dbFile && pidFile) await replaceOrphan(dbFile, pidFile, opts.onNotice ?? ((line) => process.stderr.write(`${line}\n`)));
  if (await portIsOpen(opts.port)) {
    throw new Error(`port ${opts.port} is already in use: stop the other Temporal server or set TEMPORAL_ADDRESS to use it`);
  }
  // Its own session: a terminal's Ctrl+C or hangup reaches only opsflow, which stops it in order.
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid !== undefined) {
    const pid = child.pid;
    if (pidFile) writeServiceRecord(pidFile, pid);
    const release = stopWithUs(pid, 'TERM');
    child.once('exit', () => {
      release();
      if (pidFile) removeServiceRecord(pidFile, pid);
    });
  }
  let output = '';
  const collect = (d: Buffer): void => {
    const text = d.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.onLog?.(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  while (!(await isReady(opts))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server did not start on port ${opts.port}:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode !== null) throw new Error(`Temporal dev server exited right after starting on port ${opts.port}:\n${output.trim()}`);
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: opts.uiPort === null ? null : `http://127.0.0.1:${opts.uiPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Ready once its Web UI port is open and its port answers as a Temporal frontend. An open port
 * alone is not enough: another process (another dev server's internal service, which binds a port
 * the kernel hands out) may hold it, and then our server fails to bind and exits.
 */
async function isReady(opts: DevServerOptions): Promise<boolean> {
  if (opts.uiPort !== null && !(await portIsOpen(opts.uiPort))) return false;
  return (await portIsOpen(opts.port)) && (await answersAsTemporalFrontend(`127.0.0.1:${opts.port}`));
}

/**
 * Whether address answers the WorkflowService's GetSystemInfo. Not Connection.connect(): it takes
 * UNIMPLEMENTED as an old server, which is just what any other gRPC server answers.
 */
export async function answersAsTemporalFrontend(address: string): Promise<boolean> {
  const connection = Connection.lazy({ address, interceptors: [] });
  try {
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/**
 * A dev server on this dbFile that an opsflow process left running when it died is stopped (its
 * state is in the file, so workflows go on under the new one). One that a live opsflow process
 * runs is an error: two servers on one SQLite file would corrupt it.
 */
async function replaceOrphan(dbFile: string, pidFile: string, notice: (line: string) => void): Promise<void> {
  const found = findLeftover(readServiceRecord(pidFile)?.service.pid, pidFile, (argv) => argv.includes('start-dev') && flagValue(argv, '--db-filename') === dbFile);
  if (found?.kind === 'owned') {
    throw new Error(`the Temporal dev server of ${dbFile} (pid ${found.process.pid}) belongs to another running opsflow process (pid ${found.ownerPid}): stop that one first, or set TEMPORAL_ADDRESS to share its server`);
  }
  if (found?.kind === 'orphan') {
    notice(`Temporal dev server of ${dbFile} (pid ${found.process.pid}) was left running by an opsflow process that is gone: stopping it to start afresh`);
    await stopProcess(found.process, 'SIGTERM', 10_000);
  }
}
