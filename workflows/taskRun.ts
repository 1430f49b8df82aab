// The state machine of one task: its state, the Updates people send it (a validator that
// answers at once without changing anything, then a handler that changes state), and the main
// loop that taskWorkflow runs. Deterministic code only: all I/O is in activities, which read
// commands, arguments and secrets from PostgreSQL themselves.
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchStepInput, BatchStepOutcome, TaskActivities } from '../activities/types';
import {
  initialStepStatus,
  initialTaskStatus,
  isTerminalStepStatus,
  isTerminalTaskStatus,
  stepStatusFailsTask,
  type StepStatus,
  type TaskStatus,
} from '../src/domain/statuses';
import { isSharded, type Shard } from '../src/domain/shards';
import { unreachable } from '../src/domain/unreachable';
import type {
  AbortHostArgs,
  ActorArgs,
  Actor,
  ApproveArgs,
  InterventionResult,
  PlanGroup,
  PlanStep,
  ReleaseArgs,
  RescheduleArgs,
  ShardControl,
  ShardRoute,
  ShardRouteArgs,
  StepArgs,
  StepRef,
  TaskProgress,
  TaskWorkflowInput,
} from './messages';
import { SEARCH_ATTRIBUTE_KEYS } from './searchAttributes';
import { ShardSet } from './shardSet';

/** What an operator decided for a held step. */
type Decision = 'retry' | 'skip' | 'abort' | 'restart';

/** How one step's outcome leaves its host: go on, stop the host, or wait for a person. */
type StepEnd = 'next' | 'host-stop' | 'held';

/** Where a host's loop goes after a batch: a step index (waiting for its trigger or not), stop, or a restart. */
type HostMove = { kind: 'at'; index: number; awaitTrigger: boolean } | { kind: 'stop' } | { kind: 'restart'; held: number };

interface StepState {
  status: StepStatus;
  attempt: number;
}

const bookkeeping = proxyActivities<TaskActivities>({
  startToCloseTimeout: '30s',
  // Status writes must eventually land: a database outage pauses the task, never fails it.
  retry: { initialInterval: '1s', maximumInterval: '30s' }, // no maximumAttempts: unlimited
});

/**
 * Task status writes as local activities: run by the worker inside the workflow task that
 * decided them, so a timer firing costs one workflow task instead of a workflow task, an activity
 * task and another workflow task (docs/engine.md#timers). The same unlimited retries.
 */
const statusWrites = proxyLocalActivities<TaskActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Histories recorded before status writes became local activities replay with the activity. */
const LOCAL_STATUS_WRITES = 'task-status-local-activity';

/** The activity of one host batch: its timeouts cover every step of it. */
function batchActivities(batch: readonly PlanStep[], group: number, host: string): TaskActivities {
  const first = batch[0] as PlanStep;
  const last = batch[batch.length - 1] as PlanStep;
  const levels = batch.length === 1 ? `level ${first.level}` : `levels ${first.level}–${last.level}`;
  return proxyActivities<TaskActivities>({
    // The activity enforces each command's own timeout; this bounds connect + cleanup too.
    startToCloseTimeout: `${batch.reduce((sum, s) => sum + s.timeoutS, 0) + 120}s`,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // Only transport errors before the first command are thrown (and retried); failures are returned.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: first.retries + 1 },
    summary: `group ${group} · ${host} · ${levels} · ${batch.map((s) => s.name).join(', ')}`,
  });
}

/** Batches started again after their worker was lost; beyond, the rows are settled. */
const MAX_WORKER_LOSSES = 20;
/** Patch id: a batch whose worker was lost runs again (histories from before settled it). */
const RERUN_AFTER_WORKER_LOSS = 'batch-rerun-after-worker-loss';

/** Step refs per status-write activity: ≈ 40 bytes each, so ≈ 200 KB of input, well under 2 MB. */
const STEP_REFS_PER_WRITE = 5_000;
/** Patch id: more step refs than that are written in chunks (histories from before: in one). */
const STEP_STATUS_IN_CHUNKS = 'step-status-in-chunks';

