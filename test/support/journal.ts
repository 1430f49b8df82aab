// Where a task keeps its step journals on the test targets: they run on this machine as the
// test's own account, so it is this account's home (docs/engine.md#the-journal-on-the-host).
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { taskJournalName } from '../../activities/ssh/driver';
import type { Db } from '../../src/db/database';

export async function taskJournalDir(db: Db, taskId: number): Promise<string> {
  const { created } = await db
    .selectFrom('tasks')
    .select(sql<string>`(extract(epoch from created_at) * 1000000)::bigint::text`.as('created'))
    .where('id', '=', taskId)
    .executeTakeFirstOrThrow();
  return path.join(os.homedir(), '.opsflow', 'journal', taskJournalName(taskId, created));
}
