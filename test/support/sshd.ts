// Test fixture: real OpenSSH sshd listening on 127.0.0.x loopback addresses; the measured
// reasons for its settings are in docs/engine.md#sshd-test-fixture.
// Keys, authorized_keys and configs are generated per fixture in a temp dir.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SSHD = '/usr/sbin/sshd';
// "Too many listen sockets" above 16 ListenAddress lines per process (OpenSSH 9.2).
const MAX_ADDRESSES_PER_SSHD = 16;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const run = promisify(execFile);

export interface StartSshdOptions {
  /** Loopback addresses (127.0.0.x) to listen on; one sshd per 16 addresses. */
  addresses: string[];
  /** Same port on every address; a free one is picked when omitted. */
  port?: number;
  /** Working dir for keys/configs; a temp dir (removed on stop) when omitted. */
  dir?: string;
  /** Host private key (OpenSSH PEM) to serve instead of a fresh one. */
  hostKey?: string;
  /** Client private key (OpenSSH PEM) to authorize instead of a fresh one. */
  clientKey?: string;
  /** Accounts that may also log in with their password (off for everyone else). */
  passwordLogins?: string[];
}

export interface SshdFixture {
  readonly port: number;
  readonly addresses: readonly string[];
  readonly username: string;
  readonly dir: string;
  /** OpenSSH-format ed25519 private key that ssh2 accepts. */
  readonly clientPrivateKey: string;
  readonly clientPublicKey: string;
  /** Change after restartWithNewHostKey(). */
  hostPrivateKey: string;
  hostPublicKey: string;
  /** 'SHA256:...' as `ssh-keygen -l` prints it. */
  hostFingerprint: string;
  /** Restart on the same addresses and port with a freshly generated host key. */
  restartWithNewHostKey(): Promise<void>;
  /** Stop the listeners and the connections they serve; waits for exit. */
  stop(): Promise<void>;
}

interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export async function startSshd(opts: StartSshdOptions): Promise<SshdFixture> {
  if (!existsSync(SSHD)) {
    throw new Error(`OpenSSH server not found at ${SSHD}: install it with \`apt-get install -y openssh-server\``);
  }
  if (opts.addresses.length === 0) throw new Error('startSshd: at least one address is required');
  for (const a of opts.addresses) {
    // Tests must never listen on (or send traffic to) anything but loopback.
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a)) throw new Error(`startSshd: ${a} is not a 127.0.0.0/8 address`);
  }
  // sshd refuses to start as root without its privilege-separation dir.
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined);

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'opsflow-sshd-')));
  await mkdir(dir, { recursive: true });
  const hostKey = await writeKeyPair(join(dir, 'host_ed25519'), opts.hostKey);
  const clientKey = await writeKeyPair(join(dir, 'client_ed25519'), opts.clientKey);
  await writeFile(join(dir, 'authorized_keys'), clientKey.publicKey + '\n', { mode: 0o600 });

  let port = opts.port ?? (await pickFreePort(opts.addresses));
  let procs = await startProcesses(dir, opts.addresses, port, opts.port === undefined, opts.passwordLogins ?? []).catch(async (err: unknown) => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  });
  port = procs.port;

  const fixture: SshdFixture = {
    port,
    addresses: [...opts.addresses],
    username: userInfo().username,
    dir,
    clientPrivateKey: clientKey.privateKey,
    clientPublicKey: clientKey.publicKey,
    hostPrivateKey: hostKey.privateKey,
    hostPublicKey: hostKey.publicKey,
    hostFingerprint: fingerprintOf(hostKey.publicKey),
    async restartWithNewHostKey() {
      await stopProcesses(procs.children);
      await rm(join(dir, 'host_ed25519'), { force: true });
      await rm(join(dir, 'host_ed25519.pub'), { force: true });
      const fresh = await writeKeyPair(join(dir, 'host_ed25519'));
      procs = await startProcesses(dir, fixture.addresses, port, false, opts.passwordLogins ?? []);
      fixture.hostPrivateKey = fresh.privateKey;
      fixture.hostPublicKey = fresh.publicKey;
      fixture.hostFingerprint = fingerprintOf(fresh.publicKey);
    },
    async stop() {
      await stopProcesses(procs.children);
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** 'SHA256:<base64, no padding>' of an OpenSSH public key line, like `ssh-keygen -l`. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

async function writeKeyPair(path: string, privateKey?: string): Promise<KeyPair> {
  if (privateKey === undefined) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsflow-test', '-f', path]);
  } else {
    await writeFile(path, privateKey.endsWith('\n') ? privateKey : privateKey + '\n', { mode: 0o600 });
    await chmod(path, 0o600);
    const { stdout } = await run('ssh-keygen', ['-y', '-f', path]);
    await writeFile(path + '.pub', stdout);
  }
  return {
    privateKey: await readFile(path, 'utf8'),
    publicKey: (await readFile(path + '.pub', 'utf8')).trim(),
  };
}

function sshdConfig(dir: string, index: number, addresses: string[], port: number, passwordLogins: readonly string[]): string {
  return [
    `Port ${port}`,
    ...addresses.map((a) => `ListenAddress ${a}`),
    `HostKey ${join(dir, 'host_ed25519')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, `sshd-${index}.pid`)}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UseDNS no',
    'UsePAM no',
    'StrictModes no',
    'PrintMotd no',
    'PrintLastLog no',
    // Defaults (10:30:100, 10) drop parallel connects ("Connection lost before handshake").
    'MaxStartups 200:30:400',
    'MaxSessions 100',
    // Stops Debian bash from sourcing root's ~/.bashrc (pyenv init, ~0.2 CPU-s) per command.
    'SetEnv SHLVL=1',
    'LogLevel ERROR',
    // Match blocks must come last: everything after one belongs to it.
    ...(passwordLogins.length > 0 ? [`Match User ${passwordLogins.join(',')}`, '  PasswordAuthentication yes'] : []),
    '',
  ].join('\n');
}

interface Processes {
  port: number;
  children: ChildProcess[];
}

/** Starts one sshd per 16 addresses; retries on another port if an auto-picked one was taken meanwhile. */
async function startProcesses(
  dir: string,
  addresses: readonly string[],
  port: number,
  mayRepick: boolean,
  passwordLogins: readonly string[],
): Promise<Processes> {
  for (let attempt = 1; ; attempt++) {
    const chunks: string[][] = [];
    for (let i = 0; i < addresses.length; i += MAX_ADDRESSES_PER_SSHD) {
      chunks.push(addresses.slice(i, i + MAX_ADDRESSES_PER_SSHD));
    }
    const settled = await Promise.allSettled(chunks.map((chunk, i) => startOne(dir, i, chunk, port, passwordLogins)));
    const children = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure === undefined) return { port, children };
    await stopProcesses(children);
    const err: unknown = failure.reason;
    const bindFailed = err instanceof Error && /Bind to port|Cannot bind|Address already in use/.test(err.message);
    if (!mayRepick || !bindFailed || attempt >= 5) throw err;
    port = await pickFreePort(addresses);
  }
}

async function startOne(
  dir: string,
  index: number,
  addresses: string[],
  port: number,
  passwordLogins: readonly string[],
): Promise<ChildProcess> {
  const configPath = join(dir, `sshd-${index}.conf`);
  const pidPath = join(dir, `sshd-${index}.pid`);
  await rm(pidPath, { force: true });
  await writeFile(configPath, sshdConfig(dir, index, addresses, port, passwordLogins));

  const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-8192); // keep the tail for error messages only
  });
  trackUntilExit(child);

  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`sshd exited during startup (code ${code}, signal ${signal}): ${stderr.trim()}`)),
    );
    child.once('error', reject);
  });
  exited.catch(() => undefined); // only observed through the race below

  try {
    // sshd writes its PidFile after all listen sockets were bound (or failed to bind).
    await Promise.race([exited, waitFor(() => existsSync(pidPath) && statSync(pidPath).size > 0, `sshd pid file ${pidPath}`)]);
    await Promise.race([exited, Promise.all(addresses.map((a) => waitFor(() => acceptsTcp(a, port), `${a}:${port}`)))]);
    if (/Bind to port|Cannot bind/.test(stderr)) throw new Error(`sshd could not bind: ${stderr.trim()}`);
  } catch (err) {
    await stopProcesses([child]);
    throw err;
  }
  return child;
}

// If the test process dies without stop(), don't leave sshd behind (one hook for all fixtures).
const running = new Set<ChildProcess>();
function trackUntilExit(child: ChildProcess): void {
  if (running.size === 0) process.once('exit', killAllRunning);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) process.removeListener('exit', killAllRunning);
  });
}
function killAllRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** SIGTERM the listeners and the per-connection sshd processes they forked, then wait for exit. */
async function stopProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const sessions = await childPids(child.pid);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      for (const pid of sessions) killQuietly(pid, 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }),
  );
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Direct children of pid, from /proc (Linux). */
async function childPids(pid: number): Promise<number[]> {
  const result: number[] = [];
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the last ')' (comm may contain spaces): state ppid ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) result.push(Number(entry));
  }
  return result;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`sshd fixture: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port free on every address: the OS picks one on the first address, the others are checked. */
async function pickFreePort(addresses: readonly string[]): Promise<number> {
  const [first, ...rest] = addresses as [string, ...string[]];
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(first, 0);
    if (port === null) continue;
    const others = await Promise.all(rest.map((a) => listenOnce(a, port)));
    if (others.every((p) => p !== null)) return port;
  }
  throw new Error(`sshd fixture: no port free on all of ${addresses.join(', ')}`);
}

/** Binds host:port briefly; returns the bound port, or null when it is taken. */
function listenOnce(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}
