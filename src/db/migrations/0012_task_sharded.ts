// Frozen: whether the task's hosts run in shards (child workflows), decided at submit from its
// plan and the configured shard size. Host interventions on an unsharded task go straight to its
// workflow; null (tasks stored before this column) means not known: ask the workflow.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('sharded', 'boolean').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').dropColumn('sharded').execute();
}
