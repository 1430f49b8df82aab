// The SSH targets: real OpenSSH sshd on loopback addresses 127.20.y.z (test/support/sshd.ts
// starts one sshd per 16 addresses, OpenSSH's limit of listen sockets per process). Nothing
// here ever names an address outside 127.0.0.0/8.
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdFixture } from '../../test/support/sshd';
import { treeCpuSeconds } from './proc';

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/**
 * Addresses per startSshd call (64 sshd processes): the fixture spawns its processes, binds
 * a probe port and connects to every address all at once, so 10,000 hosts start in slices.
 */
const ADDRESSES_PER_FIXTURE = 1024;
/** File descriptors the bench process needs per target host (its SSH socket, with headroom). */
const FDS_PER_HOST = 1.5;

export function assertLoopback(address: string): string {
  const m = LOOPBACK.exec(address);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new Error(`refusing non-loopback target ${address}`);
  return address;
}

/** n distinct loopback addresses: 127.20.0.1 … 127.20.0.250, 127.20.1.1 …, never .0 or .255. */
export function loopbackAddresses(n: number): string[] {
  if (n > 250 * 200) throw new Error(`too many hosts: ${n}`);
  return Array.from({ length: n }, (_, i) => assertLoopback(`127.20.${Math.floor(i / 250)}.${(i % 250) + 1}`));
}

export interface Targets {
  /** The first fixture: port, user, keys and fingerprint are the same for all. */
  sshd: SshdFixture;
  addresses: string[];
  keyFile: string;
  /** sshd listener processes. */
  processes: number;
  /** CPU seconds used so far by all sshd listeners and the session processes they forked. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startTargets(count: number): Promise<Targets> {
  checkFileLimit(count);
  const addresses = loopbackAddresses(count);
  const fixtures: SshdFixture[] = [];
  try {
    const first = await startSshd({ addresses: addresses.slice(0, ADDRESSES_PER_FIXTURE) });
    fixtures.push(first);
    // The other slices serve the same port and keys, so every host looks alike to the clients.
    for (let i = ADDRESSES_PER_FIXTURE; i < count; i += ADDRESSES_PER_FIXTURE) {
      fixtures.push(
        await startSshd({
          addresses: addresses.slice(i, i + ADDRESSES_PER_FIXTURE),
          port: first.port,
          hostKey: first.hostPrivateKey,
          clientKey: first.clientPrivateKey,
        }),
      );
    }
  } catch (err) {
    await Promise.all(fixtures.map((f) => f.stop()));
    throw err;
  }
  const sshd = fixtures[0] as SshdFixture;
  const keyFile = path.join(sshd.dir, 'client_ed25519');
  const pids = fixtures.flatMap((f) =>
    fs
      .readdirSync(f.dir)
      .filter((name) => /^sshd-\d+\.pid$/.test(name))
      .map((name) => Number(fs.readFileSync(path.join(f.dir, name), 'utf8').trim()))
      .filter((p) => Number.isInteger(p) && p > 0),
  );
  return {
    sshd,
    addresses,
    keyFile,
    processes: pids.length,
    cpuSeconds: () => treeCpuSeconds(pids),
    stop: async () => {
      await Promise.all(fixtures.map((f) => f.stop()));
    },
  };
}

/** Fails early, naming the fix, when `ulimit -n` cannot hold a socket per host. */
function checkFileLimit(count: number): void {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m) soft = Number(m[1]);
  } catch {
    return; // not Linux: let it fail later if it must
  }
  const needed = Math.ceil(count * FDS_PER_HOST) + 512;
  if (soft < needed) throw new Error(`${count} hosts need about ${needed} open files; ulimit -n is ${soft}: raise it (ulimit -n ${needed}) and rerun`);
}