/** The activity's last try ended without a heartbeat: its worker died or hung. */
function workerLost(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'HEARTBEAT';
}

const stepKey = (stepId: number, host: string): string => `${stepId}|${host}`;
const hostKey = (group: number, host: string): string => `${group}|${host}`;

function refOf(key: string): StepRef {
  const bar = key.indexOf('|');
  return { stepId: Number(key.slice(0, bar)), host: key.slice(bar + 1) };
}

export class TaskRun {
  status: TaskStatus;
  private paused = false;
  private cancelled = false;
  private approval: { approved: boolean; actor: Actor } | null = null;
  /** When to start (ms); null = at once. Approve and reschedule move it. */
  private startAt: number | null;
  private startChanged = false;
  private currentGroup: number | null = null;
  /** When `timed` steps may run: the submitted exec_time, whatever the approver chose. */
  private readonly timedAt: number | null;

  /** Per `stepId|host`. */
  private readonly steps = new Map<string, StepState>();
  private readonly decisions = new Map<string, Decision>();
  private readonly released = new Set<string>();
  /** Per `group|host`: the index of the step a restart goes back to. */
  private readonly restartFrom = new Map<string, number>();
  private readonly hostScopes = new Map<string, CancellationScope>();
  private readonly abortedHosts = new Set<string>();
  private readonly groupOfStep = new Map<number, PlanGroup>();
  /** Cancelling it (task cancel) stops everything the main loop started. */
  private readonly runScope = new CancellationScope();
  /** Planned start times are written in the order they were decided (updates may overlap). */
  private planWrites: Promise<void> = Promise.resolve();
  /** A sharded task's children (its groups run there); null when this workflow runs its hosts itself. */
  private readonly shards: ShardSet | null;

  constructor(private readonly input: TaskWorkflowInput) {
    this.status = input.shard ? (input.shard.paused ? 'paused' : 'running') : initialTaskStatus(input.schedule);
    this.startAt = input.execTime ? Date.parse(input.execTime) : null;
    this.timedAt = input.execTime ? Date.parse(input.execTime) : null;
    for (const group of input.groups) {
      for (const step of group.steps) {
        this.groupOfStep.set(step.stepId, group);
        for (const host of group.hosts) this.steps.set(stepKey(step.stepId, host), { status: initialStepStatus(step.trigger), attempt: 0 });
      }
    }
    const shardHosts = input.shardHosts ?? null;
    this.shards = !input.shard && shardHosts !== null && isSharded(input.groups, shardHosts) ? new ShardSet(input, shardHosts) : null;
    if (input.shard) {
      // A shard inherits what its parent knew when it started it.
      this.paused = input.shard.paused;
      for (const ref of input.shard.released) this.released.add(stepKey(ref.stepId, ref.host));
      for (const host of input.shard.abortedHosts) this.abortedHosts.add(hostKey(input.shard.group, host));
    }
  }

  // ---- approval and start time ----

  validateApprove({ actor, startAt }: ApproveArgs): void {
    this.requirePendingApproval();
    if (this.input.fourEyes && actor.username === this.input.creator) {
      throw new Error(`four-eyes: ${actor.username} created task ${this.input.taskId} and may not approve it`);
    }
    validIso(startAt);
  }

  async approve({ actor, startAt }: ApproveArgs): Promise<InterventionResult> {
    this.approval = { approved: true, actor };
    if (startAt) {
      this.startAt = Date.parse(startAt);
      this.startChanged = true;
      await this.recordPlan(this.startAt);
    }
    return accepted('scheduled'); // approved: waits for its start time (or starts at once)
  }

  validateReject(_args: ActorArgs): void {
    this.requirePendingApproval();
  }

  reject({ actor }: ActorArgs): InterventionResult {
    this.approval = { approved: false, actor };
    return accepted('rejected');
  }

