import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/domain/plan';

const step = (id: number, group_no: number, level: number, extra: Partial<Parameters<typeof buildPlan>[0][number]> = {}) => ({
  id,
  group_no,
  level,
  name: `s${id}`,
  trigger: 'order',
  timeout_s: 1800,
  retries: 2,
  idempotent: false,
  on_failure: 'hold',
  ...extra,
});

describe('buildPlan', () => {
  it('orders groups ascending and steps by level, carrying only the shape', () => {
    const plan = buildPlan(
      [step(3, 2, 1), step(2, 1, 2, { trigger: 'hand' }), step(1, 1, 1, { on_failure: 'continue', idempotent: true })],
      new Map([
        [1, ['127.0.0.1', '127.0.0.2']],
        [2, ['127.0.0.3']],
      ]),
    );
    expect(plan).toEqual([
      {
        group: 1,
        hosts: ['127.0.0.1', '127.0.0.2'],
        steps: [
          { stepId: 1, level: 1, name: 's1', trigger: 'order', timeoutS: 1800, retries: 2, idempotent: true, onFailure: 'continue' },
          { stepId: 2, level: 2, name: 's2', trigger: 'hand', timeoutS: 1800, retries: 2, idempotent: false, onFailure: 'hold' },
        ],
      },
      { group: 2, hosts: ['127.0.0.3'], steps: [{ stepId: 3, level: 1, name: 's3', trigger: 'order', timeoutS: 1800, retries: 2, idempotent: false, onFailure: 'hold' }] },
    ]);
    expect(JSON.stringify(plan)).not.toContain('command');
  });

  it('keeps steps of the same level in id order and maps unknown values to safe defaults', () => {
    const plan = buildPlan([step(9, 1, 1), step(4, 1, 1, { trigger: 'bogus', on_failure: 'bogus' })], new Map([[1, ['h']]]));
    expect(plan[0]?.steps.map((s) => [s.stepId, s.trigger, s.onFailure])).toEqual([
      [4, 'order', 'hold'],
      [9, 'order', 'hold'],
    ]);
  });
});
