import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openSshConnection,
  runRemoteCommand,
  SshAuthError,
  SshHostKeyError,
  SshTransportError,
  type HostKeyInfo,
} from '../../../activities/ssh';
import { startSshd, type SshdFixture } from '../../support/sshd';
import { connectPinned } from './helpers';

const run = promisify(execFile);
const HOST = '127.0.0.5';

describe('openSshConnection', () => {
  let fx: SshdFixture;
  beforeAll(async () => {
    fx = await startSshd({ addresses: [HOST] });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('hands the verifier the key type, the ssh-keygen style fingerprint and the raw blob', async () => {
    const seen: HostKeyInfo[] = [];
    const conn = await openSshConnection({
      host: HOST,
      port: fx.port,
      username: fx.username,
      privateKey: fx.clientPrivateKey,
      verifyHostKey: async (key) => {
        seen.push(key);
        await new Promise((r) => setTimeout(r, 50)); // async verifiers (a DB lookup) are awaited
        return true;
      },
    });
    await conn.close();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.type).toBe('ssh-ed25519');
    expect(seen[0]?.fingerprint).toBe(fx.hostFingerprint);
    expect(seen[0]?.raw.toString('base64')).toBe(fx.hostPublicKey.split(' ')[1]);
    expect(conn.hostKey.fingerprint).toBe(fx.hostFingerprint);
    expect(conn.closed).toBe(true);
  });

  it('refusing the key yields SshHostKeyError naming host and fingerprint', async () => {
    const err = await connectPinned(fx, HOST, 'SHA256:someOtherKey').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshHostKeyError);
    const hkErr = err as SshHostKeyError;
    expect(hkErr.message).toContain(`${HOST}:${fx.port}`);
    expect(hkErr.message).toContain(fx.hostFingerprint);
    expect(hkErr.fingerprint).toBe(fx.hostFingerprint);
    expect(hkErr.keyType).toBe('ssh-ed25519');
  });

  it('a verifier that throws aborts the connect with its own error', async () => {
    const boom = new Error('known_hosts store unavailable');
    const err = await openSshConnection({
      host: HOST,
      port: fx.port,
      username: fx.username,
      privateKey: fx.clientPrivateKey,
      verifyHostKey: () => Promise.reject(boom),
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
  });

  it('a different host key on the same address:port is caught by a pinned fingerprint', async () => {
    const addr = '127.0.0.6';
    const first = await startSshd({ addresses: [addr] });
    const pinned = first.hostFingerprint;
    (await connectPinned(first, addr, pinned)).client.end();
    await first.stop();

    // An impostor: another sshd, new host key, same address and port.
    const second = await startSshd({ addresses: [addr], port: first.port, clientKey: first.clientPrivateKey });
    try {
      expect(second.hostFingerprint).not.toBe(pinned);
      const err = await connectPinned(second, addr, pinned).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshHostKeyError);
      expect((err as SshHostKeyError).message).toContain(second.hostFingerprint);

      // restartWithNewHostKey() does the same in place; a supplied host key brings the old one back.
      await second.restartWithNewHostKey();
      expect(await connectPinned(second, addr, pinned).catch((e: unknown) => e)).toBeInstanceOf(SshHostKeyError);
    } finally {
      await second.stop();
    }
    const original = await startSshd({ addresses: [addr], port: first.port, hostKey: first.hostPrivateKey, clientKey: first.clientPrivateKey });
    try {
      const conn = await connectPinned(original, addr, pinned);
      await conn.close();
    } finally {
      await original.stop();
    }
  });

  it('a key the server does not accept yields SshAuthError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opsflow-key-'));
    try {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const err = await openSshConnection({
        host: HOST,
        port: fx.port,
        username: fx.username,
        privateKey: await readFile(join(dir, 'k'), 'utf8'),
        verifyHostKey: () => true,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshAuthError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a password when the server only takes keys yields SshAuthError; a garbage key too', async () => {
    const base = { host: HOST, port: fx.port, username: fx.username, verifyHostKey: () => true };
    expect(await openSshConnection({ ...base, password: 'nope' }).catch((e: unknown) => e)).toBeInstanceOf(SshAuthError);
    expect(await openSshConnection({ ...base, privateKey: 'not a key' }).catch((e: unknown) => e)).toBeInstanceOf(SshAuthError);
  });

  it('connection refused yields SshTransportError (retryable)', async () => {
    const stopped = await startSshd({ addresses: ['127.0.0.7'] });
    await stopped.stop();
    const err = await connectPinned(stopped, '127.0.0.7').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshTransportError);
    expect((err as SshTransportError).code).toBe('ECONNREFUSED');
  });

  it('a server that never speaks SSH yields SshTransportError after readyTimeoutMs', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.7', r));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const started = Date.now();
    const err = await openSshConnection({
      host: '127.0.0.7',
      port,
      username: 'x',
      password: 'x',
      readyTimeoutMs: 500,
      verifyHostKey: () => true,
    }).catch((e: unknown) => e);
    silent.close();
    expect(err).toBeInstanceOf(SshTransportError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('one connection runs several commands one after another', async () => {
    const conn = await connectPinned(fx, HOST);
    try {
      for (let i = 0; i < 5; i++) {
        let out = '';
        const res = await runRemoteCommand(conn, `echo ${i}`, { onOutput: (_s, c) => void (out += c.toString()) });
        expect({ res, out }).toEqual({ res: { exitCode: 0, timedOut: false, cancelled: false }, out: `${i}\n` });
      }
    } finally {
      await conn.close();
    }
  });
});