  validateReschedule({ startAt }: RescheduleArgs): void {
    if (this.status !== 'scheduled' && this.status !== 'pending_approval') {
      throw new Error(`task ${this.input.taskId} can be rescheduled only before it starts (${this.status})`);
    }
    validIso(startAt);
  }

  async reschedule({ startAt }: RescheduleArgs): Promise<InterventionResult> {
    this.startAt = startAt ? Date.parse(startAt) : null;
    this.startChanged = true;
    await this.recordPlan(this.startAt ?? Date.now()); // no time: at once
    return accepted(this.status);
  }

  // ---- pause, resume, cancel ----

  validatePause(_args: ActorArgs): void {
    this.refuseIfFinished();
    if (this.paused) throw new Error(`task ${this.input.taskId} is already paused`);
  }

  async pause(_args: ActorArgs): Promise<InterventionResult> {
    this.paused = true;
    await this.shards?.forward({ kind: 'pause' });
    if (this.status === 'running') await this.setStatus('paused');
    return accepted('paused');
  }

  validateResume(_args: ActorArgs): void {
    this.refuseIfFinished();
    if (!this.paused) throw new Error(`task ${this.input.taskId} is not paused`);
  }

  async resume(_args: ActorArgs): Promise<InterventionResult> {
    this.paused = false;
    await this.shards?.forward({ kind: 'resume' });
    // Answer with the status resuming sets: by the time the write lands, the task may have ended.
    if (this.status !== 'paused') return accepted(this.status);
    await this.setStatus('running');
    return accepted('running');
  }

  validateCancel(_args: ActorArgs): void {
    this.refuseIfFinished();
  }

  async cancel(_args: ActorArgs): Promise<InterventionResult> {
    this.cancelled = true;
    this.runScope.cancel();
    await this.shards?.forward({ kind: 'cancel' });
    return accepted('cancelled');
  }

  /** A shard applies what its parent passes on; the parent validated it (repeats are harmless). */
  async control(c: ShardControl): Promise<void> {
    if (isTerminalTaskStatus(this.status)) return;
    const actor: Actor = { username: 'parent', role: 'admin' };
    switch (c.kind) {
      case 'pause':
        if (!this.paused) await this.pause({ actor });
        return;
      case 'resume':
        if (this.paused) await this.resume({ actor });
        return;
      case 'cancel':
        if (!this.cancelled) await this.cancel({ actor });
        return;
      case 'release':
        if (this.groupOfStep.has(c.stepId) && (c.host === undefined || this.steps.has(stepKey(c.stepId, c.host)))) await this.release({ actor, ...c });
        return;
      case 'abortHost':
        if (!this.abortedHosts.has(hostKey(c.group, c.host)) && this.input.groups.some((g) => g.group === c.group && g.hosts.includes(c.host))) {
          await this.abortHost({ actor, group: c.group, host: c.host });
        }
        return;
      default:
        unreachable(c, 'shard control');
    }
  }

  // ---- decisions on held steps and hosts, hand step releases ----

  /** Retry and skip act on a step held for a decision (failed, or unknown after a lost worker). */
  validateHeld({ stepId, host }: StepArgs): void {
    this.refuseIfFinished();
    const state = this.requireStep(stepId, host);
    if (state.status !== 'held' && state.status !== 'unknown') {
      throw new Error(`step ${stepId} on ${host} is not held for a decision (${state.status})`);
    }
  }

  retry({ stepId, host }: StepArgs): InterventionResult {
    this.decisions.set(stepKey(stepId, host), 'retry');
    return accepted(this.status);
  }

  skip({ stepId, host }: StepArgs): InterventionResult {
    this.decisions.set(stepKey(stepId, host), 'skip');
    return accepted(this.status);
  }

  validateRestart({ stepId, host }: StepArgs): void {
    this.refuseIfFinished();
    this.requireStep(stepId, host);
    const group = this.groupOfStep.get(stepId) as PlanGroup;
    const held = this.heldStepIndex(group, host);
    if (held < 0) throw new Error(`host ${host} in group ${group.group} is not held at a step; only a held host can be restarted`);
    if (group.steps.findIndex((s) => s.stepId === stepId) > held) {
      throw new Error(`step ${stepId} comes after the held step ${group.steps[held]?.stepId} on ${host}; restart from it or an earlier step`);
    }
  }

