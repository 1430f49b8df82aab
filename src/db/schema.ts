// Table types in one place (Kysely). Generated<> marks columns the database fills in.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Role } from '../domain/permissions';
import type { OnFailure, Schedule, StepStatus, TaskStatus, Trigger } from '../domain/statuses';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** Defaulted by the database on insert, set by us on update. */
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** A jsonb column with a database default. */
type JsonWithDefault<T> = ColumnType<T, string | undefined, string>;

export interface UsersTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  password_hash: string;
  totp_secret: string | null;
  totp_last_step: ColumnType<string | null, number | null | undefined, number | null>;
  role: Role;
  disabled: Generated<boolean>;
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  created_at: CreatedAt;
}

/** Failed logins per (account, client address); a row with locked_until ahead is a lock. */
export interface LoginFailuresTable {
  user_id: number;
  /** An IPv4 address or an IPv6 /64 prefix. */
  address: string;
  failures: number;
  last_failure_at: Timestamp;
  locked_until: Timestamp | null;
}

export interface SessionsTable {
  id: Generated<number>;
  token_hash: string;
  user_id: number;
  created_at: CreatedAt;
  expires_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  token_hash: string;
  user_id: number;
  created_at: CreatedAt;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface CsrfKeysTable {
  key: string;
  user_id: number;
  created_at: CreatedAt;
  used_at: Timestamp | null;
  task_id: number | null;
}

export interface ExecUsersTable {
  id: Generated<number>;
  alias: string;
  username: string;
  port: Generated<number>;
  private_key: string | null;
  password: string | null;
  key_fingerprint: string | null;
  host_key_policy: Generated<'tofu' | 'strict' | 'off'>;
  remarks: Generated<string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface KnownHostsTable {
  id: Generated<number>;
  host: string;
  port: number;
  key_type: string;
  fingerprint: string;
  first_seen: CreatedAt;
  pinned_by: Generated<string>;
}

export interface CommandsTable {
  id: Generated<number>;
  name: string;
  command: string;
  args: Generated<string>;
  force_host: ColumnType<string | null, string | null | undefined, string | null>;
  created_by: Generated<string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** CODO's argument labels (参数对照表): a display name for a task argument key. */
export interface ArgLabelsTable {
  id: Generated<number>;
  label: string;
  arg_key: string;
  created_by: Generated<string>;
  updated_at: UpdatedAt;
}

export interface TemplatesTable {
  id: Generated<number>;
  name: string;
  description: Generated<string>;
  allowed_submitters: JsonWithDefault<string[]>;
  approvers: JsonWithDefault<string[]>;
  max_parallel: Generated<number>;
  max_hosts_per_group: Generated<number>;
  created_by: Generated<string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

interface StepColumns {
  id: Generated<number>;
  group_no: number;
  level: number;
  name: string;
  command: string;
  args: Generated<string>;
  trigger: Generated<Trigger>;
  exec_user: string;
  force_host: string | null;
  timeout_s: Generated<number>;
  retries: Generated<number>;
  idempotent: Generated<boolean>;
  on_failure: Generated<OnFailure>;
}

/** The step columns template_steps and task_steps share (a task keeps a frozen copy). */
export const STEP_COLUMNS = [
  'group_no', 'level', 'name', 'command', 'args', 'trigger', 'exec_user',
  'force_host', 'timeout_s', 'retries', 'idempotent', 'on_failure',
] as const satisfies readonly Exclude<keyof StepColumns, 'id'>[];

export interface TemplateStepsTable extends StepColumns {
  template_id: number;
}

export interface TaskStepsTable extends StepColumns {
  task_id: number;
}

export interface TasksTable {
  id: Generated<number>;
  task_name: string;
  task_type: Generated<string>;
  submitter: string;
  creator: string;
  approver: string | null;
  executor: Generated<string>;
  associated_user: JsonWithDefault<Record<string, string[]>>;
  template_id: number;
  schedule: Schedule;
  exec_time: Timestamp | null;
  /** Set when an approver chose a start time or the task was rescheduled (null: exec_time). */
  planned_start: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
  /** Whether its hosts run in shards (decided at submit); null: stored before that was recorded. */
  sharded: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  start_time: Timestamp | null;
  args: Json<Record<string, string>>;
  hosts: Json<Record<string, string[]>>;
  details: Generated<string>;
  status: TaskStatus;
  max_parallel: Generated<number>;
  idempotency_key: string | null;
  /** sha256 of the submission (null: submitted without a key, or before migration 0006). */
  request_digest: ColumnType<string | null, string | null | undefined, string | null>;
  workflow_id: Generated<string>;
  created_at: CreatedAt;
  finished_at: Timestamp | null;
}

export interface StepRunsTable {
  id: Generated<number>;
  task_id: number;
  task_step_id: number;
  group_no: number;
  host: string;
  level: number;
  attempt: Generated<number>;
  status: StepStatus;
  exit_code: number | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  error: string | null;
  updated_at: UpdatedAt;
}

export interface StepLogsTable {
  id: Generated<string>;
  step_run_id: number;
  attempt: number;
  seq: number;
  stream: 'stdout' | 'stderr' | 'system';
  chunk: string;
  at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string;
  detail: Json<Record<string, unknown>>;
  ip: string;
  result: string;
  /** HMAC of the row's content, set by the writer (null: chained before migration 0008). */
  row_mac: string | null;
  /** Set by the sealer (null: not chained yet); seal_seq is the chain's order. */
  prev_hash: string | null;
  hash: string | null;
  seal_seq: string | null;
}

/** The outbox of workflow starts: a row per accepted task whose workflow has not been started yet. */
export interface WorkflowStartsTable {
  task_id: number;
  /** What the start needs (src/tasks/workflowStart.ts WorkflowStart). */
  start: Json<unknown>;
  created_at: CreatedAt;
  attempts: Generated<number>;
  last_error: string | null;
}

export interface Database {
  users: UsersTable;
  login_failures: LoginFailuresTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  csrf_keys: CsrfKeysTable;
  exec_users: ExecUsersTable;
  known_hosts: KnownHostsTable;
  commands: CommandsTable;
  arg_labels: ArgLabelsTable;
  templates: TemplatesTable;
  template_steps: TemplateStepsTable;
  tasks: TasksTable;
  task_steps: TaskStepsTable;
  step_runs: StepRunsTable;
  step_logs: StepLogsTable;
  audit_log: AuditLogTable;
  workflow_starts: WorkflowStartsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ExecUser = Selectable<ExecUsersTable>;
export type Template = Selectable<TemplatesTable>;
export type TemplateStep = Selectable<TemplateStepsTable>;
export type Task = Selectable<TasksTable>;
export type TaskStep = Selectable<TaskStepsTable>;
export type StepRun = Selectable<StepRunsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
