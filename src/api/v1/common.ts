// Shared pieces of the native API: id parameters, not-found errors, InputError → 400.
import { z } from 'zod';
import { InterventionError } from '../../tasks/interventions';
import { HttpError } from '../errors';
import { InputError } from '../submitInput';
import { INT32_MAX, intParam, str } from '../wire';

export const V1 = '/api/v1';

/** A decimal id in a path or query string, 1 to 2^31-1 (no signs, exponents or hex: `1e3`, `0x1` are refused). */
export const IdString = intParam(1, INT32_MAX, 'a positive integer id');

export const IdParams = z.object({ id: IdString.describe('numeric id') });

/** What a DELETE (and other replies with nothing else to say) answers. */
export const Done = z.object({ code: z.literal(0), msg: z.string() });

/** An exec user's alias. */
export const Alias = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an alias: 1-64 letters, digits, . _ -');

export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const Username = z.string().regex(USERNAME_RE, 'a username: 1-64 letters, digits, . _ -, starting with a letter or digit');

/** A timestamp that is a valid ISO 8601 string with an offset (or Z). */
export const IsoTime = z.iso.datetime({ offset: true });

export function notFound(what: string): HttpError {
  return new HttpError(404, 404, `${what} not found`);
}

export function badInput(field: string, problem: string): HttpError {
  return new HttpError(400, 400, `${field}: ${problem}`, [{ field, problem }]);
}

export function conflict(message: string, details?: unknown): HttpError {
  return new HttpError(409, 409, message, details);
}

export function fromInputError(err: unknown): never {
  if (err instanceof InputError) throw badInput(err.field, err.message.slice(err.field.length + 2));
  throw err;
}

export function fromInterventionError(err: unknown): never {
  if (err instanceof InterventionError) throw new HttpError(err.httpStatus, err.httpStatus, err.message);
  throw err;
}

/** Text of at most `max` characters (NUL bytes are refused in every input: inputLimits.ts). */
export function text(max: number) {
  return str(max);
}

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

export function isForeignKeyViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503';
}