  /** Rerun a held host from this step: it and every later step of the host run again. */
  restart({ stepId, host }: StepArgs): InterventionResult {
    const group = this.groupOfStep.get(stepId) as PlanGroup;
    const held = group.steps[this.heldStepIndex(group, host)] as PlanStep;
    this.restartFrom.set(hostKey(group.group, host), group.steps.findIndex((s) => s.stepId === stepId));
    this.decisions.set(stepKey(held.stepId, host), 'restart');
    return accepted(this.status);
  }

  validateAbortHost({ host, group }: AbortHostArgs): void {
    this.refuseIfFinished();
    const plan = this.input.groups.find((g) => g.group === group);
    if (!plan || !plan.hosts.includes(host)) throw new Error(`task ${this.input.taskId} has no host ${host} in group ${group}`);
    if (this.abortedHosts.has(hostKey(group, host))) throw new Error(`host ${host} in group ${group} is already aborted`);
  }

  async abortHost({ host, group }: AbortHostArgs): Promise<InterventionResult> {
    this.abortedHosts.add(hostKey(group, host));
    const plan = this.input.groups.find((g) => g.group === group);
    for (const step of plan?.steps ?? []) this.decisions.set(stepKey(step.stepId, host), 'abort');
    this.hostScopes.get(hostKey(group, host))?.cancel();
    // Sent here while its shard was starting: pass it on (a shard not started inherits it).
    const owner = plan && this.shards?.startedOwner(plan, host);
    if (owner) await this.shards?.forward({ kind: 'abortHost', group, host }, (s) => s.workflowId === owner.workflowId);
    return accepted(this.status);
  }

  validateRelease({ stepId, host }: ReleaseArgs): void {
    this.refuseIfFinished();
    const group = this.groupOfStep.get(stepId);
    const step = group?.steps.find((s) => s.stepId === stepId);
    if (!group || !step) throw new Error(`task ${this.input.taskId} has no step ${stepId}`);
    if (step.trigger !== 'hand') throw new Error(`step ${stepId} (${step.name}) is not a hand step`);
    if (host !== undefined) this.requireStep(stepId, host);
  }

  /** Release a hand step on one host, or (no host) on every host of its group. */
  async release({ stepId, host }: ReleaseArgs): Promise<InterventionResult> {
    const group = this.groupOfStep.get(stepId);
    for (const h of host ? [host] : (group?.hosts ?? [])) this.released.add(stepKey(stepId, h));
    if (this.shards && group) {
      // Running shards get it passed on; shards started later inherit it.
      const owner = host === undefined ? undefined : this.shards.startedOwner(group, host)?.workflowId;
      if (host === undefined || owner) await this.shards.forward({ kind: 'release', stepId, host }, (s: Shard) => s.group === group.group && (owner === undefined || s.workflowId === owner));
    }
    return accepted(this.status);
  }

  /** Where an intervention on `host` goes: its shard once that has started, else this workflow. */
  shardRoute({ group, stepId, host }: ShardRouteArgs): ShardRoute {
    const plan = stepId !== undefined ? this.groupOfStep.get(stepId) : this.input.groups.find((g) => g.group === group);
    return { workflowId: (plan && this.shards?.startedOwner(plan, host)?.workflowId) ?? null };
  }

  progress(): TaskProgress {
    return {
      status: this.status,
      paused: this.paused,
      startAt: this.startAt === null ? null : new Date(this.startAt).toISOString(),
      approver: this.approval?.approved ? this.approval.actor.username : null,
      currentGroup: this.currentGroup,
      ...(this.shards ? { shards: this.shards.startedIds() } : {}),
      // A started shard tells its own hosts (the core merges them in).
      hosts: this.input.groups.flatMap((g) =>
        g.hosts.filter((host) => !this.shards?.startedOwner(g, host)).map((host) => ({
          host,
          group: g.group,
          steps: g.steps.map((s) => {
            const state = this.steps.get(stepKey(s.stepId, host));
            return { stepId: s.stepId, level: s.level, name: s.name, status: state?.status ?? 'pending', attempt: state?.attempt ?? 0 };
          }),
        })),
      ),
    };
  }

