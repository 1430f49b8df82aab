// The last gate before a command is sent: one atomic transition per attempt, so two tries
// of the same attempt (one of them given up on by Temporal but still alive) never both run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markRunning } from '../../../activities/stepRunner';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let database: TestDatabase;
let runId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database;
  const template = await db.insertInto('templates').values({ name: 't' }).returning('id').executeTakeFirstOrThrow();
  const task = await db
    .insertInto('tasks')
    .values({ task_name: 't', submitter: 'a', creator: 'a', template_id: template.id, schedule: 'ready', args: '{}', hosts: '{}', status: 'running' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const step = await db
    .insertInto('task_steps')
    .values({ task_id: task.id, group_no: 1, level: 1, name: 's', command: 'true', exec_user: 'root' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const run = await db
    .insertInto('step_runs')
    .values({ task_id: task.id, task_step_id: step.id, group_no: 1, host: '127.0.0.1', level: 1, status: 'pending' })
    .returning('id')
    .executeTakeFirstOrThrow();
  runId = run.id;
});
afterAll(async () => {
  await database?.close();
});

describe('markRunning', () => {
  it('lets exactly one of two concurrent tries of the same attempt start the command', async () => {
    const results = await Promise.all([markRunning(database.db, runId, 1, false), markRunning(database.db, runId, 1, false)]);
    expect(results.map((r) => r !== null).sort()).toEqual([false, true]);
    expect(await markRunning(database.db, runId, 1, false)).toBeNull(); // a later retry of attempt 1 too
  });

  it('allows the next attempt (an operator retry) and any try of an idempotent step', async () => {
    expect(await markRunning(database.db, runId, 2, false)).toEqual({ lastLogSeq: 0 });
    expect(await markRunning(database.db, runId, 2, true)).toEqual({ lastLogSeq: 0 });
    // An idempotent rerun of the same attempt continues after the output already stored.
    await database.db.insertInto('step_logs').values({ step_run_id: runId, attempt: 2, seq: 5, stream: 'stdout', chunk: 'earlier\n' }).execute();
    expect(await markRunning(database.db, runId, 2, true)).toEqual({ lastLogSeq: 5 });
    const row = await database.db.selectFrom('step_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'running', attempt: 2 });
  });
});
