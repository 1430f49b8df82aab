// Messages shared by the task workflow and its callers (API, tests): defined once.
// Only identifiers and shapes travel here — never commands, argument values or secrets.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../src/domain/permissions';
import type { PlanGroup } from '../src/domain/plan';
import type { Schedule, StepStatus, TaskStatus } from '../src/domain/statuses';

export type { PlanGroup, PlanStep } from '../src/domain/plan';

export interface TaskWorkflowInput {
  taskId: number;
  templateId: number;
  taskName: string;
  /** Username that created the task (four-eyes: may not approve it). */
  creator: string;
  schedule: Schedule;
  /** ISO time to start at; null = at once (after approval for `new`). */
  execTime: string | null;
  maxParallel: number;
  /** Approval wait limit in seconds; null = wait forever. */
  approvalTimeoutS: number | null;
  /** Whether the creator is refused as approver. */
  fourEyes: boolean;
  groups: PlanGroup[];
  /**
   * Hosts per shard (OPSFLOW_SHARD_HOSTS): a task too large for one history runs its groups as
   * child workflows (src/domain/shards.ts). Absent or null: never sharded.
   */
  shardHosts?: number | null;
  /** Set on a shard: a child workflow running a slice of one group's hosts for its parent. */
  shard?: ShardInput;
}

/** What a shard inherits from its parent when it starts; later changes arrive as ShardControl. */
export interface ShardInput {
  parentId: string;
  group: number;
  /** 1-based position in its group, of `count`. */
  index: number;
  count: number;
  paused: boolean;
  /** Hand steps released on its hosts before it started. */
  released: StepRef[];
  /** Its hosts aborted before it started. */
  abortedHosts: string[];
}

/** A task-wide intervention (or one recorded by the parent) passed on to a running shard. */
export type ShardControl =
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'cancel' }
  | { kind: 'release'; stepId: number; host?: string }
  | { kind: 'abortHost'; group: number; host: string };

/** Who asked: travels with every intervention and is recorded. */
export interface Actor {
  username: string;
  role: Role;
}

export interface StepRef {
  stepId: number;
  host: string;
}

export interface ApproveArgs {
  actor: Actor;
  /** ISO start time chosen by the approver; null/absent = now (or the submitted exec_time if later). */
  startAt?: string | null;
}
export interface RescheduleArgs {
  actor: Actor;
  startAt: string | null;
}
export interface ActorArgs {
  actor: Actor;
  reason?: string;
}
export interface StepArgs extends StepRef {
  actor: Actor;
}
export interface ReleaseArgs {
  actor: Actor;
  stepId: number;
  /** Release on one host; absent = on every host of the step's group. */
  host?: string;
}
export interface AbortHostArgs {
  actor: Actor;
  host: string;
  group: number;
}

export interface InterventionResult {
  accepted: true;
  /** The task's status after the intervention (as far as the workflow knows when it answers). */
  status: TaskStatus;
}

export const approveUpdate = defineUpdate<InterventionResult, [ApproveArgs]>('approve');
export const rejectUpdate = defineUpdate<InterventionResult, [ActorArgs]>('reject');
export const rescheduleUpdate = defineUpdate<InterventionResult, [RescheduleArgs]>('reschedule');
export const pauseUpdate = defineUpdate<InterventionResult, [ActorArgs]>('pause');
export const resumeUpdate = defineUpdate<InterventionResult, [ActorArgs]>('resume');
export const cancelUpdate = defineUpdate<InterventionResult, [ActorArgs]>('cancel');
export const retryStepUpdate = defineUpdate<InterventionResult, [StepArgs]>('retryStep');
export const skipStepUpdate = defineUpdate<InterventionResult, [StepArgs]>('skipStep');
export const abortHostUpdate = defineUpdate<InterventionResult, [AbortHostArgs]>('abortHost');
export const releaseStepUpdate = defineUpdate<InterventionResult, [ReleaseArgs]>('releaseStep');
/** Rerun a held host from this step: it and every later step of the host run again. */
export const restartFromStepUpdate = defineUpdate<InterventionResult, [StepArgs]>('restartFromStep');

export interface StepProgress {
  stepId: number;
  level: number;
  name: string;
  status: StepStatus;
  attempt: number;
}
export interface HostProgress {
  host: string;
  group: number;
  steps: StepProgress[];
}
export interface TaskProgress {
  status: TaskStatus;
  paused: boolean;
  startAt: string | null;
  approver: string | null;
  currentGroup: number | null;
  hosts: HostProgress[];
  /** A sharded task's started shards (workflow ids): their hosts' progress is theirs to tell. */
  shards?: string[];
}

export const progressQuery = defineQuery<TaskProgress>('progress');

/** Where an intervention on a host goes: a started shard's workflow id, or null for the task's own workflow. */
export interface ShardRoute {
  workflowId: string | null;
}
export interface ShardRouteArgs {
  host: string;
  /** The host's group, or the group of `stepId`. */
  group?: number;
  stepId?: number;
}
export const shardRouteQuery = defineQuery<ShardRoute, [ShardRouteArgs]>('shardRoute');
/** Parent → running shard: a task-wide intervention or one the parent recorded for the shard's hosts. */
export const shardControlSignal = defineSignal<[ShardControl]>('shardControl');
