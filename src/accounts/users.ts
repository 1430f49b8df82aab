// Creating and changing accounts: shared by the CLI, the first-start bootstrap and the API.
import type { Db } from '../db/database';
import type { User } from '../db/schema';
import { Refusal, type RefusalKind } from '../domain/errors';
import { generatePassword, hashPassword, validatePasswordStrength } from '../security/passwords';
import type { SecretBox } from '../security/secretBox';
import { generateTotpSecret, totpUri } from '../security/totp';

import { isRole, ROLES } from '../domain/permissions';

export { isRole, ROLES, type Role } from '../domain/permissions';

export interface NewAccount {
  username: string;
  /** Shown once; absent when the caller chose the password. */
  password?: string;
  totp_secret: string;
  otpauth_url: string;
}

/** A refused account change; the message reads `field: problem` (the CLI prints it as is). */
export class AccountError extends Refusal {
  constructor(message: string, kind: RefusalKind = 'invalid') {
    const at = message.indexOf(': ');
    super(kind, at > 0 ? message.slice(0, at) : null, at > 0 ? message.slice(at + 2) : message);
  }
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function totpSecretContext(username: string): string {
  return `users.totp_secret:${username}`;
}

export async function createUser(
  db: Db,
  box: SecretBox,
  input: { username: string; role: string; displayName?: string; password?: string },
): Promise<NewAccount> {
  if (!USERNAME.test(input.username)) throw new AccountError('username: use 1-64 letters, digits, . _ -, starting with a letter or digit');
  if (!isRole(input.role)) throw new AccountError(`role: must be one of ${ROLES.join(', ')}`);
  if (input.password !== undefined) {
    const weak = validatePasswordStrength(input.password);
    if (weak) throw new AccountError(`password: ${weak}`);
  }
  const existing = await db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst();
  if (existing) throw new AccountError(`username: '${input.username}' already exists`, 'conflict');

  const password = input.password ?? generatePassword();
  const totpSecret = generateTotpSecret();
  await db
    .insertInto('users')
    .values({
      username: input.username,
      display_name: input.displayName ?? input.username,
      password_hash: await hashPassword(password),
      totp_secret: box.seal(totpSecret, totpSecretContext(input.username)),
      role: input.role,
    })
    .execute();
  return {
    username: input.username,
    ...(input.password === undefined ? { password } : {}),
    totp_secret: totpSecret,
    otpauth_url: totpUri(input.username, totpSecret),
  };
}

export async function findUser(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function requireUser(db: Db, username: string): Promise<User> {
  const user = await findUser(db, username);
  if (!user) throw new AccountError(`username: no user '${username}'`, 'not_found');
  return user;
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
