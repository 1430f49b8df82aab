// Execution times as CODO clients write them: wall-clock `YYYY-MM-DD HH:MM:SS` in the server's
// time zone (OPSFLOW_TIMEZONE), or ISO 8601 with an explicit offset. Zone arithmetic uses Intl
// only (no tz library), including DST gaps and overlaps.

/** An exec_time that matches none of the accepted formats; the message lists them. */
export class ExecTimeError extends Error {
  override readonly name = 'ExecTimeError';
}

const LOCAL_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?$/;
const TIME_ONLY_RE = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const ISO_OFFSET_RE =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/**
 * When to start a task. Empty → `null` (run now). Accepted: `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD HH:MM`
 * and `HH:MM[:SS]` (today) read in `timeZone`, or ISO 8601 with `Z`/an offset. A wall time that a DST
 * change skips is moved forward by the gap; one that occurs twice means the first occurrence.
 */
export function parseExecTime(text: string | undefined | null, timeZone: string, now: Date): Date | null {
  const input = (text ?? '').trim();
  if (input === '') return null;
  const zoned = zoneFormatter(timeZone);

  let m = ISO_OFFSET_RE.exec(input);
  if (m) {
    const wall = toWallTime(input, timeZone, m.slice(1, 8));
    return new Date(utcMs(wall) - offsetMinutes(m[8] as string, input, timeZone) * 60_000);
  }
  m = LOCAL_RE.exec(input);
  if (m) return new Date(zonedToUtc(toWallTime(input, timeZone, m.slice(1, 8)), zoned));
  m = TIME_ONLY_RE.exec(input);
  if (m) {
    const today = wallTimeAt(now.getTime(), zoned);
    const fields = [String(today.year), String(today.month), String(today.day), m[1], m[2], m[3], undefined];
    return new Date(zonedToUtc(toWallTime(input, timeZone, fields), zoned));
  }
  throw formatError(input, timeZone);
}

/** `YYYY-MM-DD HH:MM:SS` as the wall clock in `timeZone` shows it (CODO's time format). */
export function formatCodoTime(d: Date, timeZone: string): string {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError('cannot format an invalid Date');
  const w = wallTimeAt(t, zoneFormatter(timeZone));
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${String(w.year).padStart(4, '0')}-${p2(w.month)}-${p2(w.day)} ${p2(w.hour)}:${p2(w.minute)}:${p2(w.second)}`;
}

function formatError(input: string, timeZone: string): ExecTimeError {
  return new ExecTimeError(
    `invalid exec_time '${input}': expected 'YYYY-MM-DD HH:MM:SS' (also 'YYYY-MM-DD HH:MM' or 'HH:MM') ` +
      `in ${timeZone}, or ISO 8601 with an offset such as '2019-03-22T16:09:50+08:00'`,
  );
}

/** Regex groups (year … fraction) → a checked wall time; Feb 30 or 24:00 are errors, not rollovers. */
function toWallTime(input: string, timeZone: string, fields: readonly (string | undefined)[]): WallTime {
  const [year, month, day, hour, minute, second] = fields.slice(0, 6).map((f) => Number(f ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const ms = Math.floor(Number(`0${fields[6] ?? ''}`) * 1000);
  const daysInMonth = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw formatError(input, timeZone);
  }
  return { year, month, day, hour, minute, second, ms };
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `Z`, `+08`, `+0800`, `+08:00` → minutes east of UTC. */
function offsetMinutes(offset: string, input: string, timeZone: string): number {
  if (offset === 'Z' || offset === 'z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) throw formatError(input, timeZone);
  return sign * (hours * 60 + minutes);
}

/** Milliseconds since the epoch of a wall time read as UTC (years below 100 kept as written). */
function utcMs(w: WallTime): number {
  const d = new Date(Date.UTC(2000, 0, 1, w.hour, w.minute, w.second, w.ms));
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  return d.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short', // keeps years before 1 AD unambiguous
      });
    } catch {
      throw new RangeError(`unknown time zone '${timeZone}'`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in the formatter's zone at instant `t`. */
function wallTimeAt(t: number, zoned: Intl.DateTimeFormat): WallTime {
  const parts: Record<string, string> = {};
  for (const { type, value } of zoned.formatToParts(t)) parts[type] = value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' || parts.era === 'B' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    ms: ((t % 1000) + 1000) % 1000,
  };
}

/** The zone's offset from UTC at instant `t`, in ms (east positive). */
function offsetAt(t: number, zoned: Intl.DateTimeFormat): number {
  return utcMs(wallTimeAt(t, zoned)) - t;
}

/**
 * The instant at which the zone's clock shows `wall`. Candidates come from the offsets in force a
 * day before and after; valid ones are those whose offset agrees. Two valid (DST overlap) → the
 * earlier; none (DST gap) → apply the offset from before the change, i.e. move forward by the gap.
 */
function zonedToUtc(wall: WallTime, zoned: Intl.DateTimeFormat): number {
  const asUtc = utcMs(wall);
  const day = 86_400_000;
  const before = offsetAt(asUtc - day, zoned);
  const offsets = new Set([before, offsetAt(asUtc, zoned), offsetAt(asUtc + day, zoned)]);
  const valid = [...offsets].map((o) => asUtc - o).filter((t) => offsetAt(t, zoned) === asUtc - t);
  return valid.length > 0 ? Math.min(...valid) : asUtc - before;
}
