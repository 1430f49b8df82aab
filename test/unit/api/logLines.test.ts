// The CODO log line formatter shared by the order view (task_log) and the log WebSocket.
import { describe, expect, it } from 'vitest';
import { codoLogLines } from '../../../src/api/codo/views';
import type { LogChunk } from '../../../src/tasks/logs';

const TZ = 'Asia/Shanghai';
const at = (s: number): Date => new Date(Date.UTC(2019, 2, 22, 8, 9, s)); // 16:09:ss in Shanghai
const chunk = (stream: string, text: string, s: number, attempt = 1): LogChunk => ({ step_run_id: 1, attempt, stream, chunk: text, at: at(s) });

describe('codoLogLines', () => {
  it('stamps every line with CODO\'s time and full-width colon; the runner\'s [CMD] line keeps its mark', () => {
    expect(codoLogLines([chunk('system', '[CMD]: echo WHO\n', 0), chunk('stdout', 'a\nb\n', 1), chunk('stderr', 'oops\n', 2)], TZ)).toEqual([
      '2019-03-22 16:09:00： [CMD]: echo WHO',
      '2019-03-22 16:09:01： a',
      '2019-03-22 16:09:01： b',
      '2019-03-22 16:09:02： [stderr] oops',
    ]);
  });

  it('joins a line cut across rows of one stream and attempt, stamped with its first part', () => {
    expect(codoLogLines([chunk('stdout', 'hel', 1), chunk('stdout', 'lo\nwor', 2), chunk('stdout', 'ld', 3)], TZ)).toEqual(['2019-03-22 16:09:01： hello', '2019-03-22 16:09:02： world']);
    // Another stream or attempt in between ends the open line.
    expect(codoLogLines([chunk('stdout', 'part', 1), chunk('stderr', 'err\n', 2), chunk('stdout', 'next\n', 3, 2)], TZ)).toEqual([
      '2019-03-22 16:09:01： part',
      '2019-03-22 16:09:02： [stderr] err',
      '2019-03-22 16:09:03： next',
    ]);
  });

  it('drops blank system lines and marks unmarked system text as opsflow\'s', () => {
    expect(codoLogLines([chunk('system', '\n[opsflow] cancelled\n', 4), chunk('system', 'plain note', 5), chunk('stdout', '\n', 6)], TZ)).toEqual([
      '2019-03-22 16:09:04： [opsflow] cancelled',
      '2019-03-22 16:09:05： [opsflow] plain note',
      '2019-03-22 16:09:06： ',
    ]);
  });
});
