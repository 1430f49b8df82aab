// Host batches against real sshd: a host's consecutive `order` steps run in one activity over
// one exec channel through the step driver, with per-step rows, exit codes, logs, holds,
// timeouts and cancel exactly as for lone steps; a hand step starts the next batch; and the SQL
// statements a batch sends.
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene } from '../../../src/tasks/interventions';
import { bob, startEngineStack, waitFor, type EngineStack } from '../../support/engine';

const HOSTS = ['127.0.0.91', '127.0.0.92', '127.0.0.93'];
let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: HOSTS });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

const client = () => stack.temporal.client;

/** The batch activities the task's workflow scheduled, as their summaries. */
async function batchSummaries(taskId: number): Promise<string[]> {
  const history = await client().workflow.getHandle(`task-${taskId}`).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeBatch')
    .map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? []).toString()) as string);
}

function pids(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function tmpName(what: string): string {
  return `/tmp/opsflow-batch-${what}-${Date.now()}-${crypto.randomInt(1e6)}`;
}

describe('one batch per run of steps without a person in between', () => {
  it('runs three steps in one activity, each with its own exit code, logs and process group; a hand step starts the next batch', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'one', command: 'sh -c', args: 'ONE' },
      { level: 2, name: 'two', command: 'sh -c', args: 'TWO' },
      { level: 3, name: 'three', command: 'sh -c', args: 'THREE' },
      { level: 4, name: 'confirm', command: 'echo confirmed', trigger: 'hand' },
      { level: 5, name: 'five', command: 'echo five' },
    ]);
    const taskId = await stack.submit(
      templateId,
      { 1: [HOSTS[0]!, HOSTS[1]!] },
      {
        args: {
          // Output without a final newline, and stderr.
          ONE: 'printf "no newline"; echo " err1" >&2',
          TWO: 'echo two; echo err2 >&2',
          THREE: 'echo three; printf "%s\\n" "fake marker line" "0123 e 0 0"',
        },
      },
    );
    await waitFor('levels 1-3 done on both hosts', async () => {
      const runs = await stack.runs(taskId);
      return runs.filter((r) => r.level <= 3).every((r) => r.status === 'succeeded') ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const runs = await stack.runs(taskId);
    expect(runs.filter((r) => r.level === 4).map((r) => r.status)).toEqual(['waiting_hand', 'waiting_hand']);
    const [one, two, three] = runs.filter((r) => r.host === HOSTS[0]);
    expect([one, two, three].map((r) => [r!.status, r!.exit_code, r!.attempt])).toEqual([
      ['succeeded', 0, 1],
      ['succeeded', 0, 1],
      ['succeeded', 0, 1],
    ]);
    expect(await stack.logText(one!.id, 'stdout')).toBe('no newline');
    expect(await stack.logText(one!.id, 'stderr')).toBe(' err1\n');
    expect(await stack.logText(one!.id, 'system')).toBe('[CMD]: sh -c ONE\n');
    expect(await stack.logText(two!.id, 'stdout')).toBe('two\n');
    expect(await stack.logText(two!.id, 'stderr')).toBe('err2\n');
    // A line that looks like a marker without the batch's nonce is the step's output.
    expect(await stack.logText(three!.id, 'stdout')).toBe('three\nfake marker line\n0123 e 0 0\n');

    const stepId = runs.find((r) => r.level === 4)!.task_step_id;
    await intervene(client(), taskId, bob, { action: 'release', stepId });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    const summaries = await batchSummaries(taskId);
    // Per host: levels 1-3 in one activity, then the hand step with level 5 in a second one.
    expect(summaries.sort()).toEqual(
      [HOSTS[0], HOSTS[1]].flatMap((h) => [`group 1 · ${h} · levels 1–3 · one, two, three`, `group 1 · ${h} · levels 4–5 · confirm, five`]).sort(),
    );
    expect(await stack.logText((await stack.runs(taskId)).find((r) => r.level === 5)!.id, 'stdout')).toBe('five\n');
  });

  it('each step is its own process group', async () => {
    const dir = tmpName('pgid');
    fs.mkdirSync(dir);
    const templateId = await stack.createTemplate([
      { level: 1, name: 'a', command: 'sh -c', args: 'A' },
      { level: 2, name: 'b', command: 'sh -c', args: 'B' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[2]!] }, { args: { A: `ps -o pgid= -p $$ > ${dir}/a`, B: `ps -o pgid= -p $$ > ${dir}/b` } });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    const a = Number(fs.readFileSync(`${dir}/a`, 'utf8'));
    const b = Number(fs.readFileSync(`${dir}/b`, 'utf8'));
    expect(a).toBeGreaterThan(1);
    expect(b).toBeGreaterThan(1);
    expect(a).not.toBe(b);
    expect((await batchSummaries(taskId))).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('failures inside a batch', () => {
  it('a failure mid-batch is held with its exit code; retry starts a new batch from it; later steps run once', async () => {
    const flag = tmpName('flag');
    const counter = tmpName('count');
    const templateId = await stack.createTemplate([
      { level: 1, name: 'first', command: 'sh -c', args: 'FIRST' },
      { level: 2, name: 'flaky', command: 'sh -c', args: 'FLAKY' },
      { level: 3, name: 'after', command: 'sh -c', args: 'AFTER' },
    ]);
    const taskId = await stack.submit(
      templateId,
      { 1: [HOSTS[0]!] },
      { args: { FIRST: `echo 1 >> ${counter}`, FLAKY: `test -f ${flag} || { touch ${flag}; echo broke >&2; exit 7; }`, AFTER: `echo 3 >> ${counter}` } },
    );
    const held = await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'held');
    expect(held.exit_code).toBe(7);
    expect(held.error).toBe('exit code 7');
    expect(await stack.logText(held.id, 'stderr')).toBe('broke\n');
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['succeeded', 'held', 'pending']);

    await intervene(client(), taskId, bob, { action: 'retry', stepId: held.task_step_id, host: held.host });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect((await stack.runs(taskId)).map((r) => [r.level, r.status, r.attempt])).toEqual([
      [1, 'succeeded', 1],
      [2, 'succeeded', 2],
      [3, 'succeeded', 1],
    ]);
    expect(fs.readFileSync(counter, 'utf8')).toBe('1\n3\n');
    expect(await batchSummaries(taskId)).toEqual([`group 1 · ${HOSTS[0]} · levels 1–3 · first, flaky, after`, `group 1 · ${HOSTS[0]} · levels 2–3 · flaky, after`]);
    fs.rmSync(flag, { force: true });
    fs.rmSync(counter, { force: true });
  });

  it('skip of a held step mid-batch goes on with the next step', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'ok', command: 'true' },
      { level: 2, name: 'broken', command: 'exit 4' },
      { level: 3, name: 'next', command: 'echo next' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    const held = await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'held');
    expect(held.exit_code).toBe(4);
    await intervene(client(), taskId, bob, { action: 'skip', stepId: held.task_step_id, host: held.host });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['succeeded', 'skipped', 'succeeded']);
  });

  it('on_failure: continue goes on inside the same batch', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'optional', command: 'exit 5', on_failure: 'continue' },
      { level: 2, name: 'then', command: 'echo then' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[2]!] });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('failed');
    const runs = await stack.runs(taskId);
    expect(runs.map((r) => [r.status, r.exit_code])).toEqual([
      ['failed', 5],
      ['succeeded', 0],
    ]);
    expect(await stack.logText(runs[1]!.id, 'stdout')).toBe('then\n');
    expect(await batchSummaries(taskId)).toHaveLength(1);
  });

  it('a step over its timeout has its process group killed and is held; the batch stops there', async () => {
    const seconds = `300.${crypto.randomInt(100000, 999999)}`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'quick', command: 'true' },
      { level: 2, name: 'too slow', command: 'sh -c', args: 'SLOW', timeout_s: 1 },
      { level: 3, name: 'never yet', command: 'true' },
    ]);
    // A child in the background and one in the foreground: both in the step's group.
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { args: { SLOW: `sleep ${seconds} & sleep ${seconds}; wait` } });
    const held = await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'held', 15_000);
    expect(held.error).toBe('timed out after 1 s; the remote process group was killed');
    expect(held.finished_at!.getTime() - held.started_at!.getTime()).toBeLessThan(5000);
    expect(pids(`sleep ${seconds}`)).toEqual([]);
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['succeeded', 'held', 'pending']);
    await intervene(client(), taskId, bob, { action: 'cancel' });
    expect((await stack.waitForTask(taskId, ['cancelled'])).status).toBe('cancelled');
    // A held step is cancelled with the task, as a lone step's hold always was.
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
  });
});

