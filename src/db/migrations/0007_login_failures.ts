// Frozen: failed logins counted and locked per (account, client address), so failures from one
// address lock the account for that address only (docs/api.md#login-lockout). users.failed_logins
// stays the account-wide count that paces every address; users.locked_until is no longer written,
// and locks it holds (for no particular address) are lifted here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_failures')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull()) // an IPv4 address or an IPv6 /64
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull())
    .addColumn('locked_until', 'timestamptz')
    .addPrimaryKeyConstraint('login_failures_pkey', ['user_id', 'address'])
    .execute();
  await sql`update users set locked_until = null where locked_until is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_failures').ifExists().execute();
}
