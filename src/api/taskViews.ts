// Reading task state from PostgreSQL (kept current by the workflow and activities) and shaping
// it for the CODO replies and the native API.
import type { Db } from '../db/database';
import type { Task } from '../db/schema';
import { formatCodoTime } from '../domain/execTime';
import { formatPythonLiteral } from '../domain/pythonLiteral';
import {
  stepStatusToCodo,
  taskStatusToCodo,
  taskStatusToCodoSchedule,
  type CodoSchedule,
  type CodoStatusCode,
  type StepStatus,
  type TaskStatus,
  type Trigger,
} from '../domain/statuses';

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
  trigger: Trigger;
  exec_user: string;
  force_host: string | null;
  status: StepStatus;
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

export function codoTaskStatus(status: TaskStatus): CodoStatusCode {
  return taskStatusToCodo(status);
}

export function codoStepStatus(status: StepStatus): CodoStatusCode {
  return stepStatusToCodo(status);
}

export function codoSchedule(status: TaskStatus): CodoSchedule {
  return taskStatusToCodoSchedule(status);
}

function codoTime(d: Date | null, tz: string): string {
  return d ? formatCodoTime(d, tz) : '';
}

/** CODO hosts literal: `{1: '10.0.0.1,10.0.0.2'}`. */
export function codoHosts(hosts: Record<string, string[]>): string {
  const map = new Map<number, string>(Object.entries(hosts).map(([g, hs]) => [Number(g), hs.join(',')]));
  return formatPythonLiteral(map);
}

/** What a CODO order shows beyond the task row (see orderExtras). */
export interface OrderExtras {
  /** The template's description (CODO stored '' here). */
  description: string;
  /** The template's users (opsflow: its approvers) by display name, as CODO's TempToUser nicknames. */
  templateUsers: string[];
  /** username → display name, for the approver (CODO showed the approver's nickname as executor). */
  names: ReadonlyMap<string, string>;
}

/** Loads the templates and user names the CODO order replies need, once for a page of tasks. */
export async function orderExtras(db: Db, tasks: readonly Task[]): Promise<(task: Task) => OrderExtras> {
  const templateIds = [...new Set(tasks.map((t) => t.template_id))];
  const templates = templateIds.length ? await db.selectFrom('templates').select(['id', 'description', 'approvers']).where('id', 'in', templateIds).execute() : [];
  const usernames = [...new Set([...templates.flatMap((t) => t.approvers), ...tasks.flatMap((t) => (t.approver ? [t.approver] : []))])];
  const users = usernames.length ? await db.selectFrom('users').select(['username', 'display_name']).where('username', 'in', usernames).execute() : [];
  const names = new Map(users.map((u) => [u.username, u.display_name || u.username]));
  const byId = new Map(templates.map((t) => [t.id, t]));
  return (task) => {
    const t = byId.get(task.template_id);
    return { description: t?.description ?? '', templateUsers: (t?.approvers ?? []).map((u) => names.get(u) ?? u), names };
  };
}

/**
 * CODO's associated_user: `{'admin': [template users…, submitter], …given}` — CODO stored the
 * template's users and the submitter as the order's admins unless the submission named its own.
 */
export function codoAssociatedUser(task: Task, extras: OrderExtras): Record<string, string[]> {
  const admins = extras.templateUsers.includes(task.submitter) ? extras.templateUsers : [...extras.templateUsers, task.submitter];
  return { admin: admins, ...(task.associated_user ?? {}) };
}

/** CODO overwrote executor with the approver's nickname on approval. */
export function codoExecutor(task: Task, extras: OrderExtras): string {
  return task.approver ? (extras.names.get(task.approver) ?? task.approver) : task.executor;
}

/** An order as CODO's list and history replies show it (keys in CODO's column order). */
export function codoOrder(task: Task, tz: string, extras: OrderExtras): Record<string, unknown> {
  return {
    list_id: task.id,
    task_name: task.task_name,
    task_type: task.task_type,
    hosts: codoHosts(task.hosts),
    args: formatPythonLiteral(task.args),
    details: task.details,
    description: extras.description,
    associated_user: formatPythonLiteral(codoAssociatedUser(task, extras)),
    creator: task.submitter,
    executor: codoExecutor(task, extras),
    status: codoTaskStatus(task.status),
    schedule: codoSchedule(task.status),
    temp_id: String(task.template_id), // a string column in CODO
    create_time: codoTime(task.created_at, tz),
    start_time: codoStartTime(task, tz),
    // opsflow additions
    task_status: task.status,
    exec_time: codoTime(task.exec_time, tz),
    finish_time: codoTime(task.finished_at, tz),
  };
}

