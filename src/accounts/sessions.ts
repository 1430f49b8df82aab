// Logging in (password + TOTP, lockout) and resolving credentials: sessions (`ofs_…`, CODO's
// auth_key) and API tokens (`oft_…`). Only SHA-256 hashes of tokens are stored.
import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { User } from '../db/schema';
import type { Role } from '../domain/permissions';
import { hashPassword, verifyPassword } from '../security/passwords';
import type { SecretBox } from '../security/secretBox';
import { generateToken, hashToken } from '../security/tokens';
import { verifyTotp } from '../security/totp';
import { totpSecretContext } from './users';

export const SESSION_TTL_MS = 24 * 60 * 60 * 1000; // CODO's auth_key cookie lived one day
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;

/** The authenticated caller of a request. */
export interface AuthUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  /** How the credential arrived and what it was. */
  via: 'session' | 'token';
  credentialId: number;
}

export type LoginOutcome =
  | { kind: 'ok'; user: User; token: string; expiresAt: Date }
  | { kind: 'empty' } // -1 账号密码不能为空
  | { kind: 'bad_password'; user?: User; lockedUntil?: Date } // -4 账号密码错误
  | { kind: 'disabled'; user: User } // -4 账号被禁用
  | { kind: 'need_totp'; user: User } // 1 跳转二次认证
  | { kind: 'bad_totp'; user: User; replayed: boolean; lockedUntil?: Date } // -5 MFA错误
  | { kind: 'locked'; user: User; lockedUntil: Date }; // -6

// A real hash to verify against when the user does not exist, so timing does not reveal it.
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword('opsflow-dummy-password-for-timing');
  return dummyHash;
}

/** Counts a failure; returns the lock end if this failure locked the account. */
async function recordFailure(db: Db, user: User, now: Date): Promise<Date | undefined> {
  const lockUntil = new Date(now.getTime() + LOCKOUT_MS);
  const row = await db
    .updateTable('users')
    .set({
      failed_logins: sql`failed_logins + 1`,
      locked_until: sql`case when failed_logins + 1 >= ${MAX_FAILED_LOGINS} then ${lockUntil}::timestamptz else locked_until end`,
    })
    .where('id', '=', user.id)
    .returning(['failed_logins', 'locked_until'])
    .executeTakeFirst();
  return row && row.failed_logins >= MAX_FAILED_LOGINS && row.locked_until ? row.locked_until : undefined;
}

/** The account's lock end if it is locked at `now` (read fresh, not from the row read at the start). */
async function currentLock(db: Db, userId: number, now: Date): Promise<Date | undefined> {
  const row = await db.selectFrom('users').select('locked_until').where('id', '=', userId).executeTakeFirst();
  return row?.locked_until && row.locked_until.getTime() > now.getTime() ? row.locked_until : undefined;
}

export function normaliseDynamic(value: unknown): string | number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

export async function login(
  db: Db,
  box: SecretBox,
  input: { username: unknown; password: unknown; dynamic: unknown },
  now: Date = new Date(),
): Promise<LoginOutcome> {
  const username = typeof input.username === 'string' ? input.username.trim() : '';
  const password = typeof input.password === 'string' ? input.password : '';
  if (username === '' || password === '') return { kind: 'empty' };

  const user = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  if (!user) {
    await verifyPassword(await dummy(), password);
    return { kind: 'bad_password' };
  }
  if (user.locked_until && user.locked_until.getTime() > now.getTime()) return { kind: 'locked', user, lockedUntil: user.locked_until };

  if (!(await verifyPassword(user.password_hash, password))) {
    const lockedUntil = await recordFailure(db, user, now);
    return { kind: 'bad_password', user, lockedUntil };
  }
  // Verifying took a while: parallel wrong guesses may have locked the account meanwhile. Say
  // nothing about this password (right, disabled, TOTP needed) to a locked account.
  const lockedMeanwhile = await currentLock(db, user.id, now);
  if (lockedMeanwhile) return { kind: 'locked', user, lockedUntil: lockedMeanwhile };
  if (user.disabled) return { kind: 'disabled', user };

  if (user.totp_secret) {
    const dynamic = normaliseDynamic(input.dynamic);
    if (dynamic === undefined) return { kind: 'need_totp', user };
    const secret = box.open(user.totp_secret, totpSecretContext(user.username));
    const lastStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
    const result = verifyTotp(secret, dynamic, lastStep, now);
    if (!result.ok) {
      const lockedUntil = await recordFailure(db, user, now);
      return { kind: 'bad_totp', user, replayed: result.reason === 'replayed', lockedUntil };
    }
    // One use per code, even under concurrent logins: only one update can move the step forward.
    const claimed = await db
      .updateTable('users')
      .set({ totp_last_step: result.step })
      .where('id', '=', user.id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', String(result.step))]))
      .returning('id')
      .executeTakeFirst();
    if (!claimed) {
      const lockedUntil = await recordFailure(db, user, now);
      return { kind: 'bad_totp', user, replayed: true, lockedUntil };
    }
  }

  // Only an account that is still not locked logs in (one statement: no failure can slip between).
  const cleared = await db
    .updateTable('users')
    .set({ failed_logins: 0, locked_until: null })
    .where('id', '=', user.id)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .returning('id')
    .executeTakeFirst();
  if (!cleared) {
    const lockedUntil = await currentLock(db, user.id, now);
    return { kind: 'locked', user, lockedUntil: lockedUntil ?? new Date(now.getTime() + LOCKOUT_MS) };
  }
  const token = generateToken('ofs');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.insertInto('sessions').values({ token_hash: hashToken(token), user_id: user.id, expires_at: expiresAt }).execute();
  return { kind: 'ok', user, token, expiresAt };
}

export async function logout(db: Db, sessionId: number): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', sessionId).execute();
}

/** Why a presented credential was refused (for the 401 message; never which part matched). */
export type ResolveResult = { ok: true; user: AuthUser } | { ok: false; reason: string };

/** Looks up a session or API token; refuses expired, revoked and disabled ones. */
export async function resolveCredential(db: Db, token: string, now: Date = new Date()): Promise<ResolveResult> {
  if (token.length > 200) return { ok: false, reason: 'credential not recognised' };
  const hash = hashToken(token);
  if (token.startsWith('oft_')) {
    const row = await db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['api_tokens.id as tid', 'api_tokens.expires_at', 'api_tokens.revoked_at', 'api_tokens.last_used_at', 'users.id as uid', 'users.username', 'users.display_name', 'users.role', 'users.disabled'])
      .where('api_tokens.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row) return { ok: false, reason: 'credential not recognised' };
    if (row.revoked_at) return { ok: false, reason: 'API token has been revoked' };
    if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return { ok: false, reason: 'API token has expired' };
    if (row.disabled) return { ok: false, reason: 'account is disabled' };
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
      await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.tid).execute();
    }
    return { ok: true, user: { id: row.uid, username: row.username, displayName: row.display_name, role: row.role, via: 'token', credentialId: row.tid } };
  }
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id as sid', 'sessions.expires_at', 'sessions.last_used_at', 'users.id as uid', 'users.username', 'users.display_name', 'users.role', 'users.disabled'])
    .where('sessions.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row) return { ok: false, reason: 'credential not recognised' };
  if (row.expires_at.getTime() <= now.getTime()) return { ok: false, reason: 'session has expired; log in again' };
  if (row.disabled) return { ok: false, reason: 'account is disabled' };
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', row.sid).execute();
  }
  return { ok: true, user: { id: row.uid, username: row.username, displayName: row.display_name, role: row.role, via: 'session', credentialId: row.sid } };
}
