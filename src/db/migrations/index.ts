// The ordered list of migrations. Each file is frozen once released; add new numbers only.
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_api_indexes';
import * as m0003 from './0003_task_args_order';
import * as m0004 from './0004_codo_layout';
import * as m0005 from './0005_task_planned_start';
import * as m0006 from './0006_task_request_fingerprint';
import * as m0007 from './0007_login_failures';
import * as m0008 from './0008_audit_sealer';
import * as m0011 from './0011_workflow_starts';
import * as m0012 from './0012_task_sharded';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_api_indexes': m0002,
  '0003_task_args_order': m0003,
  '0004_codo_layout': m0004,
  '0005_task_planned_start': m0005,
  '0006_task_request_fingerprint': m0006,
  '0007_login_failures': m0007,
  '0008_audit_sealer': m0008,
  '0011_workflow_starts': m0011,
  '0012_task_sharded': m0012,
};
