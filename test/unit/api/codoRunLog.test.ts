// The CODO log WebSocket keeps only part of a long step log in memory (RunLog): what it shows
// must be what the order view shows from the whole log (boundLines over every chunk).
import { describe, expect, it } from 'vitest';
import { boundLines, codoLogLines, LOG_TEXT_MAX_CHARS, RunLog } from '../../../src/api/codo/views';
import type { LogChunk } from '../../../src/tasks/logs';

const TZ = 'Asia/Shanghai';

function chunks(count: number): LogChunk[] {
  const at = new Date('2024-05-01T08:00:00Z');
  const out: LogChunk[] = [{ step_run_id: 1, attempt: 1, stream: 'system', chunk: '[CMD]: seq 1 100000\n', at }];
  for (let i = 0; i < count; i++) {
    // Rows are cut at flush time, not at newlines: lines continue into the next row.
    const text = Array.from({ length: 40 }, (_, j) => `line ${i}-${j} ${'x'.repeat(i % 7)}`).join('\n');
    out.push({ step_run_id: 1, attempt: 1, stream: i % 5 === 4 ? 'stderr' : 'stdout', chunk: i % 3 === 0 ? `${text}\n` : `${text} `, at: new Date(at.getTime() + i * 1000) });
  }
  return out;
}

describe('RunLog', () => {
  it('shows what the whole log shows, for a short log and for one many times the shown size', () => {
    for (const count of [3, 2000]) {
      const all = chunks(count);
      const log = new RunLog();
      for (const c of all) log.add(c);
      const whole = boundLines(codoLogLines(all, TZ), LOG_TEXT_MAX_CHARS);
      expect(log.lines(TZ)).toEqual(whole);
      expect(whole[0]).toContain('[CMD]: seq 1 100000');
    }
  });

  it('keeps memory bounded however long the log grows', () => {
    const log = new RunLog();
    for (const c of chunks(5000)) log.add(c);
    const kept = (log as unknown as { chars: number }).chars;
    expect(kept).toBeLessThanOrEqual(4 * LOG_TEXT_MAX_CHARS);
  });
});
