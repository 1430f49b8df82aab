// A fresh database per test file on the run's embedded PostgreSQL, migrated to latest.
import crypto from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { inject } from 'vitest';
import { createDb, migrateToLatest, type Db } from '../../src/db/database';

export interface TestDatabase {
  db: Db;
  url: string;
  close(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const db = createDb(url, 10);
  await migrateToLatest(db);
  // Task ids name Temporal workflows (`task-<id>`) on the run's shared dev server: give every
  // test database its own id range so parallel test files never reuse a running workflow's id.
  const offset = crypto.randomInt(1, 20_000) * 100_000;
  await sql`select setval(pg_get_serial_sequence('tasks', 'id'), ${offset})`.execute(db);
  return { db, url, close: () => db.destroy() };
}
