// Logging in (password + TOTP, with the lockout of ./lockout.ts) and resolving credentials:
// sessions (`ofs_…`, CODO's auth_key) and API tokens (`oft_…`). Only SHA-256 hashes of tokens are stored.
import type { Db } from '../db/database';
import type { User } from '../db/schema';
import type { Role } from '../domain/permissions';
import { hashPassword, verifyPassword } from '../security/passwords';
import type { SecretBox } from '../security/secretBox';
import { generateToken, hashToken } from '../security/tokens';
import { verifyTotp } from '../security/totp';
import { addressLock, awaitAccountPace, clearAfterSuccess, lockoutAddress, recordFailure } from './lockout';
import { totpSecretContext } from './users';

export const SESSION_TTL_MS = 24 * 60 * 60 * 1000; // CODO's auth_key cookie lived one day

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
  | { kind: 'bad_password'; user?: User; lockedUntil?: Date } // -4 账号密码错误 (-6 when this failure locked the address)
  | { kind: 'disabled'; user: User } // -4 账号被禁用
  | { kind: 'need_totp'; user: User } // 1 跳转二次认证
  | { kind: 'bad_totp'; user: User; replayed: boolean; lockedUntil?: Date } // -5 MFA错误
  | { kind: 'locked'; user: User; lockedUntil: Date }; // -6: locked for the caller's address

// A real hash to verify against when the user does not exist, so timing does not reveal it.
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword('opsflow-dummy-password-for-timing');
  return dummyHash;
}

export function normaliseDynamic(value: unknown): string | number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

export async function login(
  db: Db,
  box: SecretBox,
  input: { username: unknown; password: unknown; dynamic: unknown; /** the client's IP address */ address: string },
): Promise<LoginOutcome> {
  const username = typeof input.username === 'string' ? input.username.trim() : '';
  const password = typeof input.password === 'string' ? input.password : '';
  if (username === '' || password === '') return { kind: 'empty' };

  const user = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  if (!user) {
    await verifyPassword(await dummy(), password);
    return { kind: 'bad_password' };
  }
  const address = lockoutAddress(input.address);
  const lockedUntil = await addressLock(db, user.id, address, new Date());
  if (lockedUntil) return { kind: 'locked', user, lockedUntil };
  await awaitAccountPace(db, user, new Date());

  if (!(await verifyPassword(user.password_hash, password))) {
    return { kind: 'bad_password', user, lockedUntil: await recordFailure(db, user.id, address, new Date()) };
  }
  // Verifying took a while: parallel wrong guesses may have locked this address meanwhile. Say
  // nothing about this password (right, disabled, TOTP needed) to a locked address.
  const now = new Date();
  const lockedMeanwhile = await addressLock(db, user.id, address, now);
  if (lockedMeanwhile) return { kind: 'locked', user, lockedUntil: lockedMeanwhile };
  if (user.disabled) return { kind: 'disabled', user };

  if (user.totp_secret) {
    const dynamic = normaliseDynamic(input.dynamic);
    if (dynamic === undefined) return { kind: 'need_totp', user };
    const secret = box.open(user.totp_secret, totpSecretContext(user.username));
    const lastStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
    const result = verifyTotp(secret, dynamic, lastStep, now);
    if (!result.ok) {
      // Counted when it happens (not at `now`, taken before the checks): the account's pace runs from here.
      return { kind: 'bad_totp', user, replayed: result.reason === 'replayed', lockedUntil: await recordFailure(db, user.id, address, new Date()) };
    }
    // One use per code, even under concurrent logins: only one update can move the step forward.
    const claimed = await db
      .updateTable('users')
      .set({ totp_last_step: result.step })
      .where('id', '=', user.id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', String(result.step))]))
      .returning('id')
      .executeTakeFirst();
    if (!claimed) return { kind: 'bad_totp', user, replayed: true, lockedUntil: await recordFailure(db, user.id, address, new Date()) };
  }

  // Only a login from an address that is still not locked goes through.
  const lockedAtLast = await clearAfterSuccess(db, user.id, address, now);
  if (lockedAtLast) return { kind: 'locked', user, lockedUntil: lockedAtLast };
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