  // ---- the lifecycle ----

  /** Approval, start time, the groups in order; ends in a terminal status. */
  async run(): Promise<TaskStatus> {
    try {
      await this.runScope.run(async () => {
        if (!this.input.shard) {
          // A shard starts at once: its parent waited for approval and the start time.
          if (this.input.schedule === 'new' && !(await this.awaitApproval())) return;
          await this.awaitStartTime();
          await this.setStatus(this.paused ? 'paused' : 'running', { startTime: new Date().toISOString() });
        }
        await this.runGroups();
        const bad = [...this.steps.values()].some((s) => stepStatusFailsTask(s.status)) || this.shards?.failed === true;
        await this.setStatus(bad ? 'failed' : 'succeeded', { finished: true });
      });
    } catch (err) {
      if (!(this.cancelled && isCancellation(err))) throw err;
    }
    if (this.cancelled && !isTerminalTaskStatus(this.status)) {
      await CancellationScope.nonCancellable(async () => {
        // Started shards settle their own hosts' steps; the rest are this workflow's to mark.
        await this.shards?.settle();
        // An `unknown` step keeps that status: whether it ran is still not known.
        const left = [...this.steps.entries()]
          .filter(([, s]) => !isTerminalStepStatus(s.status) && s.status !== 'unknown')
          .map(([k]) => refOf(k))
          .filter((ref) => !this.inStartedShard(ref));
        await this.setStepStatus(left, 'cancelled');
        await this.setStatus('cancelled', { finished: true });
      });
    }
    return this.status;
  }

  /** Waits for an approver (or the approval timeout); false when the task ended rejected. */
  private async awaitApproval(): Promise<boolean> {
    const timeoutS = this.input.approvalTimeoutS;
    // condition() without a timeout resolves to undefined, with one to a boolean.
    const decided = timeoutS === null ? (await condition(() => this.approval !== null), true) : await condition(() => this.approval !== null, timeoutS * 1000);
    if (!decided || !this.approval?.approved) {
      const who = this.approval?.actor.username ?? 'system (approval timed out)';
      await this.setStepStatus([...this.steps.keys()].map(refOf), 'cancelled');
      await this.setStatus('rejected', { approver: who, finished: true });
      return false;
    }
    await this.setStatus('scheduled', { approver: this.approval.actor.username });
    return true;
  }

  /** Sleeps until the start time; reschedule moves it (and wakes us). */
  private async awaitStartTime(): Promise<void> {
    for (;;) {
      this.startChanged = false;
      const wait = this.startAt === null ? 0 : this.startAt - Date.now();
      if (wait <= 0) return;
      await condition(() => this.startChanged, wait);
    }
  }

  private async runGroups(): Promise<void> {
    for (const group of this.input.groups) {
      this.currentGroup = group.group;
      if (this.shards) await this.shards.runGroup(group, (shard, maxParallel) => this.shardInput(group, shard, maxParallel));
      else await runBounded(group.hosts, Math.max(1, this.input.maxParallel), (host) => this.runHost(group, host));
    }
    this.currentGroup = null;
  }

  /** A shard's input: its slice of the group, and what it inherits as it starts. */
  private shardInput(group: PlanGroup, shard: Shard, maxParallel: number): TaskWorkflowInput {
    const released = group.steps.flatMap((s) => shard.hosts.filter((h) => this.released.has(stepKey(s.stepId, h))).map((host) => ({ stepId: s.stepId, host })));
    return {
      ...this.input,
      schedule: 'ready',
      maxParallel,
      groups: [{ ...group, hosts: shard.hosts }],
      shardHosts: null,
      shard: {
        parentId: workflowInfo().workflowId,
        group: group.group,
        index: shard.index,
        count: shard.count,
        paused: this.paused,
        released,
        abortedHosts: shard.hosts.filter((h) => this.abortedHosts.has(hostKey(group.group, h))),
      },
    };
  }