describe('cancel and pause inside a batch', () => {
  it('cancel mid-batch kills the running step’s process group; steps that ended keep their outcome', async () => {
    const seconds = `300.${crypto.randomInt(100000, 999999)}`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'done first', command: 'echo done' },
      { level: 2, name: 'long', command: 'sh -c', args: 'LONG', timeout_s: 600 },
      { level: 3, name: 'after', command: 'true' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] }, { args: { LONG: `sleep ${seconds} & sleep ${seconds}; wait` } });
    await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'running');
    await waitFor('both remote sleeps to exist', () => Promise.resolve(pids(`sleep ${seconds}`).length >= 2 ? true : undefined), 10_000);
    const cancelledAt = Date.now();
    await intervene(client(), taskId, bob, { action: 'cancel', reason: 'test' });
    await waitFor('the remote sleeps to be gone', () => Promise.resolve(pids(`sleep ${seconds}`).length === 0 ? true : undefined), 5000);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    await stack.waitForTask(taskId, ['cancelled'], 10_000);
    const runs = await stack.runs(taskId);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
    expect(await stack.logText(runs[1]!.id, 'system')).toContain('[opsflow] cancelled: the remote process group was killed');
  });

  it('pause lets the running step of a batch finish and starts no next one until resumed', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'one', command: 'sleep 1' },
      { level: 2, name: 'two', command: 'true' },
      { level: 3, name: 'three', command: 'true' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[2]!] });
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'running');
    await intervene(client(), taskId, bob, { action: 'pause' });
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'succeeded');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['succeeded', 'pending', 'pending']);
    await intervene(client(), taskId, bob, { action: 'resume' });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    // The second batch starts where the paused one stopped.
    expect(await batchSummaries(taskId)).toEqual([`group 1 · ${HOSTS[2]} · levels 1–3 · one, two, three`, `group 1 · ${HOSTS[2]} · levels 2–3 · two, three`]);
  });
});

