// People stepping in: approval (four-eyes), start time and reschedule, hand steps,
// failures held for retry / skip / restart / abort, pause and resume.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene, taskProgress } from '../../../src/tasks/interventions';
import { refusal } from '../../support/workflowHarness';
import { alice, bob, startEngineStack, waitFor, type EngineStack } from '../../support/engine';

const HOSTS = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: HOSTS });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

const client = () => stack.temporal.client;

describe('approval', () => {
  it('a `new` task waits, refuses self-approval, and runs once another user approves', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'hello', command: 'echo approved' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { schedule: 'new' }, alice);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await stack.task(taskId)).status).toBe('pending_approval');
    expect((await stack.runs(taskId))[0]?.status).toBe('pending');

    const self = await refusal(intervene(client(), taskId, alice, { action: 'approve' }));
    expect(self.httpStatus).toBe(409);
    expect(self.message).toMatch(/four-eyes: alice created task \d+ and may not approve it/);

    expect(await intervene(client(), taskId, bob, { action: 'approve' })).toEqual({ accepted: true, status: 'scheduled' });
    const done = await stack.waitForTask(taskId, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(done.approver).toBe('bob');
    // An approval after the fact is refused, not silently accepted.
    const late = await refusal(intervene(client(), taskId, bob, { action: 'approve' }));
    expect(late.message).toMatch(/finished|not waiting/);
  });

  it('a rejected task never runs', async () => {
    const marker = `/tmp/opsflow-rejected-${Date.now()}`;
    const templateId = await stack.createTemplate([{ level: 1, name: 'must not run', command: 'touch', args: 'MARK' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { schedule: 'new', args: { MARK: marker } }, alice);
    expect(await intervene(client(), taskId, bob, { action: 'reject', reason: 'not today' })).toEqual({ accepted: true, status: 'rejected' });
    const task = await stack.waitForTask(taskId, ['rejected']);
    expect(task.approver).toBe('bob');
    expect(task.finished_at).not.toBeNull();
    const [run] = await stack.runs(taskId);
    expect(run?.status).toBe('cancelled');
    expect(run?.started_at).toBeNull();
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('start time', () => {
  it('a `ready` task with exec_time 2 s ahead starts within 1 s of it', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'on time', command: 'true' }]);
    const execTime = new Date(Date.now() + 2000);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] }, { execTime });
    expect((await stack.task(taskId)).status).toBe('scheduled');
    const task = await stack.waitForTask(taskId, ['succeeded', 'failed'], 15_000);
    const [run] = await stack.runs(taskId);
    const started = run!.started_at!.getTime();
    expect(started).toBeGreaterThanOrEqual(execTime.getTime());
    expect(started - execTime.getTime()).toBeLessThan(1000);
    expect(task.status).toBe('succeeded');
  });

  it('reschedule moves the start time (later, then sooner)', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'moved', command: 'true' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] }, { execTime: new Date(Date.now() + 60 * 60_000) });
    await new Promise((r) => setTimeout(r, 500));
    expect((await stack.task(taskId)).status).toBe('scheduled');
    const newStart = new Date(Date.now() + 1500);
    await intervene(client(), taskId, bob, { action: 'reschedule', startAt: newStart });
    expect((await taskProgress(client(), taskId)).startAt).toBe(newStart.toISOString());
    // The database shows the new plan at once (the API and console read it); exec_time stays as submitted.
    const planned = await stack.task(taskId);
    expect(planned.planned_start?.toISOString()).toBe(newStart.toISOString());
    expect(planned.exec_time!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    await stack.waitForTask(taskId, ['succeeded'], 15_000);
    const [run] = await stack.runs(taskId);
    expect(run!.started_at!.getTime()).toBeGreaterThanOrEqual(newStart.getTime());
    expect(run!.started_at!.getTime() - newStart.getTime()).toBeLessThan(1000);
  });
});

