// A fresh database per test file on the run's embedded PostgreSQL, migrated to latest.
import crypto from 'node:crypto';
import pg from 'pg';
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
  return { db, url, close: () => db.destroy() };
}
