// Shared pieces of CODO's template management routes (/api/task/v2/task_layout/…): CODO's own
// refusals answer HTTP 200 with its code and message; input CODO never checked (types, sizes,
// unknown ids) answers 4xx with a negative code and a msg naming the field.
import { z } from 'zod';
import { formatCodoTime } from '../../domain/execTime';
import { HttpError } from '../errors';
import { text } from '../v1/common';
import { decimalRange, INT32_MAX, intParamOr, str, WS } from '../wire';

export const LAYOUT = '/api/task/v2/task_layout';

/** A blank CODO value (Python's `not value`): absent, null, 0, or only spaces. */
const BLANK_OR = (source: string): RegExp => new RegExp(`^${WS}*(?:(?:${source})${WS}*)?$`);

/**
 * A CODO id, a number or a string of digits (spaces and leading zeros allowed), as the handler's
 * number; blank (absent, null, 0, '', spaces) → undefined, which routes answer with CODO's refusal.
 */
export function codoId() {
  return z
    .union([z.number().int().min(0).max(INT32_MAX), z.string().regex(BLANK_OR(`0*${decimalRange(1, INT32_MAX)}`))], {
      error: 'a positive integer id (a number or a string of digits), or blank',
    })
    .nullable()
    .optional()
    .transform((v) => (v === undefined || v === null || v === 0 || (typeof v === 'string' && v.trim() === '') ? undefined : Number(v)));
}

/** codoId in a query string: digits, or blank. */
export function codoIdQuery() {
  return z
    .string()
    .regex(BLANK_OR(`0*${decimalRange(1, INT32_MAX)}`), 'a positive integer id, or blank')
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : Number(v)));
}

/** An integer min..max in a query string (spaces allowed); absent or '' → undefined. */
export function optionalIntQuery(min: number, max: number) {
  return z
    .string()
    .regex(new RegExp(`^(?:${WS}*${intSource(min, max)}${WS}*)?$`), `an integer from ${min} to ${max}`)
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : Number(v)));
}

/** Text of at most `max` characters that is blank (CODO's refusal) or, trimmed, matches `source`. */
export function blankOr(max: number, source: string, what: string) {
  return str(max).regex(BLANK_OR(source), what).nullable().optional();
}

/** A CODO integer min..max that may be blank (0, '', spaces, null): left as sent, for isBlank and Number. */
export function blankOrInt(min: number, max: number) {
  return z
    .union([z.number().int().min(0).max(max), z.string().regex(BLANK_OR(intSource(min, max)))], {
      error: `an integer from ${min} to ${max} (a number or a string of digits), or blank`,
    })
    .nullable()
    .optional();
}

/** Text that CJK makes a CODO refusal: blank, or `source` (trimmed), or anything with a CJK ideograph. */
export function nameOrChinese(max: number, source: string, what: string) {
  return str(max)
    .regex(new RegExp(`^(?:${WS}*(?:(?:${source})${WS}*)?|[^\\u0000]*[\\u4e00-\\u9fff][^\\u0000]*)$`), what)
    .nullable()
    .optional();
}

/** A regex source for the integers min..max, leading zeros allowed. */
function intSource(min: number, max: number): string {
  const parts: string[] = [];
  if (max >= 1) parts.push(`0*${decimalRange(Math.max(min, 1), max)}`);
  if (min <= 0 && max >= 0) parts.push('0+');
  if (min <= -1) parts.push(`-0*${decimalRange(Math.max(1, -max), -min)}`);
  return `(?:${parts.join('|')})`;
}

/** A CODO integer min..max, a number or a string of digits (spaces allowed), as a number. */
export function codoInt(min: number, max: number) {
  return z.union([z.number().int().min(min).max(max), z.string().regex(new RegExp(`^${WS}*${intSource(min, max)}${WS}*$`)).transform(Number)], {
    error: `an integer from ${min} to ${max} (a number or a string of digits)`,
  });
}

/** Like codoInt, absent, null or '' → undefined. */
export function optionalCodoInt(min: number, max: number) {
  return z
    .union([codoInt(min, max), z.literal('')], { error: `an integer from ${min} to ${max} (a number or a string of digits), or ''` })
    .nullable()
    .optional()
    .transform((v) => (v === undefined || v === null || v === '' ? undefined : v));
}

export function optionalText(max: number) {
  return text(max).nullable().optional();
}

/** Python's `not value` for what CODO's handlers checked (None, '', 0); blank strings count too. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || (typeof value === 'string' && value.trim() === '');
}

/** A CODO refusal, byte for byte (HTTP 200), with the field for clients that want it. */
export function codoRefusal(code: number, msg: string, field: string): Record<string, unknown> {
  return { code, msg, details: [{ field, problem: 'required' }] };
}

export function badField(field: string, problem: string, status = 400): HttpError {
  return new HttpError(status, -1, `${field}: ${problem}`, [{ field, problem }]);
}

/** An id from a CODO body or query: absent → undefined; present but not an id → 400. */
export function idOf(value: unknown, field: string): number | undefined {
  if (isBlank(value)) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,10}\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n > 2_147_483_647) throw badField(field, 'must be a positive integer id');
  return n;
}

/** A small integer (group, level, port) given as a number or a string of digits. */
export function intOf(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d{1,10}\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badField(field, `must be an integer from ${min} to ${max}`);
  return n;
}

/** websdk's check_contain_chinese: any CJK unified ideograph. */
export function hasChinese(value: string): boolean {
  return /[\u4e00-\u9fff]/.test(value);
}

/** CODO's list query: `search_value` (prefix match), `page`, `limit` (over 200: everything). */
export const ListQuery = z.object({
  search_value: str(200).optional(),
  page: intParamOr(1, 1_000_000, 1),
  limit: intParamOr(1, 1_000_000, 201),
});
export type ListQuery = z.output<typeof ListQuery>;

/** Offset and limit for a CODO list page; null when CODO returned everything (limit > 200). */
export function pageWindow(q: ListQuery): { offset: number; limit: number } | null {
  return q.limit > 200 ? null : { offset: (q.page - 1) * q.limit, limit: q.limit };
}

export function codoTime(d: Date, tz: string): string {
  return formatCodoTime(d, tz);
}

export const OkReply = z.object({ code: z.number(), msg: z.string() });
