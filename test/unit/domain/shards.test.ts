import { describe, expect, it } from 'vitest';
import type { PlanGroup } from '../../../src/domain/plan';
import { hostsPerShard, isSharded, laneShares, MAX_RUNS_PER_SHARD, shardsOf } from '../../../src/domain/shards';

const group = (no: number, hosts: number, steps: number): PlanGroup => ({
  group: no,
  hosts: Array.from({ length: hosts }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`),
  steps: Array.from({ length: steps }, (_, i) => ({ stepId: i + 1, level: i + 1, name: `s${i}`, trigger: 'order', timeoutS: 60, retries: 0, idempotent: false, onFailure: 'hold' })),
});

describe('shards', () => {
  it('takes the configured hosts per shard, fewer when a group has many steps', () => {
    expect(hostsPerShard(250, 1)).toBe(250);
    expect(hostsPerShard(250, 10)).toBe(250);
    expect(hostsPerShard(250, 20)).toBe(MAX_RUNS_PER_SHARD / 20);
    expect(hostsPerShard(250, 5000)).toBe(1);
  });

  it('leaves small tasks unsharded', () => {
    expect(isSharded([group(1, 250, 10)], 250)).toBe(false);
    expect(isSharded([group(1, 251, 1)], 250)).toBe(true);
    // Groups that each fit a shard, but too many runs for one history together.
    expect(isSharded([group(1, 200, 10), group(2, 200, 10)], 250)).toBe(true);
  });

  it('splits a group into contiguous slices with deterministic ids', () => {
    const shards = shardsOf('task-7', group(2, 10_000, 1), 250);
    expect(shards).toHaveLength(40);
    expect(shards[0]).toMatchObject({ workflowId: 'task-7-g2-s1', group: 2, index: 1, count: 40 });
    expect(shards[39]!.workflowId).toBe('task-7-g2-s40');
    expect(shards.flatMap((s) => s.hosts)).toEqual(group(2, 10_000, 1).hosts);
    expect(shardsOf('task-7', group(1, 9, 1), 4).map((s) => s.hosts.length)).toEqual([4, 4, 1]);
  });

  it("splits max_parallel over the shards that run at once, never above the task's limit", () => {
    expect(laneShares(50, 40)).toEqual([...Array.from({ length: 10 }, () => 2), ...Array.from({ length: 30 }, () => 1)]);
    expect(laneShares(50, 3)).toEqual([17, 17, 16]);
    expect(laneShares(5, 40)).toEqual([1, 1, 1, 1, 1]);
    for (const [p, n] of [[50, 40], [50, 3], [1000, 7], [3, 3]] as const) expect(laneShares(p, n).reduce((a, b) => a + b, 0)).toBe(p);
  });
});
