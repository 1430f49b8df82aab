// submitTask: validation against the template (CODO's codes), the frozen copy of steps,
// one step run per group × host × step, and idempotent resubmission.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubmitError } from '../../../src/tasks/submit';
import { alice, bob, startEngineStack, type EngineStack } from '../../support/engine';

let stack: EngineStack;
let templateId: number;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: ['127.0.0.61', '127.0.0.62'] });
  templateId = await stack.createTemplate([
    { group: 1, level: 1, name: 'one', command: 'echo one' },
    { group: 1, level: 2, name: 'two', command: 'echo two', trigger: 'hand' },
    { group: 2, level: 1, name: 'three', command: 'echo three', trigger: 'timed' },
  ]);
  // No worker: these tests look at what submission stores and starts.
});
afterAll(async () => {
  await stack?.close();
});

async function submitError(hosts: Record<number, string[]>): Promise<SubmitError> {
  const err = await stack.submit(templateId, hosts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SubmitError);
  return err as SubmitError;
}

describe('submitTask', () => {
  it('answers CODO codes and names the field for host groups that do not fit the template', async () => {
    expect(await submitError({ 1: ['127.0.0.61'] })).toMatchObject({ code: -4, message: 'The exec host cannot be empty', field: 'hosts.2' });
    const tooMany = Array.from({ length: 101 }, (_, i) => `127.0.1.${i + 1}`);
    expect(await submitError({ 1: tooMany, 2: ['127.0.0.61'] })).toMatchObject({ code: -4, message: 'Too many hosts, please execute in groups' });
    expect(await submitError({ 1: ['999.1.1.1'], 2: ['127.0.0.61'] })).toMatchObject({ code: 5, message: 'ip格式有误', field: 'hosts.1' });
    expect(await submitError({ 1: ['127.0.0.61'], 2: ['127.0.0.62'], 3: ['127.0.0.61'] })).toMatchObject({
      code: -3,
      message: 'Host groupings and template groupings mismatch',
      field: 'hosts.3',
    });
    const unknown = await stack.submit(9999, { 1: ['127.0.0.61'] }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: -2, field: 'temp_id', httpStatus: 404 });
    // 100 hosts in a group is fine (CODO's limit is "more than 100").
    const hundred = Array.from({ length: 100 }, (_, i) => `127.0.1.${i + 1}`);
    const ok = await stack.submit(templateId, { 1: hundred, 2: ['127.0.0.61'] });
    expect((await stack.runs(ok)).length).toBe(100 * 2 + 1);
  });

  it('stores a frozen copy of the steps and one run per group × host × step with its initial status', async () => {
    const taskId = await stack.submit(templateId, { 1: ['127.0.0.61', '127.0.0.62'], 2: ['127.0.0.61'] }, { args: { A: '1' } });
    // Editing the template afterwards does not change the submitted task.
    await stack.database.db.updateTable('template_steps').set({ command: 'rm -rf /should-never-run' }).where('template_id', '=', templateId).execute();
    const frozen = await stack.database.db.selectFrom('task_steps').select(['name', 'command', 'trigger']).where('task_id', '=', taskId).orderBy('id').execute();
    expect(frozen).toEqual([
      { name: 'one', command: 'echo one', trigger: 'order' },
      { name: 'two', command: 'echo two', trigger: 'hand' },
      { name: 'three', command: 'echo three', trigger: 'timed' },
    ]);
    const runs = await stack.runs(taskId);
    expect(runs.map((r) => [r.group_no, r.host, r.name, r.status])).toEqual([
      [1, '127.0.0.61', 'one', 'pending'],
      [1, '127.0.0.61', 'two', 'waiting_hand'],
      [1, '127.0.0.62', 'one', 'pending'],
      [1, '127.0.0.62', 'two', 'waiting_hand'],
      [2, '127.0.0.61', 'three', 'waiting_time'],
    ]);
    const task = await stack.task(taskId);
    expect(task).toMatchObject({ status: 'scheduled', creator: 'alice', submitter: 'alice', workflow_id: `task-${taskId}`, args: { A: '1' } });
    const described = await stack.temporal.client.workflow.getHandle(`task-${taskId}`).describe();
    expect(described.status.name).toBe('RUNNING');
    await stack.database.db.updateTable('template_steps').set({ command: 'echo restored' }).where('template_id', '=', templateId).execute();
  });

  it('returns the existing task for a repeated idempotency key, and refuses another user reusing it', async () => {
    const hosts = { 1: ['127.0.0.61'], 2: ['127.0.0.62'] };
    const first = await stack.submit(templateId, hosts, { idempotencyKey: 'csrf-abc' }, alice);
    const again = await stack.submit(templateId, hosts, { idempotencyKey: 'csrf-abc' }, alice);
    expect(again).toBe(first);
    const count = await stack.database.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('idempotency_key', '=', 'csrf-abc').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    const other = await stack.submit(templateId, hosts, { idempotencyKey: 'csrf-abc' }, bob).catch((e: unknown) => e);
    expect(other).toMatchObject({ httpStatus: 409, field: 'idempotency_key' });
  });
});
