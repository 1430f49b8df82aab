import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRemoteCommand } from '../../../activities/ssh';
import { startSshd, type SshdFixture } from '../../support/sshd';
import { connectPinned } from './helpers';

const run = promisify(execFile);
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

function tcpRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('sshd fixture', () => {
  let fx: SshdFixture;
  beforeAll(async () => {
    fx = await startSshd({ addresses: ADDRESSES });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('publishes the host key fingerprint exactly as ssh-keygen -l prints it', async () => {
    const { stdout } = await run('ssh-keygen', ['-l', '-f', `${fx.dir}/host_ed25519.pub`]);
    expect(stdout.split(' ')[1]).toBe(fx.hostFingerprint);
    expect(fx.hostFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fx.clientPrivateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
  });

  it('serves ssh on every address, same port, for the current user, without sourcing ~/.bashrc', async () => {
    expect(fx.addresses).toEqual(ADDRESSES);
    for (const host of ADDRESSES) {
      const conn = await connectPinned(fx, host);
      let out = '';
      const res = await runRemoteCommand(conn, 'echo "$(id -un) $SSH_CONNECTION $SHLVL"', {
        onOutput: (_s, c) => void (out += c.toString()),
      });
      await conn.close();
      expect(res.exitCode).toBe(0);
      const [user, , , server, port, shlvl] = out.trim().split(' ');
      expect({ user, server, port: Number(port), shlvl }).toEqual({ user: fx.username, server: host, port: fx.port, shlvl: '2' });
    }
  });

  it('runs several sshd processes for more than 16 addresses, and stop() frees them', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`);
    const big = await startSshd({ addresses: many });
    try {
      const { stdout } = await run('cat', [`${big.dir}/sshd-0.pid`, `${big.dir}/sshd-1.pid`]);
      expect(stdout.trim().split('\n')).toHaveLength(2);
      const conn = await connectPinned(big, '127.0.1.20');
      await conn.close();
    } finally {
      await big.stop();
    }
    expect(await tcpRefused('127.0.1.1', big.port)).toBe(true);
    expect(await tcpRefused('127.0.1.20', big.port)).toBe(true);
  });
});