describe('hand steps', () => {
  it('waits until released: one host at a time, then the rest of the group at once', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'prepare', command: 'true' },
      { level: 2, name: 'go live', command: 'echo live', trigger: 'hand' },
    ]);
    const hosts = [HOSTS[0]!, HOSTS[1]!, HOSTS[2]!];
    const taskId = await stack.submit(templateId, { 1: hosts });
    await waitFor('level 1 done everywhere', async () => {
      const runs = await stack.runs(taskId);
      return runs.filter((r) => r.level === 1).every((r) => r.status === 'succeeded') ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = (await stack.runs(taskId)).filter((r) => r.level === 2);
    expect(waiting.map((r) => r.status)).toEqual(['waiting_hand', 'waiting_hand', 'waiting_hand']);
    const stepId = waiting[0]!.task_step_id;

    await intervene(client(), taskId, bob, { action: 'release', stepId, host: hosts[0] });
    await stack.waitForRun(taskId, (r) => r.level === 2 && r.host === hosts[0] && r.status === 'succeeded');
    expect((await stack.runs(taskId)).filter((r) => r.level === 2 && r.host !== hosts[0]).map((r) => r.status)).toEqual([
      'waiting_hand',
      'waiting_hand',
    ]);

    await intervene(client(), taskId, bob, { action: 'release', stepId }); // the whole group
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
  });

  it('refuses to release a step that is not a hand step', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'slow', command: 'sleep 2' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[2]!] });
    const [run] = await stack.runs(taskId);
    const err = await refusal(intervene(client(), taskId, bob, { action: 'release', stepId: run!.task_step_id }));
    expect(err.message).toMatch(/is not a hand step/);
    await stack.waitForTask(taskId, ['succeeded']);
  });
});

