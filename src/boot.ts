// Brings up the two backing services for a process: PostgreSQL (external or embedded)
// and Temporal (external cluster or a local dev server), each with a stop().
import fs from 'node:fs';
import path from 'node:path';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import pg from 'pg';
import type { Config } from './config';
import { createDb, migrateToLatest, type Db } from './db/database';
import { startEmbeddedPostgres } from './db/embedded';
import { ensureTemporalCli } from './temporal/cli';
import { startDevServer } from './temporal/devServer';
import { ensureNamespace, ensureSearchAttributes } from './temporal/searchAttributes';

export type Log = (line: string) => void;

export interface DatabaseHandle {
  db: Db;
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** `migrate`: run migrations on start (true for start/api/worker). */
export async function bootDatabase(config: Config, log: Log, opts: { migrate: boolean }): Promise<DatabaseHandle> {
  let url = config.DATABASE_URL;
  let stopServer = (): Promise<void> => Promise.resolve();
  if (!url) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg'), port: config.OPSFLOW_PG_PORT, onNotice: log });
    log(pg.ownedByUs ? `PostgreSQL (embedded) started on 127.0.0.1:${config.OPSFLOW_PG_PORT}` : `PostgreSQL (embedded) already running on 127.0.0.1:${config.OPSFLOW_PG_PORT}`);
    await ensureDatabase(pg.adminUrl, 'opsflow');
    url = pg.urlFor('opsflow');
    stopServer = () => pg.stop();
  }
  const db = createDb(url);
  if (opts.migrate) await migrateToLatest(db);
  return {
    db,
    url,
    embedded: !config.DATABASE_URL,
    async stop() {
      await db.destroy();
      await stopServer();
    },
  };
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

export interface TemporalHandle {
  address: string;
  uiUrl: string | null;
  connection: Connection;
  stop(): Promise<void>;
}

export async function bootTemporal(config: Config, log: Log): Promise<TemporalHandle> {
  let address = config.TEMPORAL_ADDRESS;
  let uiUrl: string | null = null;
  let stopServer = (): Promise<void> => Promise.resolve();
  if (!address) {
    const cli = await ensureTemporalCli(log);
    fs.mkdirSync(config.dataDir, { recursive: true });
    const server = await startDevServer({
      cliPath: cli,
      port: config.OPSFLOW_TEMPORAL_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      pidFile: path.join(config.dataDir, 'temporal.pid'),
      namespace: config.TEMPORAL_NAMESPACE,
      onNotice: log,
    });
    log(`Temporal dev server started on ${server.address}`);
    address = server.address;
    uiUrl = server.uiUrl;
    stopServer = () => server.stop();
  }
  const connection = await Connection.connect(clientConnectionOptions(address));
  await ensureNamespace(connection, config.TEMPORAL_NAMESPACE);
  await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  return {
    address,
    uiUrl,
    connection,
    async stop() {
      await connection.close();
      await stopServer();
    },
  };
}

/**
 * The API's Temporal connection. While the server restarts, a call gives up after about six
 * seconds (7 tries instead of the SDK's 10, ~18 s) so a person gets a prompt 503, and the channel
 * reconnects within two seconds of the server being back (gRPC's default backoff grows to 120 s).
 */
export function clientConnectionOptions(address: string): Parameters<typeof Connection.connect>[0] {
  return {
    address,
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 2000 },
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 7 }))],
  };
}
