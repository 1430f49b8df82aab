// Shared bits for the SSH tests: pinned connections to the fixture and local process checks
// (the "remote" hosts are loopback sshd instances, so their processes are visible here).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { openSshConnection, type SshConnection } from '../../../activities/ssh';
import type { SshdFixture } from '../../support/sshd';

const run = promisify(execFile);

export function connectPinned(fx: SshdFixture, host: string, fingerprint = fx.hostFingerprint): Promise<SshConnection> {
  return openSshConnection({
    host,
    port: fx.port,
    username: fx.username,
    privateKey: fx.clientPrivateKey,
    readyTimeoutMs: 10_000,
    verifyHostKey: (key) => key.fingerprint === fingerprint,
  });
}

/** A unique `sleep` duration like 300.123456, so its processes can be found by command line. */
export function uniqueSleepSeconds(): string {
  return `300.${parseInt(randomBytes(3).toString('hex'), 16)}`;
}

/** PIDs whose command line contains `marker` (pgrep -f; zombies have no command line). */
export async function pidsMatching(marker: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', marker]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

/** Removes leftovers of a test by PID (only processes carrying that test's unique marker). */
export async function killLeftovers(marker: string): Promise<void> {
  for (const pid of await pidsMatching(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