  /** Whether a started shard owns this step's host (and so records its status). */
  private inStartedShard(ref: StepRef): boolean {
    const group = this.groupOfStep.get(ref.stepId);
    return group !== undefined && this.shards?.startedOwner(group, ref.host) !== undefined;
  }

  /** One host's steps in level order, in a scope that aborting the host cancels. */
  private async runHost(group: PlanGroup, host: string): Promise<void> {
    const key = hostKey(group.group, host);
    const scope = new CancellationScope();
    this.hostScopes.set(key, scope);
    try {
      await scope.run(async () => {
        let move: HostMove = { kind: 'at', index: 0, awaitTrigger: true };
        while (move.kind !== 'stop') {
          if (move.kind === 'restart') {
            const from = this.restartFrom.get(key) ?? move.held;
            this.restartFrom.delete(key);
            await this.rearm(group.steps.slice(from, move.held + 1), host);
            move = { kind: 'at', index: from, awaitTrigger: true };
          }
          if (move.index >= group.steps.length) return;
          move = await this.runBatch(group, host, move.index, move.awaitTrigger);
        }
      });
    } catch (err) {
      // An aborted host's scope is cancelled; a cancelled task propagates.
      if (!(isCancellation(err) && this.abortedHosts.has(key) && !this.cancelled)) throw err;
    } finally {
      this.hostScopes.delete(key);
    }
    if (this.abortedHosts.has(key)) {
      const left = group.steps.filter((s) => !isEnded(this.steps.get(stepKey(s.stepId, host))?.status)).map((s) => ({ stepId: s.stepId, host }));
      await this.setStepStatus(left, 'aborted');
    }
  }

  /**
   * From step `index` on: its trigger (unless a retry runs it again), the pause gate, then one
   * batch of it and the `order` steps after it (a hand or timed step starts the next batch).
   * Each reported outcome is handled as a lone step's was; a hold waits for a decision.
   */
  private async runBatch(group: PlanGroup, host: string, index: number, awaitTrigger: boolean): Promise<HostMove> {
    const first = group.steps[index] as PlanStep;
    const aborted = (): boolean => this.abortedHosts.has(hostKey(group.group, host));
    if (awaitTrigger && first.trigger === 'hand') {
      await condition(() => this.released.has(stepKey(first.stepId, host)) || aborted());
    }
    if (awaitTrigger && first.trigger === 'timed' && this.timedAt !== null && this.timedAt > Date.now()) {
      await condition(aborted, this.timedAt - Date.now());
    }
    await condition(() => !this.paused || aborted());
    if (aborted()) return { kind: 'stop' };
    let end = index + 1;
    while (end < group.steps.length && (group.steps[end] as PlanStep).trigger === 'order') end += 1;
    const batch = group.steps.slice(index, end);
    const firstState = this.requireStep(first.stepId, host);
    firstState.status = 'running';
    const outcomes = await this.execute(group, host, batch);
    for (const [j, outcome] of outcomes.entries()) {
      const step = batch[j] as PlanStep;
      const key = stepKey(step.stepId, host);
      const state = this.requireStep(step.stepId, host);
      state.attempt = outcome.attempt;
      // A decision left from the previous hold (e.g. a second retry sent while paused) is stale;
      // one sent from here on, even while the `held` write below is in flight, is for this hold.
      this.decisions.delete(key);
      state.status = outcome.outcome;
      const after = await this.afterStep(group, step, host, outcome);
      if (after === 'next') continue;
      if (after === 'host-stop') return { kind: 'stop' };
      // Held for a person: retry, skip, restart, abort the host, or cancel the task.
      const decision = await this.awaitDecision(key);
      switch (decision) {
        case 'retry':
          return { kind: 'at', index: index + j, awaitTrigger: false }; // the next attempt
        case 'skip':
          await this.setStepStatus([{ stepId: step.stepId, host }], 'skipped');
          return { kind: 'at', index: index + j + 1, awaitTrigger: true };
        case 'abort':
          this.abortedHosts.add(hostKey(group.group, host));
          await this.setStepStatus([{ stepId: step.stepId, host }], 'aborted');
          return { kind: 'stop' };
        case 'restart':
          return { kind: 'restart', held: index + j };
        default:
          unreachable(decision, 'decision');
      }
    }
    // Past the batch, or where it stopped early (a pause, a step for another exec user).
    return { kind: 'at', index: index + outcomes.length, awaitTrigger: true };
  }

