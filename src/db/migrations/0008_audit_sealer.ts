// Frozen: audit rows are written without a lock and chained afterwards by one sealer, in batches.
// row_mac (HMAC of the row's content) is set by the writer, so a row cannot be forged or edited
// while it waits; prev_hash/hash/seal_seq are set by the sealer, seal_seq giving the chain's order.
// Rows chained before this migration keep their hashes and get seal_seq = id (their chain order).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('audit_log')
    .addColumn('row_mac', 'text')
    .addColumn('seal_seq', 'bigint')
    .alterColumn('prev_hash', (c) => c.dropNotNull())
    .alterColumn('hash', (c) => c.dropNotNull())
    .execute();
  await sql`update audit_log set seal_seq = id`.execute(db);
  await db.schema.createIndex('audit_log_seal_seq').on('audit_log').column('seal_seq').unique().execute();
  await sql`create index audit_log_unsealed on audit_log (id) where seal_seq is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_unsealed').execute();
  await db.schema.dropIndex('audit_log_seal_seq').execute();
  await sql`delete from audit_log where seal_seq is null`.execute(db);
  await db.schema
    .alterTable('audit_log')
    .dropColumn('row_mac')
    .dropColumn('seal_seq')
    .alterColumn('prev_hash', (c) => c.setNotNull())
    .alterColumn('hash', (c) => c.setNotNull())
    .execute();
}
