// Frozen: a digest of the submission a task was created from, so a reused idempotency key
// (CODO csrf_key, /api/v1 Idempotency-Key) is answered with the task only when the request is
// the same one; a different request under a used key is refused instead of silently answered.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('request_digest', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').dropColumn('request_digest').execute();
}