  /** What one reported outcome means for its host. */
  private async afterStep(group: PlanGroup, step: PlanStep, host: string, outcome: BatchStepOutcome): Promise<StepEnd> {
    switch (outcome.outcome) {
      case 'succeeded':
        return 'next';
      case 'cancelled':
        return 'host-stop';
      case 'unknown':
        return 'held'; // always an operator's decision: it may have run
      case 'failed':
        switch (step.onFailure) {
          case 'continue':
            return 'next';
          case 'abort':
            this.abortedHosts.add(hostKey(group.group, host));
            return 'host-stop';
          case 'hold':
            await this.setStepStatus([{ stepId: step.stepId, host }], 'held', outcome.error ?? undefined);
            return 'held';
          default:
            return unreachable(step.onFailure, 'on_failure');
        }
      default:
        return unreachable(outcome.outcome, 'step outcome');
    }
  }

  private async awaitDecision(key: string): Promise<Decision> {
    await condition(() => this.decisions.has(key));
    const decision = this.decisions.get(key) as Decision;
    this.decisions.delete(key);
    return decision;
  }

  /** Runs a batch; at least its first step's outcome comes back (settled if the activity was lost). */
  private async execute(group: PlanGroup, host: string, batch: PlanStep[]): Promise<BatchStepOutcome[]> {
    const steps: BatchStepInput[] = batch.map((s) => ({
      stepId: s.stepId,
      attempt: this.requireStep(s.stepId, host).attempt + 1,
      continueOnFailure: s.onFailure === 'continue',
    }));
    const request = { taskId: this.input.taskId, host, steps };
    let reason = 'the batch reported no step';
    for (let losses = 0; ; losses++) {
      try {
        const outcome = await batchActivities(batch, group.group, host).executeBatch(request);
        if (outcome.steps.length > 0) return outcome.steps;
      } catch (err) {
        if (isCancellation(err)) {
          this.noteEndedBeforeCancel(err, host);
          throw err;
        }
        // Its last try's worker was lost (no heartbeat): that says nothing about the host, so the
        // batch runs again and re-attaches to its steps through their journals on the host.
        if (workerLost(err) && losses < MAX_WORKER_LOSSES && patched(RERUN_AFTER_WORKER_LOSS)) continue;
        // Transport retries used up.
        reason = err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
      }
      break;
    }
    // Settle the rows from what the database knows, in order: steps that ended are reported as
    // they ended; the first that did not is `unknown` if its command may have started, else `failed`.
    const settled: BatchStepOutcome[] = [];
    for (const s of steps) {
      const outcome = await bookkeeping.settleLostStep({ taskId: this.input.taskId, stepId: s.stepId, host, attempt: s.attempt, error: reason });
      settled.push({ ...outcome, stepId: s.stepId, attempt: s.attempt });
      if (outcome.outcome !== 'succeeded') break;
    }
    return settled;
  }

  /** A cancelled batch names the steps that ended before the cancel: they keep their outcome. */
  private noteEndedBeforeCancel(err: unknown, host: string): void {
    const failure = err instanceof ActivityFailure ? err.cause : err;
    if (!(failure instanceof CancelledFailure)) return;
    const ended = failure.details[0];
    if (!Array.isArray(ended)) return;
    for (const outcome of ended as BatchStepOutcome[]) {
      const state = this.steps.get(stepKey(outcome.stepId, host));
      if (!state) continue;
      state.attempt = outcome.attempt;
      state.status = outcome.outcome;
    }
  }