/** When it started, else when it is to start; '' when neither is known (CODO showed its 2038 default). */
export function codoStartTime(task: Task, tz: string): string {
  return codoTime(task.start_time ?? task.planned_start ?? task.exec_time, tz);
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
    planned_start: task.planned_start,
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

/** One stored piece of a step run's output (step_logs row). */
export interface LogChunk {
  step_run_id: number;
  attempt: number;
  stream: string;
  chunk: string;
  at: Date;
}

/**
 * CODO log lines `YYYY-mm-dd HH:MM:SS： text` from one step run's chunks, in order. The writer
 * cuts rows at flush time, not at newlines, so a line continued in the next row of the same
 * stream is joined and stamped with the time of its first part. stderr lines are marked
 * `[stderr] `; opsflow's own (system) lines keep the runner's marks (`[CMD]: …`, `[opsflow] …`).
 */
export function codoLogLines(chunks: readonly LogChunk[], tz: string): string[] {
  type OpenLine = { stream: string; attempt: number; text: string; at: Date };
  const lines: string[] = [];
  const emit = (stream: string, text: string, at: Date): void => {
    if (stream === 'system' && text.trim() === '') return;
    const mark = stream === 'stderr' ? '[stderr] ' : stream === 'system' && !text.startsWith('[') ? '[opsflow] ' : '';
    lines.push(`${formatCodoTime(at, tz)}： ${mark}${text}`);
  };
  const pending: { line: OpenLine | null } = { line: null }; // an unfinished line from the previous row
  for (const c of chunks) {
    const prev = pending.line;
    pending.line = null;
    const head = prev && prev.stream === c.stream && prev.attempt === c.attempt ? prev : null;
    if (prev && !head) emit(prev.stream, prev.text, prev.at);
    const parts = c.chunk.split('\n');
    const rest = parts.pop() as string; // after the last newline: the start of an unfinished line
    if (head && parts.length === 0) {
      pending.line = { ...head, text: head.text + rest };
      continue;
    }
    parts.forEach((line, i) => (i === 0 && head ? emit(c.stream, head.text + line, head.at) : emit(c.stream, line, c.at)));
    if (rest !== '') pending.line = { stream: c.stream, attempt: c.attempt, text: rest, at: c.at };
  }
  if (pending.line) emit(pending.line.stream, pending.line.text, pending.line.at);
  return lines;
}

/** Keeps the first line (the `[CMD]` line) and the newest lines within `maxChars`, '…' between. */
function boundLines(lines: string[], maxChars: number): string[] {
  const total = lines.reduce((n, l) => n + l.length + 1, 0);
  if (total <= maxChars || lines.length === 0) return lines;
  const [first, ...rest] = lines as [string, ...string[]];
  let budget = maxChars - first.length - 2;
  const tail: string[] = [];
  for (let i = rest.length - 1; i >= 0 && budget > 0; i--) {
    const line = rest[i] as string;
    tail.unshift(line.length + 1 <= budget ? line : '…' + line.slice(line.length - budget + 2));
    budget -= line.length + 1;
  }
  return [first, '…', ...tail];
}

/** Per step run: its log as CODO lines (all attempts, oldest first), bounded to about `maxChars`. */
export async function stepLogLines(db: Db, stepRunIds: number[], tz: string, maxChars = 64 * 1024): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (stepRunIds.length === 0) return out;
  const rows = await db
    .selectFrom('step_logs')
    .select(['step_run_id', 'attempt', 'seq', 'stream', 'chunk', 'at'])
    .where('step_run_id', 'in', stepRunIds)
    .orderBy('step_run_id')
    .orderBy('attempt')
    .orderBy('seq')
    .execute();
  const byRun = new Map<number, LogChunk[]>();
  for (const r of rows) {
    const list = byRun.get(r.step_run_id);
    if (list) list.push(r);
    else byRun.set(r.step_run_id, [r]);
  }
  for (const [id, chunks] of byRun) out.set(id, boundLines(codoLogLines(chunks, tz), maxChars));
  return out;
}

/** Per step run: its log as text, one CODO line per output line (the order view's task_log). */
export async function stepLogTexts(db: Db, stepRunIds: number[], tz: string, maxChars = 64 * 1024): Promise<Map<number, string>> {
  const lines = await stepLogLines(db, stepRunIds, tz, maxChars);
  return new Map([...lines].map(([id, ls]) => [id, ls.map((l) => `${l}\n`).join('')]));
}

/** One CODO code per host from its step statuses (CODO's hosts_status). */
export function hostCodes(steps: readonly StepView[], hostStatus: (s: StepStatus[]) => string): Record<string, string> {
  const byHost = new Map<string, StepStatus[]>();
  for (const s of steps) {
    const list = byHost.get(s.host) ?? [];
    list.push(s.status);
    byHost.set(s.host, list);
  }
  return Object.fromEntries([...byHost].map(([h, ss]) => [h, hostStatus(ss)]));
}
