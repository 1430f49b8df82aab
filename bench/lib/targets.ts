// The SSH targets: real OpenSSH sshd on loopback addresses 127.20.y.z (test/support/sshd.ts
// starts one sshd per 16 addresses). Nothing here ever names an address outside 127.0.0.0/8.
import fs from 'node:fs';
import path from 'node:path';
import { startSshd, type SshdFixture } from '../../test/support/sshd';
import { treeCpuSeconds } from './proc';

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

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
  sshd: SshdFixture;
  addresses: string[];
  keyFile: string;
  /** CPU seconds used so far by all sshd listeners and the session processes they forked. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startTargets(count: number): Promise<Targets> {
  const addresses = loopbackAddresses(count);
  const sshd = await startSshd({ addresses });
  const keyFile = path.join(sshd.dir, 'client_ed25519');
  const listenerPids = (): number[] =>
    fs
      .readdirSync(sshd.dir)
      .filter((f) => /^sshd-\d+\.pid$/.test(f))
      .map((f) => Number(fs.readFileSync(path.join(sshd.dir, f), 'utf8').trim()))
      .filter((p) => Number.isInteger(p) && p > 0);
  const pids = listenerPids();
  return {
    sshd,
    addresses,
    keyFile,
    cpuSeconds: () => treeCpuSeconds(pids),
    stop: () => sshd.stop(),
  };
}