  /** Back to the start for steps a restart runs again; a hand step asks for its release again. */
  private async rearm(again: PlanStep[], host: string): Promise<void> {
    for (const step of again) this.released.delete(stepKey(step.stepId, host));
    for (const trigger of new Set(again.map((s) => s.trigger))) {
      const refs = again.filter((s) => s.trigger === trigger).map((s) => ({ stepId: s.stepId, host }));
      await this.setStepStatus(refs, initialStepStatus(trigger));
    }
  }

  // ---- recording state where the API reads it ----

  private async setStatus(next: TaskStatus, extra: { approver?: string; startTime?: string; finished?: boolean } = {}): Promise<void> {
    this.status = next;
    if (this.input.shard) return; // the task's status is its parent's to record
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.TaskStatus, value: next }]);
    // Bookkeeping must land even while a scope is being cancelled (cancel, abort host).
    const write = patched(LOCAL_STATUS_WRITES) ? statusWrites : bookkeeping;
    await CancellationScope.nonCancellable(() => write.recordTaskStatus({ taskId: this.input.taskId, status: next, ...extra }));
  }

  private async setStepStatus(refs: StepRef[], next: StepStatus, error?: string): Promise<void> {
    if (refs.length === 0) return;
    for (const ref of refs) {
      const state = this.steps.get(stepKey(ref.stepId, ref.host));
      if (state) state.status = next;
    }
    // A whole large task's refs (reject, cancel) would outgrow Temporal's 2 MB payload limit in
    // one activity input, failing the workflow task: write them in chunks. Histories from before
    // wrote any number in one activity (patch).
    const chunk = refs.length > STEP_REFS_PER_WRITE && patched(STEP_STATUS_IN_CHUNKS) ? STEP_REFS_PER_WRITE : refs.length;
    for (let i = 0; i < refs.length; i += chunk) {
      const steps = refs.slice(i, i + chunk);
      await CancellationScope.nonCancellable(() => bookkeeping.recordStepStatus({ taskId: this.input.taskId, steps, status: next, error }));
    }
  }

  private recordPlan(at: number): Promise<void> {
    const plannedStart = new Date(at).toISOString();
    this.planWrites = this.planWrites.then(() =>
      CancellationScope.nonCancellable(() => bookkeeping.recordTaskPlan({ taskId: this.input.taskId, plannedStart })),
    );
    return this.planWrites;
  }

  // ---- checks shared by validators ----

  private requirePendingApproval(): void {
    if (this.status !== 'pending_approval' || this.approval) {
      throw new Error(`task ${this.input.taskId} is not waiting for approval (${this.status})`);
    }
  }

  private refuseIfFinished(): void {
    if (isTerminalTaskStatus(this.status)) throw new Error(`task ${this.input.taskId} has already finished (${this.status})`);
  }

  private requireStep(stepId: number, host: string): StepState {
    const state = this.steps.get(stepKey(stepId, host));
    if (!state) throw new Error(`task ${this.input.taskId} has no step ${stepId} on host ${host}`);
    return state;
  }

  private heldStepIndex(group: PlanGroup, host: string): number {
    return group.steps.findIndex((s) => {
      const status = this.steps.get(stepKey(s.stepId, host))?.status;
      return status === 'held' || status === 'unknown';
    });
  }
}

const accepted = (status: TaskStatus): InterventionResult => ({ accepted: true, status });

function validIso(iso: string | null | undefined): void {
  if (iso && Number.isNaN(Date.parse(iso))) throw new Error(`startAt: '${iso}' is not an ISO 8601 time`);
}

/** The step will not run again in this task (held and unknown steps still await a decision). */
function isEnded(status: StepStatus | undefined): boolean {
  return status !== undefined && isTerminalStepStatus(status);
}

/** Runs fn over items with at most `limit` at a time (deterministic order of starts). */
async function runBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}
