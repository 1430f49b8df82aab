// Shared pieces of CODO's template management routes (/api/task/v2/task_layout/…): CODO's own
// refusals answer HTTP 200 with its code and message; input CODO never checked (types, sizes,
// unknown ids) answers 4xx with a negative code and a msg naming the field.
import { z } from 'zod';
import { formatCodoTime } from '../../domain/execTime';
import { HttpError } from '../errors';
import { text } from '../v1/common';

export const LAYOUT = '/api/task/v2/task_layout';

/** CODO clients send ids as numbers or strings. */
export const IdField = z.union([z.string().max(20), z.number()]);

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
  search_value: z.string().max(200).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  limit: z.coerce.number().int().min(1).max(1_000_000).default(201),
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
