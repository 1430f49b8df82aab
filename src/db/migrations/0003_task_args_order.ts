// Frozen: tasks.args as json (not jsonb) so arguments keep the order the client sent them in —
// CODO's order view lists them (new_args, new_args_list) in submission order.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table tasks alter column args drop default`.execute(db);
  await sql`alter table tasks alter column args type json using args::json`.execute(db);
  await sql`alter table tasks alter column args set default '{}'::json`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table tasks alter column args drop default`.execute(db);
  await sql`alter table tasks alter column args type jsonb using args::jsonb`.execute(db);
  await sql`alter table tasks alter column args set default '{}'::jsonb`.execute(db);
}
