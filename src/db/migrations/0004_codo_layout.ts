// Frozen: what CODO's template management (task_layout) keeps that opsflow had no place for —
// a command's force_host and update time, and CODO's argument label table (参数对照表:
// a display name per task argument key).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('commands')
    .addColumn('force_host', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('arg_labels')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('label', 'text', (c) => c.notNull().unique()) // CODO args_name
    .addColumn('arg_key', 'text', (c) => c.notNull()) // CODO args_self
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('arg_labels').ifExists().execute();
  await db.schema.alterTable('commands').dropColumn('force_host').dropColumn('updated_at').execute();
}
