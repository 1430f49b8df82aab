// The plan builder: frozen task steps + host groups → the workflow's plan (shape only:
// ids, levels, triggers — never command text, argument values or secrets).
import type { PlanGroup } from '../../workflows/messages';

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
        trigger: s.trigger === 'hand' || s.trigger === 'timed' ? s.trigger : 'order',
        timeoutS: s.timeout_s,
        retries: s.retries,
        idempotent: s.idempotent,
        onFailure: s.on_failure === 'abort' || s.on_failure === 'continue' ? s.on_failure : 'hold',
      })),
  }));
}
