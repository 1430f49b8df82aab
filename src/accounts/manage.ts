// Managing accounts after creation: role, display name, disabling, new password or TOTP secret,
// lifting login locks (the lock rules themselves are lockout.ts's). Changes that take rights away end the account's sessions.
import type { Db } from '../db/database';
import type { User } from '../db/schema';
import { Refusal } from '../domain/errors';
import type { Role } from '../domain/permissions';
import { generatePassword, hashPassword, validatePasswordStrength } from '../security/passwords';
import type { SecretBox } from '../security/secretBox';
import { generateTotpSecret, totpUri } from '../security/totp';
import { unlockAccount, withLock, withLocks, type LockView } from './lockout';
import { findUser, totpSecretContext } from './users';

/** An account as administrators see it: its row and its current login locks. */
export type ManagedUser = User & LockView;

export async function listUsers(db: Db): Promise<ManagedUser[]> {
  return withLocks(db, await db.selectFrom('users').selectAll().orderBy('id').execute());
}

/** One account with its login locks; undefined when there is no such user. */
export async function getUser(db: Db, username: string): Promise<ManagedUser | undefined> {
  const u = await findUser(db, username);
  return u && withLock(db, u);
}

async function endSessions(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

async function otherActiveAdmins(db: Db, except: number): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('disabled', '=', false)
    .where('id', '!=', except)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface UserChange {
  role?: Role;
  display_name?: string;
  disabled?: boolean;
}

/**
 * Changes role, display name or disabled; undefined when there is no such user. The last active
 * admin may not be demoted or disabled; disabling or a new role ends the account's sessions.
 */
export async function updateUser(db: Db, username: string, change: UserChange): Promise<ManagedUser | undefined> {
  const u = await findUser(db, username);
  if (!u) return undefined;
  // Nothing to change (an empty PATCH): answer the user as they are; an empty SET is no SQL.
  if (change.role === undefined && change.display_name === undefined && change.disabled === undefined) return withLock(db, u);
  const losesAdmin = u.role === 'admin' && !u.disabled && ((change.role !== undefined && change.role !== 'admin') || change.disabled === true);
  if (losesAdmin && (await otherActiveAdmins(db, u.id)) === 0) throw new Refusal('conflict', null, 'the last active admin cannot be demoted or disabled');
  const row = await db
    .updateTable('users')
    .set({
      ...(change.role !== undefined ? { role: change.role } : {}),
      ...(change.display_name !== undefined ? { display_name: change.display_name } : {}),
      ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
    })
    .where('id', '=', u.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (change.disabled === true || (change.role !== undefined && change.role !== u.role)) await endSessions(db, u.id);
  return withLock(db, row);
}

/**
 * Sets a new password (generated when none is given, and then returned to be shown once), lifts a
 * lockout and ends the sessions; undefined when there is no such user.
 */
export async function resetPassword(db: Db, username: string, password?: string): Promise<{ username: string; password?: string } | undefined> {
  const u = await findUser(db, username);
  if (!u) return undefined;
  const next = password ?? generatePassword();
  const weak = validatePasswordStrength(next);
  if (weak) throw new Refusal('invalid', 'password', weak);
  await db.updateTable('users').set({ password_hash: await hashPassword(next) }).where('id', '=', u.id).execute();
  await unlockAccount(db, u.id);
  await endSessions(db, u.id);
  return { username: u.username, ...(password === undefined ? { password: next } : {}) };
}

/** Enrols a new TOTP secret (returned to be shown once) and ends the sessions; undefined when there is no such user. */
export async function resetTotp(db: Db, box: SecretBox, username: string): Promise<{ username: string; totp_secret: string; otpauth_url: string } | undefined> {
  const u = await findUser(db, username);
  if (!u) return undefined;
  const secret = generateTotpSecret();
  await db.updateTable('users').set({ totp_secret: box.seal(secret, totpSecretContext(u.username)), totp_last_step: null }).where('id', '=', u.id).execute();
  await endSessions(db, u.id);
  return { username: u.username, totp_secret: secret, otpauth_url: totpUri(u.username, secret) };
}

/** Lifts every login lock of the account; undefined when there is no such user. */
export async function unlockUser(db: Db, username: string): Promise<ManagedUser | undefined> {
  const u = await findUser(db, username);
  if (!u) return undefined;
  await unlockAccount(db, u.id);
  return withLock(db, u);
}
