// Safety under pressure: cancel kills remote processes, a changed host key is refused,
// and a 50 MB output is stored whole and in order while the worker's memory stays bounded.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene } from '../../../src/tasks/interventions';
import { execUserSecretContext } from '../../../src/security/secretContexts';
import { bob, startEngineStack, waitFor, type EngineStack } from '../../support/engine';

const HOSTS = ['127.0.0.31', '127.0.0.32'];
let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: HOSTS });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

function pids(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('cancel', () => {
  it('cancelling during `sleep 300` kills the remote process within 5 s and marks what did not run', async () => {
    const seconds = `300.${crypto.randomInt(100000, 999999)}`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'long', command: 'sleep', args: 'SECONDS', timeout_s: 600 },
      { level: 2, name: 'after', command: 'true' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { args: { SECONDS: seconds } });
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'running');
    await waitFor('the remote sleep to exist', () => Promise.resolve(pids(`sleep ${seconds}`).length > 0 ? true : undefined), 10_000);

    const cancelledAt = Date.now();
    await intervene(stack.temporal.client, taskId, bob, { action: 'cancel', reason: 'test' });
    await waitFor('the remote sleep to be gone', () => Promise.resolve(pids(`sleep ${seconds}`).length === 0 ? true : undefined), 5000);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);

    const task = await stack.waitForTask(taskId, ['cancelled'], 10_000);
    expect(task.finished_at).not.toBeNull();
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
  });
});

describe('step timeout', () => {
  it('kills the remote process group when a step exceeds timeout_s and holds the step', async () => {
    const seconds = `300.${crypto.randomInt(100000, 999999)}`;
    const templateId = await stack.createTemplate([{ level: 1, name: 'too slow', command: 'sleep', args: 'SECONDS', timeout_s: 1 }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { args: { SECONDS: seconds } });
    const held = await stack.waitForRun(taskId, (r) => r.status === 'held', 15_000);
    expect(held.error).toBe('timed out after 1 s; the remote process group was killed');
    expect(held.finished_at!.getTime() - held.started_at!.getTime()).toBeLessThan(5000);
    expect(pids(`sleep ${seconds}`)).toEqual([]);
    await intervene(stack.temporal.client, taskId, bob, { action: 'cancel' });
  });
});

describe('large output', () => {
  it('stores a 50 MB output whole and in order, with the worker RSS bounded', async () => {
    const count = 6_700_000; // `seq 1 6700000` prints 52,488,896 bytes
    const expected = execFileSync('sh', ['-c', `seq 1 ${count} | md5sum`]).toString().split(' ')[0];
    const templateId = await stack.createTemplate([{ level: 1, name: 'chatty', command: 'seq 1', args: 'COUNT', timeout_s: 300 }]);
    const t0 = Date.now();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { args: { COUNT: String(count) } });
      expect((await stack.waitForTask(taskId, ['succeeded', 'failed'], 120_000)).status).toBe('succeeded');
      const [run] = await stack.runs(taskId);
      const { rows } = await sql<{ bytes: string; digest: string; chunks: string }>`
        select sum(octet_length(chunk)) as bytes, md5(string_agg(chunk, '' order by attempt, seq)) as digest, count(*) as chunks
        from step_logs where step_run_id = ${run!.id} and stream = 'stdout'`.execute(stack.database.db);
      expect(Number(rows[0]?.bytes)).toBe(52_488_896);
      expect(rows[0]?.digest).toBe(expected);
      expect(Number(rows[0]?.chunks)).toBeGreaterThan(100); // streamed in many rows, not one blob
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(`50 MB output in ${Date.now() - t0} ms: worker RSS grew by ${growthMb.toFixed(1)} MB at peak`);
    expect(growthMb).toBeLessThan(120);
  }, 180_000);
});

// Last: restarting sshd with a new key changes it on every test address.
describe('host keys', () => {
  it('pins a host key on first use and refuses a changed key with a clear error', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'hello', command: 'echo hi' }]);
    const first = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    expect((await stack.waitForTask(first, ['succeeded', 'failed'])).status).toBe('succeeded');
    const pinned = await stack.database.db.selectFrom('known_hosts').selectAll().where('host', '=', HOSTS[1]!).executeTakeFirstOrThrow();
    expect(pinned.fingerprint).toBe(stack.sshd.hostFingerprint);

    const oldFingerprint = stack.sshd.hostFingerprint;
    await stack.sshd.restartWithNewHostKey(); // a second sshd key on the same address and port
    expect(stack.sshd.hostFingerprint).not.toBe(oldFingerprint);
    const second = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    const held = await stack.waitForRun(second, (r) => r.status === 'held');
    expect(held.error).toContain(`host key of ${HOSTS[1]}:${stack.sshd.port} has CHANGED`);
    expect(held.error).toContain(oldFingerprint);
    expect(held.error).toContain(stack.sshd.hostFingerprint);
    expect(held.started_at).toBeNull(); // nothing ran
    await intervene(stack.temporal.client, second, bob, { action: 'cancel' });

    // Policy `off` (an explicit opt-in on the exec user) accepts the changed key.
    await stack.database.db
      .insertInto('exec_users')
      .values({
        alias: 'trusting',
        username: stack.sshd.username,
        port: stack.sshd.port,
        host_key_policy: 'off',
        private_key: stack.box.seal(stack.sshd.clientPrivateKey, execUserSecretContext.privateKey('trusting')),
      })
      .execute();
    const offTemplate = await stack.createTemplate([{ level: 1, name: 'hello', command: 'echo hi', exec_user: 'trusting' }]);
    const third = await stack.submit(offTemplate, { 1: [HOSTS[1]!] });
    expect((await stack.waitForTask(third, ['succeeded', 'failed'])).status).toBe('succeeded');
  });
});
