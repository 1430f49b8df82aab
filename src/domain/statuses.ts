// Task and step statuses, step triggers and failure policies: the literal unions the database
// types, workflow messages, activities and views share, so the compiler finds every place a new
// value must be handled. Also how statuses show through the CODO-compatible API: CODO knew fewer
// states than opsflow; each mapping below says which CODO code a client script will see and why.
import { unreachable } from './unreachable';

/** `new`: waits for an approver; `ready`: runs at its exec_time. */
export const SCHEDULES = ['new', 'ready'] as const;
export type Schedule = (typeof SCHEDULES)[number];

/** When a step starts: after the previous level (`order`), at the task's exec_time (`timed`), on an operator's release (`hand`). */
export const TRIGGERS = ['order', 'timed', 'hand'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** What a failed step does: wait for an operator (`hold`), stop its host (`abort`), or go on (`continue`). */
export const ON_FAILURE_POLICIES = ['hold', 'abort', 'continue'] as const;
export type OnFailure = (typeof ON_FAILURE_POLICIES)[number];

export function isTrigger(value: unknown): value is Trigger {
  return (TRIGGERS as readonly unknown[]).includes(value);
}

export function isOnFailure(value: unknown): value is OnFailure {
  return (ON_FAILURE_POLICIES as readonly unknown[]).includes(value);
}

export const TASK_STATUSES = [
  'pending_approval', // schedule `new`: waits for an approver
  'scheduled', // approved or `ready`: waits for its start time
  'running',
  'paused', // an operator stopped new steps from starting
  'succeeded',
  'failed',
  'cancelled',
  'rejected',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const STEP_STATUSES = [
  'pending', // waits for earlier levels/groups
  'waiting_time', // `timed` step: waits for the task's start time
  'waiting_hand', // `hand` step: waits for an operator's release
  'running',
  'succeeded',
  'failed', // ended badly and no decision is pending (e.g. on_failure: abort/continue)
  'held', // failed, waiting for an operator: retry, skip, abort host or cancel task
  'skipped', // an operator chose to go on without it
  'aborted', // its host was aborted before it ran
  'cancelled', // the task was cancelled before it ran (or while it ran)
  'unknown', // a worker died mid-step; whether it ran is unknown, an operator must decide
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'rejected'];
export const TERMINAL_STEP_STATUSES: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'aborted', 'cancelled'];

/** Statuses of a step run that has not run yet (or runs again after a restart). */
export const WAITING_STEP_STATUSES: readonly StepStatus[] = ['pending', 'waiting_time', 'waiting_hand'];

/** How one try of a step on a host ended (what the step runner reports). */
export type StepOutcomeStatus = Extract<StepStatus, 'succeeded' | 'failed' | 'unknown' | 'cancelled'>;

/** A task's status when it is accepted. */
export function initialTaskStatus(schedule: Schedule): TaskStatus {
  switch (schedule) {
    case 'new':
      return 'pending_approval';
    case 'ready':
      return 'scheduled';
    default:
      return unreachable(schedule, 'schedule');
  }
}

/** A step run's status before it runs: hand steps wait for a release, timed steps for their time. */
export function initialStepStatus(trigger: Trigger): StepStatus {
  switch (trigger) {
    case 'order':
      return 'pending';
    case 'timed':
      return 'waiting_time';
    case 'hand':
      return 'waiting_hand';
    default:
      return unreachable(trigger, 'trigger');
  }
}

/** Whether a step that ended the run like this makes the task `failed` rather than `succeeded`. */
export function stepStatusFailsTask(status: StepStatus): boolean {
  switch (status) {
    case 'failed': // on_failure: continue or abort
    case 'held': // still waiting for a decision when the task ended
    case 'unknown':
    case 'aborted':
      return true;
    case 'succeeded':
    case 'skipped': // an operator chose to go on
    case 'pending':
    case 'waiting_time':
    case 'waiting_hand':
    case 'running':
    case 'cancelled':
      return false;
    default:
      return unreachable(status, 'step status');
  }
}

export function isTaskStatus(value: unknown): value is TaskStatus {
  return (TASK_STATUSES as readonly unknown[]).includes(value);
}

export function isStepStatus(value: unknown): value is StepStatus {
  return (STEP_STATUSES as readonly unknown[]).includes(value);
}

export function isTerminalTaskStatus(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.includes(status);
}

export function isTerminalStepStatus(status: StepStatus): boolean {
  return TERMINAL_STEP_STATUSES.includes(status);
}

/** CODO's status codes, strings as CODO sent them. */
export const CODO_STATUS = {
  new: '0',
  waiting: '1',
  running: '2',
  done: '3',
  error: '4',
  hand: '5',
  stopped: '6',
  timed: '7',
} as const;
export type CodoStatusCode = (typeof CODO_STATUS)[keyof typeof CODO_STATUS];

/** CODO's own labels for its codes (shown in its console). */
export const CODO_STATUS_LABELS: Readonly<Record<CodoStatusCode, string>> = {
  '0': '新建',
  '1': '等待',
  '2': '运行中',
  '3': '完成',
  '4': '错误',
  '5': '手动',
  '6': '中止',
  '7': '定时',
};

export type CodoSchedule = 'new' | 'ready' | 'start' | 'OK';

/** An order's `status` in CODO replies. */
export function taskStatusToCodo(status: TaskStatus): CodoStatusCode {
  switch (status) {
    case 'pending_approval':
      return CODO_STATUS.new;
    case 'scheduled':
      return CODO_STATUS.waiting;
    case 'running':
      return CODO_STATUS.running;
    case 'paused':
      // CODO had no pause; "手动" (waits for a person) is what a paused task does.
      return CODO_STATUS.hand;
    case 'succeeded':
      return CODO_STATUS.done;
    case 'failed':
      return CODO_STATUS.error;
    case 'cancelled':
    case 'rejected':
      // Both end the order without running (the rest of) it: CODO's "中止".
      return CODO_STATUS.stopped;
    default:
      return unreachable(status, 'task status');
  }
}

/** An order's `schedule`: `new` (awaiting approval) → `ready` (approved, timer set) → `start` → `OK` (finished or ended). */
export function taskStatusToCodoSchedule(status: TaskStatus): CodoSchedule {
  switch (status) {
    case 'pending_approval':
      return 'new';
    case 'scheduled':
      return 'ready';
    case 'running':
    case 'paused':
      return 'start';
    case 'succeeded':
    case 'failed':
    case 'cancelled':
    case 'rejected':
      return 'OK';
    default:
      return unreachable(status, 'task status');
  }
}

/** A step row's `task_status` in CODO replies. */
export function stepStatusToCodo(status: StepStatus): CodoStatusCode {
  switch (status) {
    case 'pending':
      return CODO_STATUS.waiting;
    case 'waiting_time':
      return CODO_STATUS.timed;
    case 'waiting_hand':
      return CODO_STATUS.hand;
    case 'running':
      return CODO_STATUS.running;
    case 'succeeded':
      return CODO_STATUS.done;
    case 'failed':
    case 'held':
    case 'unknown':
      // CODO showed a failed step as "错误" and let an operator restart it; `held` and `unknown`
      // are exactly that situation (a decision is pending).
      return CODO_STATUS.error;
    case 'skipped':
    case 'aborted':
    case 'cancelled':
      // CODO had no "skipped"; a step that did not run must never read as "完成", and "中止"
      // is CODO's word for "stopped by a person".
      return CODO_STATUS.stopped;
    default:
      return unreachable(status, 'step status');
  }
}

/** Per step status: its weight for the host's code (highest wins) and that code. A Record, so a new status must be placed here. */
const HOST_CODE_BY_STEP: Readonly<Record<StepStatus, readonly [number, CodoStatusCode]>> = {
  failed: [6, CODO_STATUS.error],
  held: [6, CODO_STATUS.error],
  unknown: [6, CODO_STATUS.error],
  running: [5, CODO_STATUS.running],
  waiting_hand: [4, CODO_STATUS.hand],
  waiting_time: [3, CODO_STATUS.timed],
  pending: [2, CODO_STATUS.waiting],
  aborted: [1, CODO_STATUS.stopped],
  cancelled: [1, CODO_STATUS.stopped],
  succeeded: [0, CODO_STATUS.done],
  skipped: [0, CODO_STATUS.done],
};

/**
 * One code for a host (CODO's `hosts_status`) from its steps' statuses: what needs attention
 * first (error, then running, hand, timed, waiting), then how it ended — done when every step
 * succeeded or was skipped, stopped when any was aborted or cancelled.
 */
export function hostStatusToCodo(steps: readonly StepStatus[]): CodoStatusCode {
  let code: CodoStatusCode = CODO_STATUS.done;
  let rank = 0;
  for (const status of steps) {
    const [r, c] = HOST_CODE_BY_STEP[status];
    if (r > rank) [rank, code] = [r, c];
  }
  return code;
}
