// The task workflow (docs/engine.md#task-lifecycle): approval, start time, groups in order,
// hosts in parallel, steps by level, and every intervention as an Update. Deterministic code
// only: all I/O is in activities, which read commands, arguments and secrets from PostgreSQL themselves.
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { StepOutcome, TaskActivities } from '../activities/types';
import {
  abortHostUpdate,
  approveUpdate,
  cancelUpdate,
  pauseUpdate,
  progressQuery,
  rejectUpdate,
  releaseStepUpdate,
  rescheduleUpdate,
  restartFromStepUpdate,
  resumeUpdate,
  retryStepUpdate,
  skipStepUpdate,
  type AbortHostArgs,
  type Actor,
  type ApproveArgs,
  type ReleaseArgs,
  type RescheduleArgs,
  type StepArgs,
  type ActorArgs,
  type HostProgress,
  type InterventionResult,
  type PlanGroup,
  type PlanStep,
  type TaskWorkflowInput,
} from './messages';
import { initialStepStatus, TERMINAL_STEP_STATUSES } from '../src/domain/statuses';
import { SEARCH_ATTRIBUTE_KEYS } from './searchAttributes';

type Decision = 'retry' | 'skip' | 'abort' | 'restart';

interface StepState {
  status: string;
  attempt: number;
}

const bookkeeping = proxyActivities<TaskActivities>({
  startToCloseTimeout: '30s',
  // Status writes must eventually land: a database outage pauses the task, never fails it.
  retry: { initialInterval: '1s', maximumInterval: '30s' }, // no maximumAttempts: unlimited
});

function stepActivities(step: PlanStep, group: number, host: string): TaskActivities {
  return proxyActivities<TaskActivities>({
    // The activity enforces the command's own timeout; this bounds connect + cleanup too.
    startToCloseTimeout: `${step.timeoutS + 120}s`,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // Only transport errors are thrown (and retried); a command's own failure is returned.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: step.retries + 1 },
    summary: `group ${group} · ${host} · level ${step.level} · ${step.name}`,
  });
}

const accepted = (status: string): InterventionResult => ({ accepted: true, status });
const key = (stepId: number, host: string): string => `${stepId}|${host}`;

