// Splitting a large task's hosts into shards: child workflows of a few hundred hosts each, so
// that no workflow's history grows past a few thousand events (docs/engine.md#sharded-tasks).
// Pure and deterministic: the workflow plans its children with it.
import type { PlanGroup } from './plan';

/** Hosts per shard when nothing else is configured (OPSFLOW_SHARD_HOSTS). */
export const DEFAULT_SHARD_HOSTS = 250;

/**
 * Host × step runs one task may have: 10,000 hosts × 10 steps. Bounded by what one submission
 * stores in one transaction and by the parent workflow's history (one child per shard).
 * OPSFLOW_MAX_RUNS_PER_TASK may lower it.
 */
export const MAX_STEP_RUNS_PER_TASK = 100_000;

/**
 * Host × step runs one workflow history holds at most: at ≈ 3.5 events per run (measured, one
 * activity per step) that is ≈ 9,000 events, under a fifth of Temporal's 51,200-event limit,
 * leaving room for retries and interventions. A task this small runs unsharded, as before.
 */
export const MAX_RUNS_PER_SHARD = 2_500;

export interface Shard {
  /** The child's workflow id: `<parent id>-g<group>-s<n>`. */
  workflowId: string;
  group: number;
  /** 1-based position within its group. */
  index: number;
  /** Shards in its group. */
  count: number;
  /** A contiguous slice of the group's hosts, in submitted order. */
  hosts: string[];
}

/** Hosts per shard in a group of `steps` steps: the configured size, smaller when steps are many. */
export function hostsPerShard(configured: number, steps: number): number {
  return Math.max(1, Math.min(Math.floor(configured), Math.floor(MAX_RUNS_PER_SHARD / Math.max(1, steps))));
}

/**
 * Whether a task runs as shards: when one of its groups needs more than one shard, or its runs
 * would not fit one history. Smaller tasks run in one workflow, exactly as before sharding.
 */
export function isSharded(groups: readonly PlanGroup[], configured: number): boolean {
  const runs = groups.reduce((n, g) => n + g.hosts.length * g.steps.length, 0);
  return runs > MAX_RUNS_PER_SHARD || groups.some((g) => g.hosts.length > hostsPerShard(configured, g.steps.length));
}

export function shardId(parentId: string, group: number, index: number): string {
  return `${parentId}-g${group}-s${index}`;
}

/** The shards of one group, in order. */
export function shardsOf(parentId: string, group: PlanGroup, configured: number): Shard[] {
  const size = hostsPerShard(configured, group.steps.length);
  const count = Math.ceil(group.hosts.length / size);
  return Array.from({ length: count }, (_, i) => ({
    workflowId: shardId(parentId, group.group, i + 1),
    group: group.group,
    index: i + 1,
    count,
    hosts: group.hosts.slice(i * size, (i + 1) * size),
  }));
}

/**
 * How a group's `max_parallel` is split: at most that many shards run at once (lanes), and lane
 * i runs its shards with an even share of the limit, so the task never runs more than
 * `maxParallel` hosts at a time and, with fewer shards than the limit, uses all of it.
 */
export function laneShares(maxParallel: number, shards: number): number[] {
  const limit = Math.max(1, maxParallel);
  const lanes = Math.max(1, Math.min(shards, limit));
  const base = Math.floor(limit / lanes);
  return Array.from({ length: lanes }, (_, i) => base + (i < limit % lanes ? 1 : 0));
}
