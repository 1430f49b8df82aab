import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// Password hashing with argon2id. @node-rs/argon2's defaults are argon2id, 19 MiB, t=2, p=1 —
// the OWASP minimum — and its `Algorithm` is an ambient const enum, which isolatedModules
// forbids us to reference, so we rely on the defaults (a unit test pins "$argon2id$").

export const MIN_PASSWORD_LENGTH = 12;
// Upper bound so a multi-megabyte "password" cannot be used to burn CPU/memory.
export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** True only if `password` matches `passwordHash`; false (never a throw) for any malformed input. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (typeof passwordHash !== 'string' || typeof password !== 'string') return false;
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A random 20-character URL-safe password (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Returns why `password` is not acceptable, or null if it is. */
export function validatePasswordStrength(password: string): string | null {
  // Count code points, not UTF-16 units, so "12 characters" means what a user thinks it means.
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.trim().length === 0) return 'password must not be only whitespace';
  return null;
}
