// API tokens for automation: shown once at creation, stored as a SHA-256 hash, optional expiry,
// revocable. Shared by the API (/api/v1/tokens) and the CLI (`opsflow token create|revoke`).
import type { Db } from '../db/database';
import { Refusal } from '../domain/errors';
import { roleAllows, type Principal } from '../domain/permissions';
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

// ---------------------------------------------------------------------------------------------
// What a caller may do with tokens: their own always; anyone's with token.admin.

/** Tokens `caller` may list: their own, another user's or everyone's (`all`) with token.admin. */
export async function listTokensAs(db: Db, caller: Principal, opts: { username?: string; all?: boolean }): Promise<ApiTokenInfo[]> {
  const other = opts.username !== undefined && opts.username !== caller.username;
  if ((opts.all || other) && !roleAllows(caller, 'token.admin')) {
    throw new Refusal('forbidden', null, "permission denied: token.admin (list and revoke anyone's API tokens) needs role admin");
  }
  return listApiTokens(db, opts.all ? undefined : (opts.username ?? caller.username));
}

export interface TokenRequest {
  name: string;
  /** Default: the caller. */
  username?: string;
  expiresAt?: Date;
  expiresInDays?: number;
}

/** The expiry a request asks for: a time, a number of days from now, or none. */
export function tokenExpiry(req: Pick<TokenRequest, 'expiresAt' | 'expiresInDays'>, now = Date.now()): Date | null {
  if (req.expiresAt && req.expiresInDays) throw new Refusal('invalid', 'expires_at', 'give expires_at or expires_in_days, not both');
  const expiresAt = req.expiresAt ?? (req.expiresInDays ? new Date(now + req.expiresInDays * 86_400_000) : null);
  // Whether a time is in the future is no matter of form: 422, not 400.
  if (expiresAt && expiresAt.getTime() <= now) throw new Refusal('unprocessable', 'expires_at', 'must be in the future');
  return expiresAt;
}

/** Creates a token for the caller, or (token.admin) for another user; the token is returned once. */
export async function createTokenAs(db: Db, caller: Principal, req: TokenRequest): Promise<{ token: string; info: ApiTokenInfo; expiresAt: Date | null }> {
  const owner = req.username ?? caller.username;
  if (owner !== caller.username && !roleAllows(caller, 'token.admin')) throw new Refusal('forbidden', null, 'permission denied: only admins create tokens for other users');
  const expiresAt = tokenExpiry(req);
  try {
    return { ...(await createApiToken(db, { username: owner, name: req.name, expiresAt })), expiresAt };
  } catch (err) {
    if (err instanceof AccountError && err.kind === 'not_found') throw new Refusal('not_found', null, `user '${owner}' not found`);
    throw err;
  }
}

/** Revokes a token the caller owns (any, with token.admin); others' tokens are reported as missing. */
export async function revokeTokenAs(db: Db, caller: Principal, id: number): Promise<ApiTokenInfo> {
  const t = await findApiToken(db, id);
  if (!t || (t.username !== caller.username && !roleAllows(caller, 'token.admin'))) throw new Refusal('not_found', null, `token ${id} not found`);
  if (!(await revokeApiToken(db, t.id))) throw new Refusal('conflict', null, `token ${t.id} is already revoked`);
  return t;
}
