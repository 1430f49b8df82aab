import { describe, expect, it } from 'vitest';
import {
  CODO_STATUS,
  CODO_STATUS_LABELS,
  hostStatusToCodo,
  isStepStatus,
  isTaskStatus,
  isTerminalStepStatus,
  isTerminalTaskStatus,
  STEP_STATUSES,
  stepStatusToCodo,
  TASK_STATUSES,
  taskStatusToCodo,
  taskStatusToCodoSchedule,
  type StepStatus,
  type TaskStatus,
} from '../../../src/domain/statuses';

describe('status lists', () => {
  it('name every task and step status once', () => {
    expect(TASK_STATUSES).toEqual(['pending_approval', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'cancelled', 'rejected']);
    expect(STEP_STATUSES).toEqual([
      'pending',
      'waiting_time',
      'waiting_hand',
      'running',
      'succeeded',
      'failed',
      'held',
      'skipped',
      'aborted',
      'cancelled',
      'unknown',
    ]);
  });

  it('recognise their members', () => {
    expect(isTaskStatus('running')).toBe(true);
    expect(isTaskStatus('held')).toBe(false);
    expect(isTaskStatus(2)).toBe(false);
    expect(isStepStatus('held')).toBe(true);
    expect(isStepStatus('paused')).toBe(false);
    expect(isStepStatus(undefined)).toBe(false);
  });

  it('know which statuses are final', () => {
    expect(TASK_STATUSES.filter(isTerminalTaskStatus)).toEqual(['succeeded', 'failed', 'cancelled', 'rejected']);
    // held and unknown wait for an operator, so they are not final
    expect(STEP_STATUSES.filter(isTerminalStepStatus)).toEqual(['succeeded', 'failed', 'skipped', 'aborted', 'cancelled']);
  });
});

describe('CODO codes', () => {
  it('are the strings 0–7 with CODO labels', () => {
    expect(Object.values(CODO_STATUS)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(CODO_STATUS_LABELS).toEqual({ '0': '新建', '1': '等待', '2': '运行中', '3': '完成', '4': '错误', '5': '手动', '6': '中止', '7': '定时' });
  });

  it('map task statuses to order status and schedule', () => {
    const table: Record<TaskStatus, [string, string]> = {
      pending_approval: ['0', 'new'],
      scheduled: ['1', 'ready'],
      running: ['2', 'start'],
      paused: ['5', 'start'],
      succeeded: ['3', 'OK'],
      failed: ['4', 'OK'],
      cancelled: ['6', 'OK'],
      rejected: ['6', 'OK'],
    };
    for (const status of TASK_STATUSES) {
      expect([taskStatusToCodo(status), taskStatusToCodoSchedule(status)]).toEqual(table[status]);
    }
  });

  it('only finished tasks have schedule OK', () => {
    for (const status of TASK_STATUSES) expect(taskStatusToCodoSchedule(status) === 'OK').toBe(isTerminalTaskStatus(status));
  });

  it('map step statuses to step row codes', () => {
    const table: Record<StepStatus, string> = {
      pending: '1',
      waiting_time: '7',
      waiting_hand: '5',
      running: '2',
      succeeded: '3',
      failed: '4',
      held: '4',
      unknown: '4',
      skipped: '6',
      aborted: '6',
      cancelled: '6',
    };
    for (const status of STEP_STATUSES) expect(stepStatusToCodo(status)).toBe(table[status]);
  });

  it('never report a step that did not succeed as done', () => {
    for (const status of STEP_STATUSES) {
      if (status !== 'succeeded') expect(stepStatusToCodo(status)).not.toBe(CODO_STATUS.done);
    }
  });
});

describe('hostStatusToCodo', () => {
  it.each<[StepStatus[], string]>([
    [['succeeded', 'succeeded'], '3'],
    [['succeeded', 'skipped', 'succeeded'], '3'],
    [['succeeded', 'held', 'pending'], '4'],
    [['succeeded', 'unknown'], '4'],
    [['failed', 'running'], '4'],
    [['succeeded', 'running', 'pending'], '2'],
    [['succeeded', 'waiting_hand', 'pending'], '5'],
    [['waiting_time', 'pending'], '7'],
    [['pending', 'pending'], '1'],
    [['succeeded', 'aborted', 'aborted'], '6'],
    [['cancelled', 'skipped'], '6'],
  ])('%j → %s', (steps, code) => {
    expect(hostStatusToCodo(steps)).toBe(code);
  });
});
