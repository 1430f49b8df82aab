import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';
import { migrations } from './migrations/index';

export type Db = Kysely<Database>;

// bigint (int8) columns come back as strings by default; ids and counters here fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createDb(databaseUrl: string, maxConnections = 20): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConnections });
  // An idle client error (server restart) must not crash the process; the pool reconnects.
  pool.on('error', () => undefined);
  // The same for a client that is checked out between two queries (a transaction such as the
  // audit sealer's): its error reaches the next query instead of crashing the process, and the
  // pool drops the client when it comes back unqueryable.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

function migrator(db: Db): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
}

function check({ error, results }: MigrationResultSet): MigrationResultSet {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
  return { results };
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  return check(await migrator(db).migrateToLatest());
}

export async function migrateDown(db: Db): Promise<MigrationResultSet> {
  return check(await migrator(db).migrateDown());
}

export async function migrationStatus(db: Db): Promise<{ name: string; executedAt: Date | null }[]> {
  const list = await migrator(db).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}
