// createActivities(deps): the activities the worker registers. Filled by the task engine.
import type { Db } from '../src/db/database';
import type { SecretBox } from '../src/security/secretBox';
import type { Config } from '../src/config';

export interface ActivityDeps {
  db: Db;
  box: SecretBox;
  config: Pick<Config, 'allowedTargets' | 'OPSFLOW_TIMEZONE'>;
}

export function createActivities(_deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>> {
  return {};
}
