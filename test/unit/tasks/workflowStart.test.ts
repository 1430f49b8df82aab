// Which outbox starts go first: those whose task runs as soon as its workflow exists.
import { describe, expect, it } from 'vitest';
import { isDueNow } from '../../../src/tasks/workflowStart';

const now = Date.parse('2026-12-03T12:00:00Z');

describe('isDueNow', () => {
  it('is true for a ready task with no start time or one already passed', () => {
    expect(isDueNow({ schedule: 'ready', execTime: null }, now)).toBe(true);
    expect(isDueNow({ schedule: 'ready', execTime: '2026-12-03T11:59:59Z' }, now)).toBe(true);
    expect(isDueNow({ schedule: 'ready', execTime: '2026-12-03T12:00:00Z' }, now)).toBe(true);
  });

  it('is false for a task awaiting approval or a start time ahead', () => {
    expect(isDueNow({ schedule: 'new', execTime: null }, now)).toBe(false);
    expect(isDueNow({ schedule: 'new', execTime: '2026-12-03T11:00:00Z' }, now)).toBe(false);
    expect(isDueNow({ schedule: 'ready', execTime: '2026-12-03T12:00:01Z' }, now)).toBe(false);
  });
});