describe('failures held for a decision', () => {
  it('a failed step is held; retry runs it again and the task succeeds', async () => {
    const flag = `/tmp/opsflow-retry-${Date.now()}`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'flaky', command: 'sh -c', args: 'SCRIPT' },
      { level: 2, name: 'after', command: 'echo after' },
    ]);
    const script = `test -f ${flag} || { touch ${flag}; echo first-try-fails >&2; exit 3; }`;
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { args: { SCRIPT: script } });
    const held = await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'held');
    expect(held.exit_code).toBe(3);
    expect(held.error).toBe('exit code 3');
    expect(await stack.logText(held.id, 'stderr')).toBe('first-try-fails\n');
    expect((await stack.task(taskId)).status).toBe('running');
    expect((await stack.runs(taskId)).find((r) => r.level === 2)?.status).toBe('pending');

    await intervene(client(), taskId, bob, { action: 'retry', stepId: held.task_step_id, host: held.host });
    const task = await stack.waitForTask(taskId, ['succeeded', 'failed']);
    expect(task.status).toBe('succeeded');
    const runs = await stack.runs(taskId);
    expect(runs.map((r) => [r.level, r.status, r.attempt])).toEqual([
      [1, 'succeeded', 2],
      [2, 'succeeded', 1],
    ]);
    fs.rmSync(flag, { force: true });
  });

  it('skip moves on past a held step', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'broken', command: 'false' },
      { level: 2, name: 'next', command: 'echo next' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    const held = await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'held');
    // Retry/skip are refused on a step that is not held.
    const next = (await stack.runs(taskId)).find((r) => r.level === 2)!;
    expect((await refusal(intervene(client(), taskId, bob, { action: 'skip', stepId: next.task_step_id, host: next.host }))).message).toMatch(
      /not held/,
    );
    await intervene(client(), taskId, bob, { action: 'skip', stepId: held.task_step_id, host: held.host });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['skipped', 'succeeded']);
  });

  it('restart reruns a held host from an earlier step: succeeded steps run again, hand steps wait again', async () => {
    const counter = `/tmp/opsflow-restart-count-${Date.now()}`;
    const flag = `/tmp/opsflow-restart-flag-${Date.now()}`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'prepare', command: 'sh -c', args: 'PREPARE' },
      { level: 2, name: 'confirm', command: 'true', trigger: 'hand' },
      { level: 3, name: 'check', command: 'sh -c', args: 'CHECK' },
      { level: 4, name: 'after', command: 'echo after' },
    ]);
    const taskId = await stack.submit(
      templateId,
      { 1: [HOSTS[2]!] },
      { args: { PREPARE: `echo run >> ${counter}; echo "prepared $(wc -l < ${counter})"`, CHECK: `test -f ${flag} || { touch ${flag}; exit 4; }` } },
    );
    const [prepare, confirm, , after] = await stack.runs(taskId);
    await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'waiting_hand');
    // Only a held host can be restarted.
    expect((await refusal(intervene(client(), taskId, bob, { action: 'restart', stepId: prepare!.task_step_id, host: HOSTS[2]! }))).message).toMatch(
      /not held at a step/,
    );
    await intervene(client(), taskId, bob, { action: 'release', stepId: confirm!.task_step_id, host: HOSTS[2]! });
    await stack.waitForRun(taskId, (r) => r.level === 3 && r.status === 'held');
    // Restarting from a step after the held one would skip it: refused.
    expect((await refusal(intervene(client(), taskId, bob, { action: 'restart', stepId: after!.task_step_id, host: HOSTS[2]! }))).message).toMatch(
      /comes after the held step/,
    );

    await intervene(client(), taskId, bob, { action: 'restart', stepId: prepare!.task_step_id, host: HOSTS[2]! });
    // Level 1 runs again first; the hand step then waits for a second release.
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'succeeded' && r.attempt === 2);
    const rearmed = await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'waiting_hand');
    expect(rearmed.started_at).toBeNull();
    expect(rearmed.attempt).toBe(1);
    await intervene(client(), taskId, bob, { action: 'release', stepId: confirm!.task_step_id, host: HOSTS[2]! });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');

    const runs = await stack.runs(taskId);
    expect(runs.map((r) => [r.level, r.status, r.attempt])).toEqual([
      [1, 'succeeded', 2],
      [2, 'succeeded', 2],
      [3, 'succeeded', 2],
      [4, 'succeeded', 1],
    ]);
    expect(fs.readFileSync(counter, 'utf8')).toBe('run\nrun\n');
    // Both attempts' output is kept, in order.
    expect(await stack.logText(prepare!.id, 'stdout')).toBe('prepared 1\nprepared 2\n');
    fs.rmSync(counter, { force: true });
    fs.rmSync(flag, { force: true });
  });

  it('abort stops the held host, the other hosts go on, and the task ends failed', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'check', command: 'sh -c', args: 'SCRIPT' },
      { level: 2, name: 'deploy', command: 'true' },
    ]);
    // Fails only on the first host.
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!, HOSTS[1]!] }, { args: { SCRIPT: `ip addr show lo >/dev/null; test "$SSH_CONNECTION" = "\${SSH_CONNECTION%${HOSTS[0]} *}"` } });
    const held = await stack.waitForRun(taskId, (r) => r.status === 'held');
    expect(held.host).toBe(HOSTS[0]);
    await stack.waitForRun(taskId, (r) => r.host === HOSTS[1] && r.level === 2 && r.status === 'succeeded');
    await intervene(client(), taskId, bob, { action: 'abort', host: held.host, group: 1 });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('failed');
    const runs = await stack.runs(taskId);
    expect(runs.filter((r) => r.host === HOSTS[0]).map((r) => r.status)).toEqual(['aborted', 'aborted']);
    expect(runs.filter((r) => r.host === HOSTS[1]).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('on_failure: continue goes on by itself; on_failure: abort stops the host without holding', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'optional', command: 'false', on_failure: 'continue' },
      { level: 2, name: 'fatal', command: 'false', on_failure: 'abort' },
      { level: 3, name: 'never', command: 'true' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[2]!] });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('failed');
    expect((await stack.runs(taskId)).map((r) => r.status)).toEqual(['failed', 'failed', 'aborted']);
  });
});

describe('pause and resume', () => {
  it('pause stops new steps from starting; resume lets them go on', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'one', command: 'sleep 1' },
      { level: 2, name: 'two', command: 'true' },
    ]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] });
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'running');
    expect(await intervene(client(), taskId, bob, { action: 'pause' })).toEqual({ accepted: true, status: 'paused' });
    expect((await stack.task(taskId)).status).toBe('paused');
    await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'succeeded');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await stack.runs(taskId)).find((r) => r.level === 2)?.status).toBe('pending');
    expect((await taskProgress(client(), taskId)).paused).toBe(true);
    expect(await intervene(client(), taskId, bob, { action: 'resume' })).toEqual({ accepted: true, status: 'running' });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'])).status).toBe('succeeded');
  });
});
