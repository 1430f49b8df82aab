// The plan builder: frozen task steps + host groups → the workflow's plan (shape only:
// ids, levels, triggers — never command text, argument values or secrets).
import { isOnFailure, isTrigger, type OnFailure, type Trigger } from './statuses';

export interface PlanStep {
  /** task_steps.id (the frozen copy). */
  stepId: number;
  level: number;
  name: string;
  trigger: Trigger;
  timeoutS: number;
  retries: number;
  idempotent: boolean;
  onFailure: OnFailure;
}

export interface PlanGroup {
  group: number;
  hosts: string[];
  steps: PlanStep[];
}

/** A frozen step as stored; trigger and on_failure are checked here, since the database does not constrain them. */
export interface PlanStepSource {
  id: number;
  group_no: number;
  level: number;
  name: string;
  trigger: string;
  timeout_s: number;
  retries: number;
  idempotent: boolean;
  on_failure: string;
}

export function buildPlan(steps: readonly PlanStepSource[], hosts: ReadonlyMap<number, readonly string[]>): PlanGroup[] {
  const groupNumbers = [...new Set(steps.map((s) => s.group_no))].sort((a, b) => a - b);
  return groupNumbers.map((group) => ({
    group,
    hosts: [...(hosts.get(group) ?? [])],
    steps: steps
      .filter((s) => s.group_no === group)
      .sort((a, b) => a.level - b.level || a.id - b.id)
      .map((s) => ({
        stepId: s.id,
        level: s.level,
        name: s.name,
        trigger: isTrigger(s.trigger) ? s.trigger : 'order',
        timeoutS: s.timeout_s,
        retries: s.retries,
        idempotent: s.idempotent,
        onFailure: isOnFailure(s.on_failure) ? s.on_failure : 'hold',
      })),
  }));
}
