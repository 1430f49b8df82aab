// Frozen: the initial schema (table types: src/db/schema.ts). Never edit a released migration;
// add a new one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('totp_secret', 'text') // sealed with the master key
    .addColumn('totp_last_step', 'bigint') // a TOTP code is accepted once
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  // CODO's one-use csrf_key; a used key remembers the task it created (idempotent retry).
  await db.schema
    .createTable('csrf_keys')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('used_at', 'timestamptz')
    .addColumn('task_id', 'integer')
    .execute();

  await db.schema
    .createTable('exec_users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('alias', 'text', (c) => c.notNull().unique())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull().defaultTo(22))
    .addColumn('private_key', 'text') // sealed
    .addColumn('password', 'text') // sealed
    .addColumn('key_fingerprint', 'text') // public: SHA256 of the key's public half
    .addColumn('host_key_policy', 'text', (c) => c.notNull().defaultTo('tofu'))
    .addColumn('remarks', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('known_hosts')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('pinned_by', 'text', (c) => c.notNull().defaultTo('tofu'))
    .addUniqueConstraint('known_hosts_host_port', ['host', 'port'])
    .execute();

  await db.schema
    .createTable('commands')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('args', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('allowed_submitters', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`)) // usernames; [] = role decides
    .addColumn('approvers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`)) // usernames besides approver role
    .addColumn('max_parallel', 'integer', (c) => c.notNull().defaultTo(50))
    .addColumn('max_hosts_per_group', 'integer', (c) => c.notNull().defaultTo(100))
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await createStepTable(db, 'template_steps', 'templates', 'template_id');
  await createTasks(db);
  await createStepTable(db, 'task_steps', 'tasks', 'task_id');

  await db.schema
    .createTable('step_runs')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('task_step_id', 'integer', (c) => c.notNull().references('task_steps.id').onDelete('cascade'))
    .addColumn('group_no', 'integer', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('exit_code', 'integer')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('error', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('step_runs_step_host', ['task_step_id', 'host'])
    .execute();
  await db.schema.createIndex('step_runs_task').on('step_runs').columns(['task_id', 'group_no', 'host', 'level']).execute();

  await db.schema
    .createTable('step_logs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('step_run_id', 'integer', (c) => c.notNull().references('step_runs.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('chunk', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('step_logs_order', ['step_run_id', 'attempt', 'seq'])
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'at']).execute();
}

/** Step columns shared by template_steps and the frozen copy in task_steps. */
async function createStepTable(db: Kysely<unknown>, table: string, parent: string, parentColumn: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn(parentColumn, 'integer', (c) => c.notNull().references(`${parent}.id`).onDelete('cascade'))
    .addColumn('group_no', 'integer', (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('args', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('trigger', 'text', (c) => c.notNull().defaultTo('order')) // order | timed | hand
    .addColumn('exec_user', 'text', (c) => c.notNull()) // exec_users.alias
    .addColumn('force_host', 'text')
    .addColumn('timeout_s', 'integer', (c) => c.notNull().defaultTo(1800))
    .addColumn('retries', 'integer', (c) => c.notNull().defaultTo(2)) // transport retries
    .addColumn('idempotent', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('on_failure', 'text', (c) => c.notNull().defaultTo('hold')) // hold | abort | continue
    .execute();
  await db.schema.createIndex(`${table}_parent`).on(table).columns([parentColumn, 'group_no', 'level']).execute();
}

async function createTasks(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tasks')
    .addColumn('id', 'serial', (c) => c.primaryKey()) // CODO's list_id
    .addColumn('task_name', 'text', (c) => c.notNull())
    .addColumn('task_type', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('submitter', 'text', (c) => c.notNull()) // display name given by the client (CODO semantics)
    .addColumn('creator', 'text', (c) => c.notNull()) // authenticated username that created it
    .addColumn('approver', 'text')
    .addColumn('executor', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('associated_user', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('template_id', 'integer', (c) => c.notNull().references('templates.id'))
    .addColumn('schedule', 'text', (c) => c.notNull()) // new | ready
    .addColumn('exec_time', 'timestamptz')
    .addColumn('start_time', 'timestamptz')
    .addColumn('args', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('hosts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('details', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('max_parallel', 'integer', (c) => c.notNull().defaultTo(50))
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('workflow_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('tasks_status').on('tasks').columns(['status', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'audit_log', 'step_logs', 'step_runs', 'task_steps', 'tasks', 'template_steps', 'templates',
    'commands', 'known_hosts', 'exec_users', 'csrf_keys', 'api_tokens', 'sessions', 'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
