// What the API needs from the process: database, Temporal, secrets, settings.
import type { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/database';
import type { SecretBox } from '../security/secretBox';
import type { TaskServiceDeps } from '../tasks/submit';
import type { WorkflowStarter } from '../tasks/workflowStart';
import type { LoginLimiter } from './rateLimit';

export interface ApiDeps {
  db: Db;
  /** The raw connection, for /readyz. */
  temporal: Connection;
  client: Client;
  taskQueue: string;
  box: SecretBox;
  config: Pick<Config, 'OPSFLOW_TIMEZONE' | 'OPSFLOW_FOUR_EYES' | 'OPSFLOW_TRUSTED_PROXIES'>;
  log: (line: string) => void;
  /** Approval wait limit in seconds; null = wait forever. */
  approvalTimeoutS?: number | null;
  /** Hosts per shard of a large task (OPSFLOW_SHARD_HOSTS). */
  shardHosts?: number;
  /** Host × step runs one task may have (OPSFLOW_MAX_RUNS_PER_TASK). */
  maxRunsPerTask?: number;
  /** SSE follow poll interval (ms); tests may shorten it. */
  logPollMs?: number;
  /** Per-address login limits; createApp makes one when absent. */
  loginLimiter?: LoginLimiter;
  /** Starts accepted tasks' workflows after the reply; createApiServer makes one. */
  starter?: WorkflowStarter;
}

export function taskServiceDeps(deps: ApiDeps): TaskServiceDeps {
  return {
    db: deps.db,
    client: deps.client,
    taskQueue: deps.taskQueue,
    fourEyes: deps.config.OPSFLOW_FOUR_EYES,
    approvalTimeoutS: deps.approvalTimeoutS ?? null,
    ...(deps.shardHosts !== undefined ? { shardHosts: deps.shardHosts } : {}),
    ...(deps.maxRunsPerTask !== undefined ? { maxRunsPerTask: deps.maxRunsPerTask } : {}),
    ...(deps.starter ? { starter: deps.starter } : {}),
  };
}
