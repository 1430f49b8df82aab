// Proves the harness talks to real components: PostgreSQL, Temporal + Worker.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { migrationStatus } from '../../src/db/database';

let database: TestDatabase;
let temporal: TestTemporal;

beforeAll(async () => {
  database = await createTestDatabase();
  temporal = await connectTestTemporal();
});
afterAll(async () => {
  await database.close();
  await temporal.close();
});

describe('harness smoke', () => {
  it('round-trips SQL through the real embedded PostgreSQL with the schema migrated', async () => {
    const { rows } = await sql<{ v: string; n: number }>`select version() as v, 41 + 1 as n`.execute(database.db);
    expect(rows[0]?.v).toMatch(/^PostgreSQL 18/);
    expect(rows[0]?.n).toBe(42);
    const inserted = await database.db
      .insertInto('commands')
      .values({ name: 'uptime', command: 'uptime' })
      .returning(['id', 'name'])
      .executeTakeFirstOrThrow();
    const read = await database.db.selectFrom('commands').selectAll().where('id', '=', inserted.id).executeTakeFirstOrThrow();
    expect(read.command).toBe('uptime');
    const status = await migrationStatus(database.db);
    expect(status.every((m) => m.executedAt !== null)).toBe(true);
  });
});
