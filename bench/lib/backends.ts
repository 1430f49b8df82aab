// The servers a benchmark runs opsflow on, started as `npm start` starts them: embedded
// PostgreSQL and the Temporal dev server, each found again by pid so its CPU can be read.
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/db/embedded';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { startDevServer, type DevServerOptions, type RunningDevServer } from '../../src/temporal/devServer';
import { freePort } from '../../test/support/ports';
import { pidsWithCmdline } from './proc';

export interface BenchBackends {
  /** The Temporal CLI that runs the dev server. */
  cli: string;
  postgres: RunningPostgres;
  temporal: RunningDevServer;
  /** The PostgreSQL postmaster and the dev server: roots of the process trees whose CPU counts. */
  postgresPids: number[];
  temporalPids: number[];
}

/** What a benchmark may set on the dev server (the rest is fixed: a free port, no Web UI). */
export type DevServerChoices = Partial<Pick<DevServerOptions, 'dbFile' | 'sqlitePragmas' | 'dynamicConfig'>>;

/**
 * Starts both servers under `runDir`. Each stop function is pushed to `stoppers` as soon as its
 * server runs, so the caller stops what started even when a later step throws.
 */
export async function startBenchBackends(runDir: string, log: (line: string) => void, stoppers: (() => Promise<void>)[], devServer: DevServerChoices = {}): Promise<BenchBackends> {
  const pgPort = await freePort();
  const pgDir = path.join(runDir, 'pg');
  const [cli, postgres] = await Promise.all([ensureTemporalCli(log), startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, onNotice: log })]);
  stoppers.push(() => postgres.stop());
  const temporalPort = await freePort();
  const temporal = await startDevServer({ cliPath: cli, port: temporalPort, uiPort: null, dbFile: null, namespace: 'default', ...devServer });
  stoppers.push(() => temporal.stop());

  // The children we started, found by what only they have on their command lines.
  const postgresPids = pidsWithCmdline(`-p ${pgPort} -h 127.0.0.1`).filter((p) => cmdlineOf(p).includes(pgDir));
  const temporalPids = pidsWithCmdline(`--port ${temporalPort}`).filter((p) => cmdlineOf(p).includes('start-dev'));
  if (postgresPids.length !== 1 || temporalPids.length !== 1) {
    throw new Error(`cannot find the PostgreSQL (${postgresPids.join(',')}) or Temporal (${temporalPids.join(',')}) process`);
  }
  return { cli, postgres, temporal, postgresPids, temporalPids };
}

export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
