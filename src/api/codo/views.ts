// How CODO shows tasks: orders, status codes, times, and log lines. Pure formatting of what the
// tasks core (src/tasks/) reads.
import type { Db } from '../../db/database';
import type { Task } from '../../db/schema';
import { formatCodoTime } from '../../domain/execTime';
import { formatPythonLiteral } from '../../domain/pythonLiteral';
import {
  stepStatusToCodo,
  taskStatusToCodo,
  taskStatusToCodoSchedule,
  type CodoSchedule,
  type CodoStatusCode,
  type StepStatus,
  type TaskStatus,
} from '../../domain/statuses';
import { stepRunLogChunks, type LogChunk } from '../../tasks/logs';
import type { OrderExtras, StepView } from '../../tasks/queries';

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
export function boundLines(lines: string[], maxChars: number): string[] {
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

/** Each step run's log as CODO shows it: its first line and its newest lines within this many characters. */
export const LOG_TEXT_MAX_CHARS = 64 * 1024;

/**
 * One step run's output as a follower has seen it, kept small: the first chunk (it holds the
 * [CMD] line) and enough of the newest for the lines CODO shows (boundLines keeps the same).
 */
export class RunLog {
  private chunks: LogChunk[] = [];
  private chars = 0;

  add(chunk: LogChunk): void {
    this.chunks.push(chunk);
    this.chars += chunk.chunk.length;
    if (this.chars <= 4 * LOG_TEXT_MAX_CHARS) return;
    const [first, ...rest] = this.chunks as [LogChunk, ...LogChunk[]];
    while (rest.length > 1 && this.chars - (rest[0] as LogChunk).chunk.length >= 2 * LOG_TEXT_MAX_CHARS) this.chars -= (rest.shift() as LogChunk).chunk.length;
    this.chunks = [first, ...rest];
  }

  lines(tz: string): string[] {
    return boundLines(codoLogLines(this.chunks, tz), LOG_TEXT_MAX_CHARS);
  }
}

/** Per step run: its log as CODO lines (all attempts, oldest first), bounded to about `maxChars`. */
export async function stepLogLines(db: Db, stepRunIds: number[], tz: string, maxChars = LOG_TEXT_MAX_CHARS): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const [id, chunks] of await stepRunLogChunks(db, stepRunIds)) out.set(id, boundLines(codoLogLines(chunks, tz), maxChars));
  return out;
}

/** Per step run: its log as text, one CODO line per output line (the order view's task_log). */
export async function stepLogTexts(db: Db, stepRunIds: number[], tz: string, maxChars = LOG_TEXT_MAX_CHARS): Promise<Map<number, string>> {
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
