// One-use CSRF keys (CODO's csrf_key): issued to a user, consumed by a cookie-authenticated write,
// and, on the submit route, reusable within their TTL as an idempotency key for the same request.
import type { Db } from '../db/database';
import { generateCsrfKey } from '../security/tokens';

/** CODO's csrf_key lifetime. */
export const CSRF_TTL_MS = 1800 * 1000;
/** Keys are stored for twice their TTL, then swept when the user gets a new one. */
const KEEP_MS = 2 * CSRF_TTL_MS;
/** Longer strings are never keys (they are 22 characters); refused before touching the database. */
const MAX_KEY_LENGTH = 64;

/** A new unused key for `userId`; the user's long-expired keys are removed in the same statement. */
export async function issueCsrfKey(db: Db, userId: number): Promise<string> {
  const key = generateCsrfKey();
  await db
    .with('swept', (q) => q.deleteFrom('csrf_keys').where('user_id', '=', userId).where('created_at', '<', new Date(Date.now() - KEEP_MS)))
    .insertInto('csrf_keys')
    .values({ key, user_id: userId })
    .execute();
  return key;
}

/**
 * Marks `key` used by `userId`. True when it was a valid unused key; with `allowUsed`, also
 * when it was already used within its TTL (the caller decides what a repeat means).
 */
export async function consumeCsrfKey(db: Db, userId: number, key: string, allowUsed: boolean): Promise<boolean> {
  if (key === '' || key.length > MAX_KEY_LENGTH) return false;
  const fresh = new Date(Date.now() - CSRF_TTL_MS);
  const consumed = await db
    .updateTable('csrf_keys')
    .set({ used_at: new Date() })
    .where('key', '=', key)
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('created_at', '>', fresh)
    .returning('key')
    .executeTakeFirst();
  if (consumed) return true;
  if (!allowUsed) return false;
  const used = await db.selectFrom('csrf_keys').select('key').where('key', '=', key).where('user_id', '=', userId).where('created_at', '>', fresh).executeTakeFirst();
  return used !== undefined;
}
