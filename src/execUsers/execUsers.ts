// Exec users (the accounts steps run as over SSH): queries and rules for both dialects. Keys and
// passwords are write-only: sealed on the way in (secrets.ts), never returned.
import type { Db } from '../db/database';
import { isUniqueViolation } from '../db/queryHelpers';
import type { ExecUser } from '../db/schema';
import { Refusal } from '../domain/errors';
import type { SecretBox } from '../security/secretBox';
import { sealExecUserSecrets } from './secrets';

export type HostKeyPolicy = 'tofu' | 'strict' | 'off';

export const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const POSIX_USER_RE = /^[A-Za-z_][A-Za-z0-9._-]{0,31}\$?$/;

/** What each dialect calls the inputs, for refusals that name the field. */
export interface ExecUserFields {
  alias: string;
  username: string;
  privateKey: string;
}

const NATIVE_FIELDS: ExecUserFields = { alias: 'alias', username: 'username', privateKey: 'private_key' };

export interface NewExecUser {
  alias: string;
  username: string;
  port: number;
  /** At least one of key and password (null or absent: none). */
  privateKey?: string | null;
  password?: string | null;
  hostKeyPolicy?: HostKeyPolicy;
  remarks?: string;
}

/** A change: absent leaves a column alone; a secret `null` removes it. */
export interface ExecUserChange {
  username?: string;
  port?: number;
  privateKey?: string | null;
  password?: string | null;
  hostKeyPolicy?: HostKeyPolicy;
  remarks?: string;
}

function checkNames(input: { alias?: string; username?: string }, fields: ExecUserFields): void {
  if (input.alias !== undefined && !ALIAS_RE.test(input.alias)) throw new Refusal('invalid', fields.alias, 'an alias: 1-64 letters, digits, . _ -');
  if (input.username !== undefined && !POSIX_USER_RE.test(input.username)) throw new Refusal('invalid', fields.username, 'a POSIX user name');
}

export async function listExecUsers(db: Db): Promise<ExecUser[]> {
  return db.selectFrom('exec_users').selectAll().orderBy('id').execute();
}

export async function findExecUser(db: Db, id: number): Promise<ExecUser | undefined> {
  return db.selectFrom('exec_users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Creates an exec user; a taken alias is a conflict naming the alias field. */
export async function createExecUser(db: Db, box: SecretBox, input: NewExecUser, fields: ExecUserFields = NATIVE_FIELDS): Promise<ExecUser> {
  checkNames(input, fields);
  if (!input.privateKey && !input.password) throw new Refusal('invalid', fields.privateKey, `give a ${fields.privateKey} or a password (or both)`);
  const sealed = sealExecUserSecrets(box, input.alias, input.privateKey, input.password, fields.privateKey);
  try {
    return await db
      .insertInto('exec_users')
      .values({
        alias: input.alias,
        username: input.username,
        port: input.port,
        ...(input.hostKeyPolicy ? { host_key_policy: input.hostKeyPolicy } : {}),
        remarks: input.remarks ?? '',
        private_key: sealed.private_key ?? null,
        password: sealed.password ?? null,
        key_fingerprint: sealed.key_fingerprint ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw new Refusal('conflict', fields.alias, `an exec user '${input.alias}' already exists`, [{ field: fields.alias, problem: 'already exists' }]);
    throw err;
  }
}

/** Changes an exec user (the alias is fixed: secrets are sealed to it); it keeps a key or a password. */
export async function updateExecUser(db: Db, box: SecretBox, current: ExecUser, change: ExecUserChange, fields: ExecUserFields = NATIVE_FIELDS): Promise<ExecUser> {
  checkNames({ username: change.username }, fields);
  const sealed = sealExecUserSecrets(box, current.alias, change.privateKey, change.password, fields.privateKey);
  const hasKey = sealed.private_key !== undefined ? sealed.private_key !== null : current.private_key !== null;
  const hasPassword = sealed.password !== undefined ? sealed.password !== null : current.password !== null;
  if (!hasKey && !hasPassword) throw new Refusal('conflict', fields.privateKey, 'an exec user needs a private key or a password');
  return db
    .updateTable('exec_users')
    .set({
      ...(change.username !== undefined ? { username: change.username } : {}),
      ...(change.port !== undefined ? { port: change.port } : {}),
      ...(change.hostKeyPolicy !== undefined ? { host_key_policy: change.hostKeyPolicy } : {}),
      ...(change.remarks !== undefined ? { remarks: change.remarks } : {}),
      ...(sealed.private_key !== undefined ? { private_key: sealed.private_key, key_fingerprint: sealed.key_fingerprint ?? null } : {}),
      ...(sealed.password !== undefined ? { password: sealed.password } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', current.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** `given` is the key the exec user already has, shown as its fingerprint (a console resending what it read). */
export function isStoredKeyFingerprint(current: ExecUser, given: string): boolean {
  return current.private_key !== null && given.trim() === current.key_fingerprint;
}

/** Deletes an exec user that no template step uses (a conflict naming the template otherwise). */
export async function deleteExecUser(db: Db, current: ExecUser): Promise<void> {
  const used = await db.selectFrom('template_steps').select('template_id').where('exec_user', '=', current.alias).limit(1).executeTakeFirst();
  if (used) throw new Refusal('conflict', null, `exec user '${current.alias}' is used by template ${used.template_id}`);
  await db.deleteFrom('exec_users').where('id', '=', current.id).execute();
}

/** Which secrets an exec user has, as the native API shows it. */
export function execUserAuth(u: ExecUser): 'key' | 'password' | 'key+password' {
  return u.private_key && u.password ? 'key+password' : u.private_key ? 'key' : 'password';
}
