// Reading task state from PostgreSQL (kept current by the workflow and activities) and shaping
// it for the CODO replies and the native API.
import type { Db } from '../db/database';
import type { Task } from '../db/schema';
import { formatCodoTime } from '../domain/execTime';
import { formatPythonLiteral } from '../domain/pythonLiteral';
import { isStepStatus, isTaskStatus, stepStatusToCodo, taskStatusToCodo, taskStatusToCodoSchedule, type StepStatus } from '../domain/statuses';

export interface StepView {
  /** step_runs.id (CODO's sched_id). */
  id: number;
  /** task_steps.id: the step in the task's frozen plan. */
  step_id: number;
  group: number;
  host: string;
  level: number;
  name: string;
  command: string;
  args: string;
  trigger: string;
  exec_user: string;
  force_host: string | null;
  status: string;
  exit_code: number | null;
  attempt: number;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export async function taskSteps(db: Db, taskId: number, filter: { group?: number; host?: string } = {}): Promise<StepView[]> {
  let q = db
    .selectFrom('step_runs as r')
    .innerJoin('task_steps as s', 's.id', 'r.task_step_id')
    .select([
      'r.id',
      'r.task_step_id as step_id',
      'r.group_no as group',
      'r.host',
      'r.level',
      's.name',
      's.command',
      's.args',
      's.trigger',
      's.exec_user',
      's.force_host',
      'r.status',
      'r.exit_code',
      'r.attempt',
      'r.error',
      'r.started_at',
      'r.finished_at',
    ])
    .where('r.task_id', '=', taskId);
  if (filter.group !== undefined) q = q.where('r.group_no', '=', filter.group);
  if (filter.host !== undefined) q = q.where('r.host', '=', filter.host);
  return q.orderBy('r.group_no').orderBy('r.host').orderBy('r.level').orderBy('r.id').execute();
}

export function codoTaskStatus(status: string): string {
  return isTaskStatus(status) ? taskStatusToCodo(status) : status;
}

export function codoStepStatus(status: string): string {
  return isStepStatus(status) ? stepStatusToCodo(status) : status;
}

export function codoSchedule(status: string): string {
  return isTaskStatus(status) ? taskStatusToCodoSchedule(status) : 'new';
}

function codoTime(d: Date | null, tz: string): string {
  return d ? formatCodoTime(d, tz) : '';
}

/** CODO hosts literal: `{1: '10.0.0.1,10.0.0.2'}`. */
export function codoHosts(hosts: Record<string, string[]>): string {
  const map = new Map<number, string>(Object.entries(hosts).map(([g, hs]) => [Number(g), hs.join(',')]));
  return formatPythonLiteral(map);
}

/** An order as CODO's list and history replies show it. */
export function codoOrder(task: Task, tz: string, description = ''): Record<string, unknown> {
  return {
    list_id: task.id,
    task_name: task.task_name,
    task_type: task.task_type,
    hosts: codoHosts(task.hosts),
    args: formatPythonLiteral(task.args),
    details: task.details,
    description,
    associated_user: formatPythonLiteral(task.associated_user ?? {}),
    creator: task.submitter,
    executor: task.executor || task.approver || '',
    status: codoTaskStatus(task.status),
    schedule: codoSchedule(task.status),
    temp_id: task.template_id,
    create_time: codoTime(task.created_at, tz),
    start_time: codoTime(task.start_time ?? task.exec_time, tz),
    // opsflow additions
    task_status: task.status,
    exec_time: codoTime(task.exec_time, tz),
    finish_time: codoTime(task.finished_at, tz),
  };
}

/** The native representation of a task (without steps). */
export function taskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    task_name: task.task_name,
    task_type: task.task_type,
    template_id: task.template_id,
    status: task.status,
    schedule: task.schedule,
    creator: task.creator,
    submitter: task.submitter,
    approver: task.approver,
    executor: task.executor,
    associated_user: task.associated_user,
    args: task.args,
    hosts: task.hosts,
    details: task.details,
    exec_time: task.exec_time,
    start_time: task.start_time,
    created_at: task.created_at,
    finished_at: task.finished_at,
    max_parallel: task.max_parallel,
    workflow_id: task.workflow_id,
  };
}

export function stepJson(s: StepView): Record<string, unknown> {
  return {
    id: s.id,
    step_id: s.step_id,
    group: s.group,
    host: s.host,
    level: s.level,
    name: s.name,
    trigger: s.trigger,
    exec_user: s.exec_user,
    status: s.status,
    exit_code: s.exit_code,
    attempt: s.attempt,
    error: s.error,
    started_at: s.started_at,
    finished_at: s.finished_at,
  };
}

export interface LogRow {
  id: number;
  step_run_id: number;
  attempt: number;
  seq: number;
  stream: string;
  chunk: string;
  at: Date;
  group: number;
  host: string;
  level: number;
  step: string;
}

export async function taskLogs(
  db: Db,
  taskId: number,
  opts: { after?: number; stepRunId?: number; host?: string; group?: number; limit: number },
): Promise<LogRow[]> {
  let q = db
    .selectFrom('step_logs as l')
    .innerJoin('step_runs as r', 'r.id', 'l.step_run_id')
    .innerJoin('task_steps as s', 's.id', 'r.task_step_id')
    .select(['l.id', 'l.step_run_id', 'l.attempt', 'l.seq', 'l.stream', 'l.chunk', 'l.at', 'r.group_no as group', 'r.host', 'r.level', 's.name as step'])
    .where('r.task_id', '=', taskId);
  if (opts.after !== undefined) q = q.where('l.id', '>', String(opts.after));
  if (opts.stepRunId !== undefined) q = q.where('l.step_run_id', '=', opts.stepRunId);
  if (opts.host !== undefined) q = q.where('r.host', '=', opts.host);
  if (opts.group !== undefined) q = q.where('r.group_no', '=', opts.group);
  const rows = await q.orderBy('l.id').limit(opts.limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Per step run: its log as text (CODO style lines), newest attempt, bounded to `maxChars` (tail kept). */
export async function stepLogTexts(db: Db, stepRunIds: number[], tz: string, maxChars = 64 * 1024): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (stepRunIds.length === 0) return out;
  const rows = await db
    .selectFrom('step_logs')
    .select(['step_run_id', 'attempt', 'seq', 'stream', 'chunk', 'at'])
    .where('step_run_id', 'in', stepRunIds)
    .orderBy('step_run_id')
    .orderBy('attempt')
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    const prefix = r.stream === 'system' ? '[opsflow] ' : r.stream === 'stderr' ? '[stderr] ' : '';
    const text = (out.get(r.step_run_id) ?? '') + `${formatCodoTime(r.at, tz)}： ${prefix}${r.chunk}${r.chunk.endsWith('\n') ? '' : '\n'}`;
    out.set(r.step_run_id, text.length > maxChars ? '…' + text.slice(text.length - maxChars) : text);
  }
  return out;
}

/** One CODO code per host from its step statuses (CODO's hosts_status). */
export function hostCodes(steps: readonly StepView[], hostStatus: (s: StepStatus[]) => string): Record<string, string> {
  const byHost = new Map<string, StepStatus[]>();
  for (const s of steps) {
    if (!isStepStatus(s.status)) continue;
    const list = byHost.get(s.host) ?? [];
    list.push(s.status);
    byHost.set(s.host, list);
  }
  return Object.fromEntries([...byHost].map(([h, ss]) => [h, hostStatus(ss)]));
}
