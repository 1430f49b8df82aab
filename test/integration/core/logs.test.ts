// The tasks core's log follower (followLogs) on a real PostgreSQL: rows of a task are written the
// way the activities write them, and the follower yields them in order, ends when what it follows
// has finished, and ends as soon as its credential is no longer valid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logout } from '../../../src/accounts/sessions';
import { createUser } from '../../../src/accounts/users';
import { generateMasterKey, parseMasterKey, SecretBox } from '../../../src/security/secretBox';
import { generateToken, hashToken } from '../../../src/security/tokens';
import { followLogs, stepRunLogChunks, type FollowEvent, type FollowOptions } from '../../../src/tasks/logs';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let t: TestDatabase;
const box = new SecretBox(parseMasterKey(generateMasterKey()));
let token: string;
let sessionId: number;

beforeAll(async () => {
  t = await createTestDatabase();
  await createUser(t.db, box, { username: 'reader', role: 'viewer' });
  const user = await t.db.selectFrom('users').select('id').where('username', '=', 'reader').executeTakeFirstOrThrow();
  // A session as logging in makes one.
  token = generateToken('ofs');
  const session = await t.db
    .insertInto('sessions')
    .values({ token_hash: hashToken(token), user_id: user.id, expires_at: new Date(Date.now() + 3_600_000) })
    .returning('id')
    .executeTakeFirstOrThrow();
  sessionId = session.id;
});
afterAll(async () => {
  await t?.close();
});

/** A running task with one step on two hosts; returns the task id and its two step run ids. */
async function runningTask(): Promise<{ taskId: number; runs: [number, number] }> {
  const tpl = await t.db.insertInto('templates').values({ name: `tpl-${Math.random()}` }).returning('id').executeTakeFirstOrThrow();
  const task = await t.db
    .insertInto('tasks')
    .values({ task_name: 'follow', submitter: 'reader', creator: 'reader', template_id: tpl.id, schedule: 'ready', exec_time: null, args: '{}', hosts: '{"1":["127.0.0.1","127.0.0.2"]}', status: 'running', idempotency_key: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const step = await t.db
    .insertInto('task_steps')
    .values({ task_id: task.id, group_no: 1, level: 1, name: 'echo', command: 'echo', exec_user: 'root', force_host: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const runs = await t.db
    .insertInto('step_runs')
    .values(['127.0.0.1', '127.0.0.2'].map((host) => ({ task_id: task.id, task_step_id: step.id, group_no: 1, host, level: 1, status: 'running' })))
    .returning('id')
    .execute();
  return { taskId: task.id, runs: [runs[0]!.id, runs[1]!.id] };
}

let seq = 0;
async function write(runId: number, chunk: string): Promise<void> {
  await t.db.insertInto('step_logs').values({ step_run_id: runId, attempt: 1, seq: seq++, stream: 'stdout', chunk }).execute();
}

/** Collects a follow's events until it ends, running `during` after the first look. */
async function collect(o: Omit<FollowOptions, 'credential' | 'pollMs'> & { credential?: string }, during: () => Promise<void>): Promise<FollowEvent[]> {
  const events: FollowEvent[] = [];
  let first = true;
  for await (const e of followLogs(t.db, { credential: token, pollMs: 30, ...o })) {
    events.push(e);
    if (first) {
      first = false;
      await during();
    }
  }
  return events;
}

const chunksOf = (events: FollowEvent[]) => events.flatMap((e) => (e.kind === 'rows' ? e.rows.map((r) => r.chunk) : []));

describe('followLogs', () => {
  it('yields the rows written before and while following, in order, and ends with the task', async () => {
    const { taskId, runs } = await runningTask();
    await write(runs[0], 'a\n');
    const events = await collect({ taskId, filter: {}, after: 0, until: 'task' }, async () => {
      await write(runs[1], 'b\n');
      await write(runs[0], 'c\n');
      await t.db.updateTable('tasks').set({ status: 'succeeded' }).where('id', '=', taskId).execute();
    });
    expect(chunksOf(events)).toEqual(['a\n', 'b\n', 'c\n']);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ kind: 'rows', status: 'succeeded', finished: true });
    expect(events.slice(0, -1).every((e) => e.kind === 'rows' && !e.finished)).toBe(true);
  });

  it('resumes after a row id and delivers a backlog larger than one batch before ending', async () => {
    const { taskId, runs } = await runningTask();
    for (let i = 0; i < 25; i++) await write(runs[0], `${i}\n`);
    await t.db.updateTable('tasks').set({ status: 'failed' }).where('id', '=', taskId).execute();
    const all = await collect({ taskId, filter: {}, after: 0, until: 'task', batch: 10 }, () => Promise.resolve());
    expect(chunksOf(all)).toHaveLength(25);
    expect(all.filter((e) => e.kind === 'rows' && e.finished)).toHaveLength(1);
    const head = all[0];
    const firstId = head?.kind === 'rows' ? head.rows[4]!.id : 0;
    const resumed = await collect({ taskId, filter: {}, after: firstId, until: 'task', batch: 10 }, () => Promise.resolve());
    expect(chunksOf(resumed)).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 5}\n`));
  });

  it("with until 'runs', follows only the given step runs and ends when they have finished", async () => {
    const { taskId, runs } = await runningTask();
    await write(runs[0], 'mine\n');
    await write(runs[1], 'other\n');
    const events = await collect({ taskId, filter: { stepRunIds: [runs[0]] }, after: 0, until: 'runs' }, async () => {
      await write(runs[0], 'done\n');
      await t.db.updateTable('step_runs').set({ status: 'succeeded' }).where('id', '=', runs[0]).execute();
    });
    expect(chunksOf(events)).toEqual(['mine\n', 'done\n']);
    expect(events[events.length - 1]).toMatchObject({ kind: 'rows', status: 'running', finished: true });
    const chunks = await stepRunLogChunks(t.db, [runs[0]]);
    expect(chunks.get(runs[0])?.map((c) => c.chunk)).toEqual(['mine\n', 'done\n']);
  });

  it('ends with unauthorized once the credential stops being valid', async () => {
    const { taskId } = await runningTask();
    const events = await collect({ taskId, filter: {}, after: 0, until: 'task', recheckMs: 50 }, () => logout(t.db, sessionId));
    expect(events[events.length - 1]).toEqual({ kind: 'unauthorized', reason: 'credential not recognised' });
  });

  it('ends when its signal aborts, also while waiting for the next look', async () => {
    const { taskId } = await runningTask();
    const stop = new AbortController();
    const started = Date.now();
    const events = await collect({ taskId, filter: {}, after: 0, until: 'task', credential: 'unused', recheckMs: 60_000, signal: stop.signal }, () => {
      setTimeout(() => stop.abort(), 50);
      return Promise.resolve();
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(events.length).toBeGreaterThanOrEqual(1);
  });
});