export async function taskWorkflow(input: TaskWorkflowInput): Promise<string> {
  let status = input.schedule === 'new' ? 'pending_approval' : 'scheduled';
  let paused = false;
  let cancelled = false;
  let approval: { approved: boolean; actor: Actor } | null = null;
  let startAt: number | null = input.execTime ? Date.parse(input.execTime) : null;
  let startChanged = false;
  let currentGroup: number | null = null;
  const timedAt = input.execTime ? Date.parse(input.execTime) : null;

  const steps = new Map<string, StepState>();
  const decisions = new Map<string, Decision>();
  const released = new Set<string>();
  /** Per host (`group|host`): the index of the step a restart goes back to. */
  const restartFrom = new Map<string, number>();
  const hostScopes = new Map<string, CancellationScope>();
  const abortedHosts = new Set<string>();
  const groupOfStep = new Map<number, PlanGroup>();
  for (const group of input.groups) {
    for (const step of group.steps) {
      groupOfStep.set(step.stepId, group);
      for (const host of group.hosts) steps.set(key(step.stepId, host), { status: initialStepStatus(step.trigger), attempt: 0 });
    }
  }
  const runScope = new CancellationScope();

  async function setStatus(next: string, extra: { approver?: string; startTime?: string; finished?: boolean } = {}): Promise<void> {
    status = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.TaskStatus, value: next }]);
    // Bookkeeping must land even while a scope is being cancelled (cancel, abort host).
    await CancellationScope.nonCancellable(() => bookkeeping.recordTaskStatus({ taskId: input.taskId, status: next, ...extra }));
  }

  // Planned start times are written in the order they were decided (updates may overlap).
  let planWrites: Promise<void> = Promise.resolve();
  function recordPlan(at: number): Promise<void> {
    const plannedStart = new Date(at).toISOString();
    planWrites = planWrites.then(() => CancellationScope.nonCancellable(() => bookkeeping.recordTaskPlan({ taskId: input.taskId, plannedStart })));
    return planWrites;
  }

  async function setStepStatus(refs: { stepId: number; host: string }[], next: string, error?: string): Promise<void> {
    if (refs.length === 0) return;
    for (const ref of refs) {
      const state = steps.get(key(ref.stepId, ref.host));
      if (state) state.status = next;
    }
    await CancellationScope.nonCancellable(() => bookkeeping.recordStepStatus({ taskId: input.taskId, steps: refs, status: next, error }));
  }

  const finished = (): boolean => ['succeeded', 'failed', 'cancelled', 'rejected'].includes(status);
  const refuseIfFinished = (): void => {
    if (finished()) throw new Error(`task ${input.taskId} has already finished (${status})`);
  };
  const requireStep = (stepId: number, host: string): StepState => {
    const state = steps.get(key(stepId, host));
    if (!state) throw new Error(`task ${input.taskId} has no step ${stepId} on host ${host}`);
    return state;
  };
  const validIso = (iso: string | null | undefined): void => {
    if (iso && Number.isNaN(Date.parse(iso))) throw new Error(`startAt: '${iso}' is not an ISO 8601 time`);
  };

  // ---- interventions (Updates: the validator answers at once; the handler changes state) ----
  setHandler(
    approveUpdate,
    async ({ actor, startAt: chosen }) => {
      approval = { approved: true, actor };
      if (chosen) {
        startAt = Date.parse(chosen);
        startChanged = true;
        await recordPlan(startAt);
      }
      return accepted('scheduled'); // approved: waits for its start time (or starts at once)
    },
    {
      validator: ({ actor, startAt: chosen }: ApproveArgs) => {
        if (status !== 'pending_approval' || approval) throw new Error(`task ${input.taskId} is not waiting for approval (${status})`);
        if (input.fourEyes && actor.username === input.creator) {
          throw new Error(`four-eyes: ${actor.username} created task ${input.taskId} and may not approve it`);
        }
        validIso(chosen);
      },
    },
  );
  setHandler(
    rejectUpdate,
    ({ actor }) => {
      approval = { approved: false, actor };
      return accepted('rejected');
    },
    {
      validator: (_args: ActorArgs) => {
        if (status !== 'pending_approval' || approval) throw new Error(`task ${input.taskId} is not waiting for approval (${status})`);
      },
    },
  );
  setHandler(
    rescheduleUpdate,
    async ({ startAt: chosen }) => {
      startAt = chosen ? Date.parse(chosen) : null;
      startChanged = true;
      await recordPlan(startAt ?? Date.now()); // no time: at once
      return accepted(status);
    },
    {
      validator: ({ startAt: chosen }: RescheduleArgs) => {
        if (status !== 'scheduled' && status !== 'pending_approval') {
          throw new Error(`task ${input.taskId} can be rescheduled only before it starts (${status})`);
        }
        validIso(chosen);
      },
    },
  );
  setHandler(
    pauseUpdate,
    async () => {
      paused = true;
      if (status === 'running') await setStatus('paused');
      return accepted('paused');
    },
    {
      validator: (_args: ActorArgs) => {
        refuseIfFinished();
        if (paused) throw new Error(`task ${input.taskId} is already paused`);
      },
    },
  );
  setHandler(
    resumeUpdate,
    async () => {
      paused = false;
      if (status === 'paused') await setStatus('running');
      return accepted(status);
    },
    {
      validator: (_args: ActorArgs) => {
        refuseIfFinished();
        if (!paused) throw new Error(`task ${input.taskId} is not paused`);
      },
    },
  );
  setHandler(
    cancelUpdate,
    () => {
      cancelled = true;
      runScope.cancel();
      return accepted('cancelled');
    },
    { validator: (_args: ActorArgs) => refuseIfFinished() },
  );
  const decide =
    (decision: Decision) =>
    ({ stepId, host }: { stepId: number; host: string }) => {
      decisions.set(key(stepId, host), decision);
      return accepted(status);
    };
  const requireHeld = ({ stepId, host }: StepArgs): void => {
    refuseIfFinished();
    const state = requireStep(stepId, host);
    if (state.status !== 'held' && state.status !== 'unknown') {
      throw new Error(`step ${stepId} on ${host} is not held for a decision (${state.status})`);
    }
  };
  setHandler(retryStepUpdate, decide('retry'), { validator: requireHeld });
  const heldStepIndex = (group: PlanGroup, host: string): number =>
    group.steps.findIndex((s) => ['held', 'unknown'].includes(steps.get(key(s.stepId, host))?.status ?? ''));
  setHandler(
    restartFromStepUpdate,
    ({ stepId, host }) => {
      const group = groupOfStep.get(stepId) as PlanGroup;
      const held = group.steps[heldStepIndex(group, host)] as PlanStep;
      restartFrom.set(`${group.group}|${host}`, group.steps.findIndex((s) => s.stepId === stepId));
      decisions.set(key(held.stepId, host), 'restart');
      return accepted(status);
    },
    {
      validator: ({ stepId, host }: StepArgs) => {
        refuseIfFinished();
        requireStep(stepId, host);
        const group = groupOfStep.get(stepId) as PlanGroup;
        const held = heldStepIndex(group, host);
        if (held < 0) throw new Error(`host ${host} in group ${group.group} is not held at a step; only a held host can be restarted`);
        if (group.steps.findIndex((s) => s.stepId === stepId) > held) {
          throw new Error(`step ${stepId} comes after the held step ${group.steps[held]?.stepId} on ${host}; restart from it or an earlier step`);
        }
      },
    },
  );
  setHandler(skipStepUpdate, decide('skip'), { validator: requireHeld });
  setHandler(
    abortHostUpdate,
    ({ host, group }) => {
      abortedHosts.add(`${group}|${host}`);
      const plan = input.groups.find((g) => g.group === group);
      for (const step of plan?.steps ?? []) decisions.set(key(step.stepId, host), 'abort');
      hostScopes.get(`${group}|${host}`)?.cancel();
      return accepted(status);
    },
    {
      validator: ({ host, group }: AbortHostArgs) => {
        refuseIfFinished();
        const plan = input.groups.find((g) => g.group === group);
        if (!plan || !plan.hosts.includes(host)) throw new Error(`task ${input.taskId} has no host ${host} in group ${group}`);
        if (abortedHosts.has(`${group}|${host}`)) throw new Error(`host ${host} in group ${group} is already aborted`);
      },
    },
  );
  setHandler(
    releaseStepUpdate,
    ({ stepId, host }) => {
      const group = groupOfStep.get(stepId);
      for (const h of host ? [host] : (group?.hosts ?? [])) released.add(key(stepId, h));
      return accepted(status);
    },
    {
      validator: ({ stepId, host }: ReleaseArgs) => {
        refuseIfFinished();
        const group = groupOfStep.get(stepId);
        const step = group?.steps.find((s) => s.stepId === stepId);
        if (!group || !step) throw new Error(`task ${input.taskId} has no step ${stepId}`);
        if (step.trigger !== 'hand') throw new Error(`step ${stepId} (${step.name}) is not a hand step`);
        if (host !== undefined) requireStep(stepId, host);
      },
    },
  );
  setHandler(progressQuery, () => ({
    status,
    paused,
    startAt: startAt === null ? null : new Date(startAt).toISOString(),
    approver: approval?.approved ? approval.actor.username : null,
    currentGroup,
    hosts: input.groups.flatMap((g) =>
      g.hosts.map(
        (host): HostProgress => ({
          host,
          group: g.group,
          steps: g.steps.map((s) => {
            const state = steps.get(key(s.stepId, host));
            return { stepId: s.stepId, level: s.level, name: s.name, status: state?.status ?? 'pending', attempt: state?.attempt ?? 0 };
          }),
        }),
      ),
    ),
  }));

  // ---- one step on one host, until it succeeds or a decision moves on ----
  type StepEnd = 'ok' | 'host-stop' | 'restart';

  async function runStep(group: PlanGroup, step: PlanStep, host: string): Promise<StepEnd> {
    const ref = { stepId: step.stepId, host };
    const state = requireStep(step.stepId, host);
    const hostKey = `${group.group}|${host}`;
    if (step.trigger === 'hand') {
      await condition(() => released.has(key(step.stepId, host)) || abortedHosts.has(hostKey));
    }
    if (step.trigger === 'timed' && timedAt !== null && timedAt > Date.now()) {
      await condition(() => abortedHosts.has(hostKey), timedAt - Date.now());
    }
    for (;;) {
      await condition(() => !paused || abortedHosts.has(hostKey));
      if (abortedHosts.has(hostKey)) return 'host-stop';
      state.attempt += 1;
      state.status = 'running';
      const outcome = await execute(group, step, host, state.attempt);
      state.status = outcome.outcome;
      if (outcome.outcome === 'succeeded') return 'ok';
      if (outcome.outcome === 'cancelled') return 'host-stop';
      if (step.onFailure === 'continue' && outcome.outcome === 'failed') return 'ok';
      if (step.onFailure === 'abort' && outcome.outcome === 'failed') {
        abortedHosts.add(hostKey);
        return 'host-stop';
      }
      // Hold for a person: retry, skip, abort the host, or cancel the task.
      if (outcome.outcome === 'failed') await setStepStatus([ref], 'held', outcome.error ?? undefined);
      decisions.delete(key(step.stepId, host));
      await condition(() => decisions.has(key(step.stepId, host)));
      const decision = decisions.get(key(step.stepId, host));
      decisions.delete(key(step.stepId, host));
      if (decision === 'skip') {
        await setStepStatus([ref], 'skipped');
        return 'ok';
      }
      if (decision === 'abort') {
        abortedHosts.add(hostKey);
        await setStepStatus([ref], 'aborted');
        return 'host-stop';
      }
      if (decision === 'restart') return 'restart';
      // retry: loop with the next attempt
    }
  }

  async function execute(group: PlanGroup, step: PlanStep, host: string, attempt: number): Promise<StepOutcome> {
    const request = { taskId: input.taskId, stepId: step.stepId, host, attempt };
    try {
      return await stepActivities(step, group.group, host).executeStep(request);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Transport retries used up, or the worker was lost and retries are exhausted: the
      // activity settles the row (unknown if the command may have started, failed if not).
      const reason = err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err);
      return bookkeeping.settleLostStep({ ...request, error: reason });
    }
  }

  async function runHost(group: PlanGroup, host: string): Promise<void> {
    const hostKey = `${group.group}|${host}`;
    const scope = new CancellationScope();
    hostScopes.set(hostKey, scope);
    try {
      await scope.run(async () => {
        for (let i = 0; i < group.steps.length; ) {
          const end = await runStep(group, group.steps[i] as PlanStep, host);
          if (end === 'host-stop') break;
          if (end === 'restart') {
            const from = restartFrom.get(hostKey) ?? i;
            restartFrom.delete(hostKey);
            await rearm(group.steps.slice(from, i + 1), host);
            i = from;
          } else {
            i += 1;
          }
        }
      });
    } catch (err) {
      // An aborted host's scope is cancelled; a cancelled task propagates.
      if (!(isCancellation(err) && abortedHosts.has(hostKey) && !cancelled)) throw err;
    } finally {
      hostScopes.delete(hostKey);
    }
    if (abortedHosts.has(hostKey)) {
      const left = group.steps.filter((s) => !isEnded(steps.get(key(s.stepId, host))?.status)).map((s) => ({ stepId: s.stepId, host }));
      await setStepStatus(left, 'aborted');
    }
  }

  /** Back to the start for steps a restart runs again; a hand step asks for its release again. */
  async function rearm(again: PlanStep[], host: string): Promise<void> {
    for (const step of again) released.delete(key(step.stepId, host));
    for (const trigger of new Set(again.map((s) => s.trigger))) {
      const refs = again.filter((s) => s.trigger === trigger).map((s) => ({ stepId: s.stepId, host }));
      await setStepStatus(refs, initialStepStatus(trigger));
    }
  }

  async function runGroups(): Promise<void> {
    for (const group of input.groups) {
      currentGroup = group.group;
      await runBounded(group.hosts, Math.max(1, input.maxParallel), (host) => runHost(group, host));
    }
    currentGroup = null;
  }

  // ---- the lifecycle ----
  try {
    await runScope.run(async () => {
      if (input.schedule === 'new') {
        // condition() without a timeout resolves to undefined, with one to a boolean.
        const decided =
          input.approvalTimeoutS === null
            ? (await condition(() => approval !== null), true)
            : await condition(() => approval !== null, input.approvalTimeoutS * 1000);
        if (!decided || !approval?.approved) {
          const who = approval?.actor.username ?? 'system (approval timed out)';
          await setStepStatus([...steps.keys()].map(refOf), 'cancelled');
          await setStatus('rejected', { approver: who, finished: true });
          return;
        }
        await setStatus('scheduled', { approver: approval.actor.username });
      }
      // Sleep until the start time; reschedule moves it (and wakes us).
      for (;;) {
        startChanged = false;
        const wait = startAt === null ? 0 : startAt - Date.now();
        if (wait <= 0) break;
        await condition(() => startChanged, wait);
      }
      await setStatus(paused ? 'paused' : 'running', { startTime: new Date().toISOString() });
      await runGroups();
      const bad = [...steps.values()].some((s) => ['failed', 'unknown', 'aborted', 'held'].includes(s.status));
      await setStatus(bad ? 'failed' : 'succeeded', { finished: true });
    });
  } catch (err) {
    if (!(cancelled && isCancellation(err))) throw err;
  }

  if (cancelled && !finished()) {
    await CancellationScope.nonCancellable(async () => {
      // An `unknown` step keeps that status: whether it ran is still not known.
      const left = [...steps.entries()].filter(([, s]) => !isEnded(s.status) && s.status !== 'unknown').map(([k]) => refOf(k));
      await setStepStatus(left, 'cancelled');
      await setStatus('cancelled', { finished: true });
    });
  }
  await condition(allHandlersFinished);
  return status;
}

/** The step will not run again in this task (held and unknown steps still await a decision). */
function isEnded(status: string | undefined): boolean {
  return (TERMINAL_STEP_STATUSES as readonly (string | undefined)[]).includes(status);
}

function refOf(k: string): { stepId: number; host: string } {
  const bar = k.indexOf('|');
  return { stepId: Number(k.slice(0, bar)), host: k.slice(bar + 1) };
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
