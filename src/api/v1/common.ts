// Shared pieces of the native API: id parameters, not-found errors.
import { z } from 'zod';
import { HttpError } from '../errors';
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

/** Text of at most `max` characters (NUL bytes are refused in every input: inputLimits.ts). */
export function text(max: number) {
  return str(max);
}
