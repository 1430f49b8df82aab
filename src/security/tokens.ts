import { createHash, randomBytes } from 'node:crypto';

// Opaque bearer tokens. `ofs_` = session (auth_key), `oft_` = API token; the prefix makes a
// leaked token recognisable (e.g. by secret scanners) and tells which table to look in.
export type TokenPrefix = 'ofs' | 'oft';

export function generateToken(prefix: TokenPrefix): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 hex of a token. Only this is stored, so a database leak does not leak live tokens. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A 22-character URL-safe CSRF key (16 random bytes), the same shape as CODO's. */
export function generateCsrfKey(): string {
  return randomBytes(16).toString('base64url');
}