describe('SQL statements of a host batch', () => {
  it('5 short steps cost 7 statements: read, claim, 4 × (logs + end + next claim), logs + end', async () => {
    // Every statement the worker sends (the real pg client wrapped, as the bench counts them);
    // the test's own statements run inside `ours` and are left out.
    const ours = new AsyncLocalStorage<true>();
    const sent: string[] = [];
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]): unknown {
      if (!ours.getStore()) sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: unknown }).text));
      return query.apply(this, args);
    };
    try {
      const runs = await ours.run(true, async () => {
        const templateId = await stack.createTemplate(['one', 'two', 'three', 'four', 'five'].map((name, i) => ({ level: i + 1, name, command: `echo ${name}` })));
        // A first task pins the host key: the measured one sees a host opsflow has run on.
        const warmUp = await stack.submit(templateId, { 1: [HOSTS[0]!] });
        expect((await stack.waitForTask(warmUp, ['succeeded', 'failed'])).status).toBe('succeeded');
        sent.length = 0;
        const id = await stack.submit(templateId, { 1: [HOSTS[0]!] });
        expect((await stack.waitForTask(id, ['succeeded', 'failed'])).status).toBe('succeeded');
        return stack.runs(id);
      });
      // Besides the workflow's task status writes, the batch: its read (runs, exec user, pin), the
      // first claim, per step boundary one statement with the logs, the end and the next claim,
      // and the last step's logs with its end.
      const batch = sent.filter((text) => !/^update "tasks"/.test(text));
      expect(batch.map((text) => /^\s*(\w+)/.exec(text)?.[1])).toEqual(['select', 'update', 'with', 'with', 'with', 'with', 'with']);
      expect(batch.every((text) => !/^\s*insert into "?step_logs/.test(text))).toBe(true);
      // Each step's logs are complete and in order, header first.
      await ours.run(true, async () => {
        for (const run of runs) {
          expect(run.status).toBe('succeeded');
          expect(await stack.logText(run.id)).toBe(`[CMD]: echo ${run.name}\n${run.name}\n`);
        }
      });
    } finally {
      proto.query = query;
    }
  });
});
