// Shared pieces of the native API: id parameters, not-found errors.
import { z } from 'zod';
import { HttpError } from '../errors';

export const V1 = '/api/v1';

/** A decimal id in a path or query string (no signs, exponents or hex: `1e3`, `0x1` are refused). */
export const IdString = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, 'must be a positive decimal integer id')
  .transform(Number)
  .pipe(z.number().max(2_147_483_647, 'id too large'));

export const IdParams = z.object({ id: IdString.describe('numeric id') });

export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const Username = z.string().regex(USERNAME_RE, 'a username: 1-64 letters, digits, . _ -, starting with a letter or digit');

/** A timestamp that is a valid ISO 8601 string with an offset (or Z). */
export const IsoTime = z.iso.datetime({ offset: true });

export function notFound(what: string): HttpError {
  return new HttpError(404, 404, `${what} not found`);
}

/** NUL bytes never belong in text that may reach a shell, a log or PostgreSQL. */
export function text(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => !s.includes('\0'), 'may not contain a NUL byte');
}
