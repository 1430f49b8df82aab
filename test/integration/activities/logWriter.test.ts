// StepLogWriter on a real PostgreSQL: output fed the way the output pump feeds it (32 KiB
// chunks, waiting whenever write() returns a promise) is stored whole and in order; the
// producer is held back only while an earlier batch is still being inserted; an insert that
// fails surfaces on a later write and on close().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { StepLogWriter } from '../../../activities/logWriter';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

async function stepRun(): Promise<number> {
  const tpl = await t.db.insertInto('templates').values({ name: `tpl-${Math.random()}` }).returning('id').executeTakeFirstOrThrow();
  const task = await t.db
    .insertInto('tasks')
    .values({ task_name: 'logs', submitter: 'a', creator: 'a', template_id: tpl.id, schedule: 'ready', exec_time: null, args: '{}', hosts: '{"1":["127.0.0.1"]}', status: 'running', idempotency_key: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const step = await t.db
    .insertInto('task_steps')
    .values({ task_id: task.id, group_no: 1, level: 1, name: 'out', command: 'out', exec_user: 'root', force_host: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const run = await t.db
    .insertInto('step_runs')
    .values({ task_id: task.id, task_step_id: step.id, group_no: 1, host: '127.0.0.1', level: 1, status: 'running' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return run.id;
}

/** 32 KiB of numbered lines, different per index, so order and completeness can be checked. */
function chunk(i: number): Buffer {
  const line = `chunk ${String(i).padStart(6, '0')} `;
  return Buffer.from(line.repeat(Math.ceil(32_768 / line.length)).slice(0, 32_767) + '\n');
}

describe('StepLogWriter', () => {
  it('stores 4 MiB whole and in order, overlapping reading with inserting', async () => {
    const runId = await stepRun();
    const logs = new StepLogWriter(t.db, runId, 1, 0);
    const sent: Buffer[] = [];
    let waits = 0;
    let firstFullBatchWaited: boolean | null = null;
    for (let i = 0; i < 128; i++) {
      const c = chunk(i);
      sent.push(c);
      const pending = logs.write(i % 5 === 4 ? 'stderr' : 'stdout', c);
      // The first full batch (256 KiB = 8 chunks) starts an insert without holding the producer.
      if (i === 7) firstFullBatchWaited = pending !== undefined;
      if (pending) {
        waits += 1;
        await pending;
      }
    }
    await logs.close();
    expect(firstFullBatchWaited).toBe(false);
    expect(waits).toBeGreaterThan(0); // later batches waited for the insert before them

    const rows = await t.db.selectFrom('step_logs').select(['seq', 'stream', 'chunk']).where('step_run_id', '=', runId).orderBy('seq').execute();
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const stored = (stream: string): string => rows.filter((r) => r.stream === stream).map((r) => r.chunk).join('');
    const expected = (stream: string): string =>
      sent
        .filter((_, i) => (i % 5 === 4 ? 'stderr' : 'stdout') === stream)
        .map((b) => b.toString())
        .join('');
    expect(stored('stdout')).toBe(expected('stdout'));
    expect(stored('stderr')).toBe(expected('stderr'));
  });

  it('replaces NUL, which PostgreSQL text cannot hold, and keeps the rest', async () => {
    const runId = await stepRun();
    const logs = new StepLogWriter(t.db, runId, 1, 0);
    await logs.write('stdout', Buffer.from('a\0b\n'));
    await logs.close();
    const { rows } = await sql<{ chunk: string }>`select chunk from step_logs where step_run_id = ${runId}`.execute(t.db);
    expect(rows.map((r) => r.chunk)).toEqual(['a\uFFFDb\n']);
  });

  it('surfaces a failed insert on a later write and on close()', async () => {
    const logs = new StepLogWriter(t.db, 2_000_000_000, 1, 0); // no such step run: the insert fails
    let failure: unknown = null;
    try {
      for (let i = 0; i < 64; i++) {
        const pending = logs.write('stdout', chunk(i));
        if (pending) await pending;
      }
    } catch (err) {
      failure = err;
    }
    expect(String(failure)).toMatch(/foreign key/);
    await expect(logs.close()).rejects.toThrow(/foreign key/);
  });
});
