// The opsflow CLI: start | api | worker | migrate | user | token | audit.
import type http from 'node:http';
import { Client } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config';
import { bootDatabase, bootTemporal, type DatabaseHandle, type TemporalHandle } from './boot';
import { createApiServer } from './api/server';
import { startWorker, type RunningWorker } from './temporal/worker';
import { migrateDown, migrateToLatest, migrationStatus } from './db/database';
import { loadSecretBox } from './masterKey';
import { bootstrapAdmin } from './bootstrapAdmin';
import { createLogger, type Logger } from './log';
import { runUserCommand } from './cli/userCommands';
import { runAuditCommand, runTokenCommand } from './cli/tokenAuditCommands';

type Stopper = { name: string; stop: () => Promise<void> };

/**
 * Stops parts in reverse start order on SIGINT, SIGTERM or SIGHUP (the terminal closed).
 * A second SIGINT/SIGTERM forces the exit; a second SIGHUP does not, because closing a terminal
 * delivers one from the kernel and another from the shell.
 */
function stopOnSignals(stoppers: Stopper[], log: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      if (signal === 'SIGHUP') return;
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    // After a hangup the terminal is gone: a failed log write must not end the shutdown half way.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    log.info(`${signal} received: shutting down`);
    void (async () => {
      for (const part of [...stoppers].reverse()) {
        try {
          await part.stop();
          log.info(`stopped ${part.name}`);
        } catch (err) {
          log.error(`stopping ${part.name} failed: ${String(err)}`);
        }
      }
      process.exit(0);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, handler);
}

function listen(server: http.Server, config: Config): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`PORT=${config.PORT} is already in use`) : err),
    );
    server.listen(config.PORT, config.HOST, () => resolve(server));
  });
}

async function runServices(config: Config, log: Logger, parts: { api: boolean; worker: boolean }): Promise<void> {
  const stoppers: Stopper[] = [];
  stopOnSignals(stoppers, log);
  try {
    await bootServices(config, log, parts, stoppers);
  } catch (err) {
    // Leave no child process behind when start-up fails half way.
    for (const part of [...stoppers].reverse()) await part.stop().catch(() => undefined);
    throw err;
  }
}

async function bootServices(config: Config, log: Logger, parts: { api: boolean; worker: boolean }, stoppers: Stopper[]): Promise<void> {
  const info = (line: string): void => log.info(line);
  const database: DatabaseHandle = await bootDatabase(config, info, { migrate: true });
  stoppers.push({ name: 'PostgreSQL', stop: () => database.stop() });
  const temporal: TemporalHandle = await bootTemporal(config, info);
  stoppers.push({ name: 'Temporal', stop: () => temporal.stop() });
  const box = loadSecretBox(config.OPSFLOW_MASTER_KEY, config.dataDir);

  if (parts.worker) {
    const worker: RunningWorker = await startWorker({
      address: temporal.address,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.OPSFLOW_TASK_QUEUE,
      deps: { db: database.db, box, config },
    });
    stoppers.push({ name: 'worker', stop: () => worker.stop() });
    log.info(`worker polling task queue ${config.OPSFLOW_TASK_QUEUE}`);
    worker.done.catch((err: unknown) => log.error(`worker stopped: ${String(err)}`));
  }

  let base = '';
  if (parts.api) {
    const api = createApiServer({
      db: database.db,
      temporal: temporal.connection,
      client: new Client({ connection: temporal.connection, namespace: config.TEMPORAL_NAMESPACE }),
      taskQueue: config.OPSFLOW_TASK_QUEUE,
      box,
      config,
      approvalTimeoutS: config.OPSFLOW_APPROVAL_TIMEOUT_S || null,
      shardHosts: config.OPSFLOW_SHARD_HOSTS,
      maxRunsPerTask: config.OPSFLOW_MAX_RUNS_PER_TASK,
      log: (l) => log.error(l),
    });
    await listen(api.server, config);
    stoppers.push({ name: 'HTTP', stop: () => api.close() });
    base = `http://${config.HOST}:${config.PORT}`;
  }

  // The first admin is created by the process that serves logins.
  const credentials = parts.api ? await bootstrapAdmin(database.db, box, config.dataDir) : null;
  const lines = ['', 'opsflow is running.'];
  if (base) {
    lines.push(`  API:              ${base}/api/`, `  API docs:         ${base}/api/docs`, `  Console:          ${base}/`);
  }
  if (temporal.uiUrl) lines.push(`  Temporal Web UI:  ${temporal.uiUrl}`);
  lines.push(`  Temporal:         ${temporal.address} (namespace ${config.TEMPORAL_NAMESPACE})`);
  lines.push(`  PostgreSQL:       ${database.embedded ? `embedded, 127.0.0.1:${config.OPSFLOW_PG_PORT}` : 'DATABASE_URL'}`);
  if (credentials) lines.push('', credentials);
  else if (base) lines.push('', `  Log in as an existing user (first-start credentials: ${config.dataDir}/admin-credentials.txt).`);
  lines.push('', 'Press Ctrl+C to stop.', '');
  process.stdout.write(lines.join('\n'));
}

async function runMigrate(config: Config, log: Logger, action: string): Promise<void> {
  const database = await bootDatabase(config, (l) => log.info(l), { migrate: false });
  try {
    if (action === 'latest') {
      const { results } = await migrateToLatest(database.db);
      console.log(results?.length ? results.map((r) => `${r.migrationName}: ${r.status}`).join('\n') : 'already at latest');
    } else if (action === 'down') {
      const { results } = await migrateDown(database.db);
      console.log(results?.length ? results.map((r) => `${r.migrationName}: reverted`).join('\n') : 'nothing to revert');
    } else if (action === 'status') {
      for (const m of await migrationStatus(database.db)) {
        console.log(`${m.name}  ${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending'}`);
      }
    } else {
      throw new ConfigError(`migrate: unknown action '${action}' (expected latest, down or status)`);
    }
  } finally {
    await database.stop();
  }
}

const USAGE = `usage: opsflow <command>
  start                    database, Temporal, migrations, API and worker in one process
  api                      the HTTP API only (DATABASE_URL / TEMPORAL_ADDRESS for scale-out)
  worker                   the Temporal worker only
  migrate [latest|down|status]
  user add <username> --role <role> [--password-stdin] [--json]
  user list | disable <username> | enable <username> | unlock <username> | reset-password <username> | reset-totp <username>
  token create <username> [--name N] [--expires-in-days D] [--json] | token list [username] | token revoke <id>
  audit verify [--json] | audit list [--limit N] [--json]`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  switch (command) {
    case 'start':
      return runServices(config, log, { api: true, worker: true });
    case 'api':
      return runServices(config, log, { api: true, worker: false });
    case 'worker':
      return runServices(config, log, { api: false, worker: true });
    case 'migrate':
      return runMigrate(config, log, parseArgs({ args: rest, allowPositionals: true }).positionals[0] ?? 'latest');
    case 'user':
      return runUserCommand(config, log, rest);
    case 'token':
      return runTokenCommand(config, log, rest);
    case 'audit':
      return runAuditCommand(config, log, rest);
    default:
      console.error(USAGE);
      process.exitCode = command ? 2 : 0;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // One clear line, never a stack trace, for the errors a user can fix.
  const message = err instanceof Error ? err.message : String(err);
  console.error(`opsflow: ${message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
