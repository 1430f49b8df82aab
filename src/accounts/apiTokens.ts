// API tokens for automation: shown once at creation, stored as a SHA-256 hash, optional expiry,
// revocable. Shared by the API (/api/v1/tokens) and the CLI (`opsflow token create|revoke`).
import type { Db } from '../db/database';
import { generateToken, hashToken } from '../security/tokens';
import { AccountError, requireUser } from './users';

export interface ApiTokenInfo {
  id: number;
  name: string;
  username: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const NAME = /^[\p{L}\p{N} ._:@/-]{1,100}$/u;

export async function createApiToken(
  db: Db,
  input: { username: string; name: string; expiresAt?: Date | null },
): Promise<{ token: string; info: ApiTokenInfo }> {
  if (!NAME.test(input.name)) throw new AccountError('name: 1-100 letters, digits, spaces or . _ : @ / -');
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new AccountError('expires_at: must be in the future');
  const user = await requireUser(db, input.username);
  const token = generateToken('oft');
  const row = await db
    .insertInto('api_tokens')
    .values({ name: input.name, token_hash: hashToken(token), user_id: user.id, expires_at: input.expiresAt ?? null })
    .returning(['id', 'name', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirstOrThrow();
  return { token, info: { ...row, username: user.username } };
}

export async function listApiTokens(db: Db, username?: string): Promise<ApiTokenInfo[]> {
  let q = db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['api_tokens.id', 'api_tokens.name', 'users.username', 'api_tokens.created_at', 'api_tokens.expires_at', 'api_tokens.last_used_at', 'api_tokens.revoked_at']);
  if (username !== undefined) q = q.where('users.username', '=', username);
  return q.orderBy('api_tokens.id').execute();
}

export async function findApiToken(db: Db, id: number): Promise<ApiTokenInfo | undefined> {
  return db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['api_tokens.id', 'api_tokens.name', 'users.username', 'api_tokens.created_at', 'api_tokens.expires_at', 'api_tokens.last_used_at', 'api_tokens.revoked_at'])
    .where('api_tokens.id', '=', id)
    .executeTakeFirst();
}

/** Revokes a token; returns false when there is no such (unrevoked) token. */
export async function revokeApiToken(db: Db, id: number): Promise<boolean> {
  const row = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
  return row !== undefined;
}
