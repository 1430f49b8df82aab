// A sharded task's children, seen from its parent workflow: starting each group's shards (in
// parallel, within the task's max_parallel), passing task-wide interventions on to the running
// ones, and waiting for them. Deterministic code only.
import {
  ChildWorkflowCancellationType,
  CancellationScope,
  ParentClosePolicy,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import { laneShares, shardsOf, type Shard } from '../src/domain/shards';
import type { TaskStatus } from '../src/domain/statuses';
import { shardControlSignal, type PlanGroup, type ShardControl, type TaskWorkflowInput } from './messages';
import { SEARCH_ATTRIBUTE_KEYS } from './searchAttributes';
import type { taskWorkflow } from './taskWorkflow';

type ShardHandle = ChildWorkflowHandle<typeof taskWorkflow>;

export class ShardSet {
  /** Started (or starting) shards by workflow id; registered before the start is awaited. */
  private readonly started = new Map<string, { shard: Shard; handle: Promise<ShardHandle>; result: Promise<TaskStatus | 'lost'> }>();
  /** Some shard ended failed (or its workflow failed). */
  failed = false;
  private readonly parentId = workflowInfo().workflowId;
  /** `group|host` → the shard that owns it (a map: a lookup per step of 10,000 hosts must be cheap). */
  private readonly owners = new Map<string, Shard>();

  constructor(
    private readonly input: TaskWorkflowInput,
    private readonly shardHosts: number,
  ) {
    for (const group of input.groups) {
      for (const shard of shardsOf(this.parentId, group, shardHosts)) {
        for (const host of shard.hosts) this.owners.set(`${group.group}|${host}`, shard);
      }
    }
  }

  /** The started shard that owns `host` in `group`; undefined while the parent owns it (not started). */
  startedOwner(group: PlanGroup, host: string): Shard | undefined {
    const shard = this.owners.get(`${group.group}|${host}`);
    return shard && this.started.has(shard.workflowId) ? shard : undefined;
  }

  startedIds(): string[] {
    return [...this.started.keys()];
  }

  /**
   * Runs a group's shards: at most max_parallel at once, each lane with its share of it.
   * `inputOf` snapshots what a shard inherits (pause, releases, aborted hosts) as it starts.
   */
  async runGroup(group: PlanGroup, inputOf: (shard: Shard, maxParallel: number) => TaskWorkflowInput): Promise<void> {
    const shards = shardsOf(this.parentId, group, this.shardHosts);
    const shares = laneShares(this.input.maxParallel, shards.length);
    let next = 0;
    await Promise.all(
      shares.map(async (share) => {
        while (next < shards.length) {
          if (CancellationScope.current().consideredCancelled) return;
          const shard = shards[next++] as Shard;
          await this.run(shard, inputOf(shard, share));
        }
      }),
    );
  }

  /** Passes an intervention on to the running shards `which` selects (default: all). */
  async forward(control: ShardControl, which: (shard: Shard) => boolean = () => true): Promise<void> {
    const targets = [...this.started.values()].filter((s) => which(s.shard));
    await Promise.all(
      targets.map(async (s) => {
        const handle = await s.handle.catch(() => null);
        // A shard that never started or has already ended has nothing left to change.
        await handle?.signal(shardControlSignal, control).catch(() => undefined);
      }),
    );
  }

  /** Waits until every started shard has ended (after a cancel they end within seconds). */
  async settle(): Promise<void> {
    await Promise.all([...this.started.values()].map((s) => s.result));
  }

  private async run(shard: Shard, input: TaskWorkflowInput): Promise<void> {
    // Registered at once, so an intervention arriving while the start is in flight still reaches it.
    const handle = CancellationScope.nonCancellable(() => startChild<typeof taskWorkflow>('taskWorkflow', this.options(shard, input)));
    const result = handle.then(
      (h) => h.result(),
      () => 'lost' as const,
    );
    const settled = result.then(
      (status) => {
        if (status === 'failed' || status === 'lost') this.failed = true;
        return status;
      },
      () => {
        this.failed = true; // the shard's workflow failed or was terminated
        return 'lost' as const;
      },
    );
    this.started.set(shard.workflowId, { shard, handle, result: settled });
    // A task cancel stops the wait here (the shard gets the cancel as a signal); settle() waits for its end.
    await Promise.race([settled, CancellationScope.current().cancelRequested]);
  }

  private options(shard: Shard, input: TaskWorkflowInput): ChildWorkflowOptions & { args: [TaskWorkflowInput] } {
    const first = shard.hosts[0] ?? '';
    const last = shard.hosts[shard.hosts.length - 1] ?? '';
    return {
      workflowId: shard.workflowId,
      args: [input],
      // The parent passes a cancel on as a signal and waits for the shard to settle its steps.
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTE_KEYS.TaskId, value: this.input.taskId },
        { key: SEARCH_ATTRIBUTE_KEYS.TemplateId, value: this.input.templateId },
      ],
      staticSummary: `#${this.input.taskId} ${this.input.taskName} · group ${shard.group} · shard ${shard.index}/${shard.count} · ${shard.hosts.length} host${shard.hosts.length === 1 ? '' : 's'} (${first}${last !== first ? ` … ${last}` : ''})`,
    };
  }
}
