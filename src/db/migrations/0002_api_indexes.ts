// Frozen: indexes for the API's read paths (audit filters, task lists, session cleanup).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'id']).execute();
  await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target', 'id']).execute();
  await db.schema.createIndex('tasks_creator').on('tasks').columns(['creator', 'id']).execute();
  await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();
  await db.schema.createIndex('api_tokens_user').on('api_tokens').columns(['user_id']).execute();
  await db.schema.createIndex('csrf_keys_user').on('csrf_keys').columns(['user_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of ['csrf_keys_user', 'api_tokens_user', 'sessions_user', 'tasks_creator', 'audit_log_target', 'audit_log_action']) {
    await db.schema.dropIndex(name).ifExists().execute();
  }
}
