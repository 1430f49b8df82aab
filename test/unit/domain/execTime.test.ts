import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecTimeError, formatCodoTime, parseExecTime } from '../../../src/domain/execTime';

const NOW = new Date('2024-06-30T20:00:00Z'); // already 2024-07-01 04:00 in Shanghai
const iso = (text: string | null | undefined, zone: string, now = NOW): string | null =>
  parseExecTime(text, zone, now)?.toISOString() ?? null;

describe('parseExecTime', () => {
  it('means "run now" when empty', () => {
    for (const text of [undefined, null, '', '   ']) expect(parseExecTime(text, 'Asia/Shanghai', NOW)).toBeNull();
  });

  // Expected instants checked against Python's zoneinfo (fold=0: gaps move forward, overlaps take the first).
  it.each([
    ['2019-03-22 16:09:50', 'Asia/Shanghai', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22 16:09', 'Asia/Shanghai', '2019-03-22T08:09:00.000Z'],
    ['2019-3-2 6:09:50', 'Asia/Shanghai', '2019-03-01T22:09:50.000Z'],
    ['2019-03-22T16:09:50', 'Asia/Shanghai', '2019-03-22T08:09:50.000Z'],
    [' 2019-03-22 16:09:50 ', 'Asia/Shanghai', '2019-03-22T08:09:50.000Z'],
    ['2020-02-29 00:00:00', 'Asia/Shanghai', '2020-02-28T16:00:00.000Z'],
    ['2024-06-01 12:00:00', 'Asia/Kathmandu', '2024-06-01T06:15:00.000Z'],
    ['2024-06-01 12:00:00', 'UTC', '2024-06-01T12:00:00.000Z'],
    ['2024-01-15 12:00:00', 'Europe/Berlin', '2024-01-15T11:00:00.000Z'],
    ['2024-07-15 12:00:00', 'Europe/Berlin', '2024-07-15T10:00:00.000Z'],
    // spring forward in Berlin: 02:00–02:59 do not exist
    ['2024-03-31 01:59:59', 'Europe/Berlin', '2024-03-31T00:59:59.000Z'],
    ['2024-03-31 02:30:00', 'Europe/Berlin', '2024-03-31T01:30:00.000Z'],
    ['2024-03-31 03:00:00', 'Europe/Berlin', '2024-03-31T01:00:00.000Z'],
    // fall back in Berlin: 02:00–02:59 happen twice
    ['2024-10-27 01:59:59', 'Europe/Berlin', '2024-10-26T23:59:59.000Z'],
    ['2024-10-27 02:30:00', 'Europe/Berlin', '2024-10-27T00:30:00.000Z'],
    ['2024-10-27 03:00:00', 'Europe/Berlin', '2024-10-27T02:00:00.000Z'],
    ['2024-03-10 02:30:00', 'America/New_York', '2024-03-10T07:30:00.000Z'],
    ['2024-11-03 01:30:00', 'America/New_York', '2024-11-03T05:30:00.000Z'],
    // half-hour DST shifts
    ['2024-10-06 02:15:00', 'Australia/Lord_Howe', '2024-10-05T15:45:00.000Z'],
    ['2024-04-07 01:45:00', 'Australia/Lord_Howe', '2024-04-06T14:45:00.000Z'],
    // local mean time before standard zones (+08:05:43)
    ['1900-01-01 00:00:00', 'Asia/Shanghai', '1899-12-31T15:54:17.000Z'],
  ])('%s in %s', (text, zone, expected) => {
    expect(iso(text, zone)).toBe(expected);
  });

  it('reads HH:MM as today in the zone, even when that is already tomorrow in UTC', () => {
    expect(iso('09:00', 'Asia/Shanghai')).toBe('2024-07-01T01:00:00.000Z');
    expect(iso('9:30:15', 'Asia/Shanghai')).toBe('2024-07-01T01:30:15.000Z');
    expect(iso('09:00', 'Europe/Berlin')).toBe('2024-06-30T07:00:00.000Z');
    expect(iso('23:59', 'America/New_York')).toBe('2024-07-01T03:59:00.000Z');
    // a past time today stays today: the caller treats past as "run now"
    expect(iso('00:00', 'Asia/Shanghai')).toBe('2024-06-30T16:00:00.000Z');
  });

  it.each([
    ['2019-03-22T16:09:50+08:00', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T16:09:50+0800', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T16:09:50+08', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T08:09:50Z', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T08:09:50.123Z', '2019-03-22T08:09:50.123Z'],
    ['2019-03-22 16:09:50 +08:00', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T02:39:50-05:30', '2019-03-22T08:09:50.000Z'],
    ['2019-03-22T08:09Z', '2019-03-22T08:09:00.000Z'],
  ])('ISO 8601 with an offset ignores the zone: %s', (text, expected) => {
    expect(iso(text, 'Europe/Berlin')).toBe(expected);
  });

  it.each([
    'tomorrow',
    '2019/03/22 16:09:50',
    '2019-03-22',
    '1553242190',
    '2019-02-29 00:00:00',
    '2019-04-31 00:00:00',
    '2019-13-01 00:00:00',
    '2019-00-10 00:00:00',
    '2019-03-00 00:00:00',
    '2019-03-22 24:00:00',
    '2019-03-22 12:60:00',
    '2019-03-22 12:00:60',
    '2019-03-22 12:0:00',
    '25:00',
    '12:5',
    '2019-03-22T16:09:50+24:00',
    '2019-03-22T16:09:50+08:60',
    '2019-03-22T16:09:50 Z trailing',
    '19-03-22 16:09:50',
  ])('rejects %j and says what is expected', (text) => {
    expect(() => parseExecTime(text, 'Asia/Shanghai', NOW)).toThrow(ExecTimeError);
    expect(() => parseExecTime(text, 'Asia/Shanghai', NOW)).toThrow(
      `invalid exec_time '${text.trim()}': expected 'YYYY-MM-DD HH:MM:SS' (also 'YYYY-MM-DD HH:MM' or 'HH:MM') in Asia/Shanghai, or ISO 8601 with an offset such as '2019-03-22T16:09:50+08:00'`,
    );
  });

  it('refuses an unknown time zone', () => {
    expect(() => parseExecTime('2019-03-22 16:09:50', 'Mars/Olympus', NOW)).toThrow("unknown time zone 'Mars/Olympus'");
  });
});

describe('formatCodoTime', () => {
  it('writes the wall clock of the zone', () => {
    const d = new Date('2019-03-22T08:09:50.999Z');
    expect(formatCodoTime(d, 'Asia/Shanghai')).toBe('2019-03-22 16:09:50');
    expect(formatCodoTime(d, 'UTC')).toBe('2019-03-22 08:09:50');
    expect(formatCodoTime(new Date('2024-10-27T00:30:00Z'), 'Europe/Berlin')).toBe('2024-10-27 02:30:00');
    expect(formatCodoTime(new Date('2024-10-27T01:30:00Z'), 'Europe/Berlin')).toBe('2024-10-27 02:30:00');
    expect(formatCodoTime(new Date('2024-12-31T23:59:59Z'), 'Asia/Shanghai')).toBe('2025-01-01 07:59:59');
    expect(formatCodoTime(new Date('2024-06-30T22:00:00Z'), 'Europe/Berlin')).toBe('2024-07-01 00:00:00');
  });

  it('refuses an invalid Date', () => {
    expect(() => formatCodoTime(new Date('nope'), 'UTC')).toThrow(RangeError);
  });
});

describe('properties', () => {
  const instant = fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(Math.floor(ms / 1000) * 1000));
  const zone = fc.constantFrom('Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC');

  it('format then parse gives back the same instant, except for the second pass through a DST overlap', () => {
    fc.assert(
      fc.property(instant, zone, (d, tz) => {
        const text = formatCodoTime(d, tz);
        const parsed = parseExecTime(text, tz, NOW) as Date;
        expect(formatCodoTime(parsed, tz)).toBe(text);
        if (parsed.getTime() !== d.getTime()) {
          // the same wall time shown twice: we chose the earlier one
          expect(parsed.getTime()).toBeLessThan(d.getTime());
          expect(d.getTime() - parsed.getTime()).toBeLessThanOrEqual(3_600_000);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('in a zone without DST, format and parse are exact inverses', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1992, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const d = new Date(Math.floor(ms / 1000) * 1000);
        expect(parseExecTime(formatCodoTime(d, 'Asia/Shanghai'), 'Asia/Shanghai', NOW)).toEqual(d);
      }),
      { numRuns: 1000 },
    );
  });
});
