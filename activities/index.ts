// createActivities(deps): the activities the worker registers, bound to their dependencies.
import type { Db } from '../src/db/database';
import type { SecretBox } from '../src/security/secretBox';
import { ConnectionPool } from './connectionPool';
import { executeBatch } from './batchRunner';
import { settleLostStep } from './stepRunner';
import { recordStepStatus, recordTaskPlan, recordTaskStatus } from './taskStore';
import type { Cidr } from './targets';
import type { TaskActivities } from './types';

export interface ActivityDeps {
  db: Db;
  box: SecretBox;
  config: { allowedTargets: readonly Cidr[] };
  /** Shared SSH connections; one per worker by default. */
  pool?: ConnectionPool;
}

export function createActivities(deps: ActivityDeps): TaskActivities {
  const runner = { db: deps.db, box: deps.box, pool: deps.pool ?? new ConnectionPool(), allowedTargets: deps.config.allowedTargets };
  return {
    executeBatch: (input) => executeBatch(runner, input),
    settleLostStep: (input) => settleLostStep(deps.db, input),
    recordTaskStatus: (input) => recordTaskStatus(deps.db, input),
    recordTaskPlan: (input) => recordTaskPlan(deps.db, input),
    recordStepStatus: (input) => recordStepStatus(deps.db, input),
  };
}
