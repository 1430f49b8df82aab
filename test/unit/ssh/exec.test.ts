import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRemoteCommand, SshCommandLostError, type OutputStream, type SshConnection } from '../../../activities/ssh';
import { startSshd, type SshdFixture } from '../../support/sshd';
import { connectPinned, killLeftovers, pidsMatching, uniqueSleepSeconds, waitUntil } from './helpers';

const HOST = '127.0.0.8';

interface Captured {
  stdout: string;
  stderr: string;
  events: Array<[OutputStream, string]>;
}

function capture(): Captured & { onOutput: (s: OutputStream, c: Buffer) => void } {
  const c: Captured = { stdout: '', stderr: '', events: [] };
  return {
    ...c,
    get stdout() {
      return c.stdout;
    },
    get stderr() {
      return c.stderr;
    },
    onOutput: (s, chunk) => {
      c[s] += chunk.toString();
      c.events.push([s, chunk.toString()]);
    },
  };
}

describe('runRemoteCommand', () => {
  let fx: SshdFixture;
  let conn: SshConnection;
  beforeAll(async () => {
    fx = await startSshd({ addresses: [HOST] });
    conn = await connectPinned(fx, HOST);
  });
  afterAll(async () => {
    await conn?.close();
    await fx?.stop();
  });

  it('returns stdout, stderr and the exit code', async () => {
    const out = capture();
    const res = await runRemoteCommand(conn, 'echo out; echo err >&2; exit 3', out);
    expect(res).toEqual({ exitCode: 3, timedOut: false, cancelled: false });
    expect(out.stdout).toBe('out\n');
    expect(out.stderr).toBe('err\n');
  });

  it('reports 0, a plain failure, and death by signal', async () => {
    const none = { onOutput: () => undefined };
    expect((await runRemoteCommand(conn, 'true', none)).exitCode).toBe(0);
    expect((await runRemoteCommand(conn, 'false', none)).exitCode).toBe(1);
    expect(await runRemoteCommand(conn, 'kill -9 $$', none)).toEqual({ exitCode: null, signal: 'SIGKILL', timedOut: false, cancelled: false });
    expect((await runRemoteCommand(conn, 'sh -c "kill -TERM \\$\\$"', none)).exitCode).toBe(143);
  });

  it('never loses the exit status of a fast command (exit-status can arrive with the channel-open reply)', async () => {
    const none = { onOutput: () => undefined };
    const codes: Array<number | null> = [];
    for (let i = 0; i < 200; i++) codes.push((await runRemoteCommand(conn, `exit ${i % 7}`, none)).exitCode);
    expect(codes).toEqual(Array.from({ length: 200 }, (_, i) => i % 7));
  });

  it('passes quotes, $ and non-ASCII through intact, and gives the command an empty stdin', async () => {
    const out = capture();
    const res = await runRemoteCommand(conn, `printf '%s|' "it's" '$HOME' 这是任务名字; cat; echo end`, out);
    expect(res.exitCode).toBe(0);
    expect(out.stdout).toBe(`it's|$HOME|这是任务名字|end\n`);
  });

  it('a syntax error is the command’s own failure', async () => {
    const out = capture();
    const res = await runRemoteCommand(conn, 'echo (', out);
    expect(res.exitCode).not.toBe(0);
    expect(out.stderr).toMatch(/syntax error/);
  });

  it('cancel during a sleep kills the whole remote process group within 5 s', async () => {
    const secs = uniqueSleepSeconds();
    try {
      const ac = new AbortController();
      // A background child too: killing only the shell would leave it running.
      const running = runRemoteCommand(conn, `sleep ${secs} & sleep ${secs}; wait`, { onOutput: () => undefined, signal: ac.signal });
      await waitUntil(async () => (await pidsMatching(`sleep ${secs}`)).length >= 2, 5_000);
      const started = Date.now();
      ac.abort();
      const res = await running;
      const resolvedMs = Date.now() - started;
      const goneMs = await waitUntil(async () => (await pidsMatching(secs)).length === 0, 5_000);
      expect(res).toMatchObject({ cancelled: true, timedOut: false, exitCode: null, signal: 'SIGTERM' });
      expect(resolvedMs).toBeLessThan(5_000);
      console.log(`cancel: result after ${resolvedMs} ms, processes gone ${goneMs} ms later`);
    } finally {
      await killLeftovers(secs);
    }
  });

  it('timeout kills the process group and says so', async () => {
    const secs = uniqueSleepSeconds();
    try {
      const started = Date.now();
      const res = await runRemoteCommand(conn, `sleep ${secs}`, { onOutput: () => undefined, timeoutMs: 500 });
      const elapsed = Date.now() - started;
      expect(res).toMatchObject({ timedOut: true, cancelled: false, exitCode: null });
      expect(elapsed).toBeLessThan(5_000);
      expect(await pidsMatching(secs)).toEqual([]);
      console.log(`timeout 500 ms: result after ${elapsed} ms`);
    } finally {
      await killLeftovers(secs);
    }
  });

  it('escalates to SIGKILL when the command ignores SIGTERM', async () => {
    const secs = uniqueSleepSeconds();
    try {
      const started = Date.now();
      const res = await runRemoteCommand(conn, `trap '' TERM; sleep ${secs}`, { onOutput: () => undefined, timeoutMs: 300, killGraceMs: 1_000 });
      const elapsed = Date.now() - started;
      expect(res).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
      expect(elapsed).toBeGreaterThanOrEqual(1_300);
      expect(elapsed).toBeLessThan(5_000);
      expect(await pidsMatching(secs)).toEqual([]);
    } finally {
      await killLeftovers(secs);
    }
  });

  it('an already aborted signal runs nothing', async () => {
    const res = await runRemoteCommand(conn, 'echo should-not-run', { onOutput: () => expect.fail('ran'), signal: AbortSignal.abort() });
    expect(res).toEqual({ exitCode: null, timedOut: false, cancelled: true });
  });

  it('an onOutput failure stops the command and is rethrown', async () => {
    const secs = uniqueSleepSeconds();
    try {
      const boom = new Error('log store down');
      const err = await runRemoteCommand(conn, `echo hi; sleep ${secs}`, { onOutput: () => Promise.reject(boom) }).catch((e: unknown) => e);
      expect(err).toBe(boom);
      expect(await pidsMatching(secs)).toEqual([]);
    } finally {
      await killLeftovers(secs);
    }
  });

  it('streams 50 MB completely and in order through an async onOutput', async () => {
    // seq 1..N: every line must be the previous + 1; stderr interleaves in order too.
    const n = 6_700_000; // 52.5 MB (> 50 MiB) of decimal lines
    let bytes = 0;
    let expected = 1;
    let partial = '';
    let chunks = 0;
    let ok = true;
    const started = Date.now();
    const res = await runRemoteCommand(conn, `seq 1 ${n}; echo done >&2`, {
      onOutput: async (stream, chunk) => {
        if (stream === 'stderr') {
          expect(chunk.toString()).toBe('done\n');
          expect(expected).toBe(n + 1); // all stdout delivered before the later stderr
          return;
        }
        bytes += chunk.length;
        chunks++;
        const lines = (partial + chunk.toString('latin1')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) ok &&= Number(line) === expected++;
        if (chunks % 16 === 0) await new Promise((r) => setImmediate(r)); // a "slow" async store
      },
    });
    const elapsed = Date.now() - started;
    let expectedBytes = 0;
    for (let d = 1, lo = 1; lo <= n; d++, lo *= 10) expectedBytes += (Math.min(n, lo * 10 - 1) - lo + 1) * (d + 1);
    expect(res.exitCode).toBe(0);
    expect(ok).toBe(true);
    expect(partial).toBe('');
    expect(expected).toBe(n + 1);
    expect(bytes).toBe(expectedBytes);
    expect(bytes).toBeGreaterThan(50 * 1024 * 1024);
    console.log(`50 MB: ${bytes} bytes in ${chunks} chunks, ${elapsed} ms`);
  });

  it('a slow consumer throttles the remote writer (bounded memory)', async () => {
    // The remote stamps the time it finished writing 24 MB; by then the consumer must have taken
    // nearly all of it: only the SSH window, stream buffers and socket buffers may be in flight.
    const total = 24 * 1024 * 1024;
    const consumedAt: Array<[number, number]> = [];
    let consumed = 0;
    let writerDoneAtNs = 0n;
    const res = await runRemoteCommand(conn, `head -c ${total} /dev/zero; date +%s%N >&2`, {
      onOutput: async (stream, chunk) => {
        if (stream === 'stderr') {
          writerDoneAtNs = BigInt(chunk.toString().trim());
          return;
        }
        consumed += chunk.length;
        consumedAt.push([Date.now(), consumed]);
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    expect(res.exitCode).toBe(0);
    expect(consumed).toBe(total);
    const doneMs = Number(writerDoneAtNs / 1_000_000n);
    const consumedWhenWriterDone = consumedAt.filter(([t]) => t <= doneMs).at(-1)?.[1] ?? 0;
    const inFlight = total - consumedWhenWriterDone;
    console.log(`slow consumer: ${(inFlight / 1048576).toFixed(1)} MB in flight when the writer finished`);
    expect(inFlight).toBeLessThan(12 * 1024 * 1024);
  });

  it('a connection lost mid-command is SshCommandLostError (outcome unknown)', async () => {
    const other = await startSshd({ addresses: ['127.0.0.9'] });
    const secs = uniqueSleepSeconds();
    try {
      const c = await connectPinned(other, '127.0.0.9');
      const outcome = runRemoteCommand(c, `sleep ${secs}`, { onOutput: () => undefined }).catch((e: unknown) => e);
      await waitUntil(async () => (await pidsMatching(`sleep ${secs}`)).length > 0, 5_000);
      await other.stop(); // drops the connection under the running command
      expect(await outcome).toBeInstanceOf(SshCommandLostError);
    } finally {
      await other.stop();
      await killLeftovers(secs);
    }
  });
});
