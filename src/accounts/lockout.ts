// Login lockout that an attacker cannot aim at someone else (OWASP Authentication Cheat Sheet,
// "Account Lockout"; docs/api.md#login-lockout):
// - failures lock an account only for the client address they came from, so guessing from one
//   address never keeps the owner out from theirs; the count lives in PostgreSQL, so every API
//   replica sees it;
// - every failure for an account, from any address, makes the account's next attempt wait a
//   little longer (doubling, capped at a few seconds): guessing spread over many addresses is
//   slowed, and the owner's wait stays bounded.
import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../db/database';

/** Failures from one address, within FAILURE_WINDOW_MS, that lock the account for that address. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
/** An address's failures older than this are forgotten (a lock has ended by then, too). */
export const FAILURE_WINDOW_MS = LOCKOUT_MS;
/** The wait after an account's first failure; it doubles with each further failure... */
export const DELAY_BASE_MS = 250;
/** ...up to this, the longest anyone (the owner too) waits before an attempt is evaluated. */
export const DELAY_CAP_MS = 3000;

/**
 * The key an address's failures are counted under: an IPv4 address (also when IPv4-mapped), or
 * the /64 an IPv6 address is in — one IPv6 client usually holds a whole /64.
 */
export function lockoutAddress(ip: string): string {
  const bare = ip.replace(/%.*$/, '').toLowerCase(); // no zone id
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1]!;
  if (isIPv4(bare) || !isIPv6(bare)) return bare;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** How long the next attempt waits after an account's `failures`-th failure in a row. */
export function accountDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(DELAY_CAP_MS, DELAY_BASE_MS * 2 ** Math.min(failures - 1, 20));
}

function notLocked(now: Date) {
  return sql<boolean>`(locked_until is null or locked_until <= ${now})`;
}

/** The end of the account's lock for `address`, if it is locked at `now`. */
export async function addressLock(db: Db, userId: number, address: string, now: Date): Promise<Date | undefined> {
  const row = await db
    .selectFrom('login_failures')
    .select('locked_until')
    .where('user_id', '=', userId)
    .where('address', '=', address)
    .where('locked_until', '>', now)
    .executeTakeFirst();
  return row?.locked_until ?? undefined;
}

/**
 * Waits until the account's pace allows its next attempt: `accountDelayMs(failures)` after its
 * latest failure from any address, never longer than DELAY_CAP_MS. Returns the milliseconds waited.
 */
export async function awaitAccountPace(db: Db, user: { id: number; failed_logins: number }, now: Date): Promise<number> {
  if (user.failed_logins <= 0) return 0;
  const row = await db
    .selectFrom('login_failures')
    .select((eb) => eb.fn.max('last_failure_at').as('last'))
    .where('user_id', '=', user.id)
    .executeTakeFirst();
  if (!row?.last) return 0;
  const wait = Math.min(DELAY_CAP_MS, new Date(row.last).getTime() + accountDelayMs(user.failed_logins) - now.getTime());
  if (wait <= 0) return 0;
  await sleep(wait);
  return wait;
}

/**
 * Counts a failed password or TOTP code from `address` (atomically, so parallel guesses are all
 * counted) and one more for the account's pace. Returns the lock's end if the address is locked now.
 */
export async function recordFailure(db: Db, userId: number, address: string, now: Date): Promise<Date | undefined> {
  const windowStart = new Date(now.getTime() - FAILURE_WINDOW_MS);
  const lockUntil = new Date(now.getTime() + LOCKOUT_MS);
  const counted = sql<number>`case when login_failures.last_failure_at > ${windowStart} then login_failures.failures + 1 else 1 end`;
  const row = await db
    .insertInto('login_failures')
    .values({ user_id: userId, address, failures: 1, last_failure_at: now, locked_until: MAX_FAILED_LOGINS <= 1 ? lockUntil : null })
    .onConflict((oc) =>
      oc.columns(['user_id', 'address']).doUpdateSet({
        failures: counted,
        last_failure_at: now,
        locked_until: sql<Date | null>`case when ${counted} >= ${MAX_FAILED_LOGINS} then ${lockUntil}::timestamptz else login_failures.locked_until end`,
      }),
    )
    .returning(['failures', 'locked_until'])
    .executeTakeFirstOrThrow();
  await db.updateTable('users').set({ failed_logins: sql`failed_logins + 1` }).where('id', '=', userId).execute();
  // The account's rows that say nothing any more (failures forgotten, lock over) go.
  await db.deleteFrom('login_failures').where('user_id', '=', userId).where('last_failure_at', '<=', windowStart).where(notLocked(now)).execute();
  return row.failures >= MAX_FAILED_LOGINS && row.locked_until && row.locked_until.getTime() > now.getTime() ? row.locked_until : undefined;
}

/**
 * After a right password (and code): forgets the address's failures and the account's pace,
 * unless parallel failures locked the address meanwhile — then returns that lock's end and the
 * login must be refused. The check and the clearing are one statement, so no failure slips between.
 */
export async function clearAfterSuccess(db: Db, userId: number, address: string, now: Date): Promise<Date | undefined> {
  const cleared = await db
    .deleteFrom('login_failures')
    .where('user_id', '=', userId)
    .where('address', '=', address)
    .where(notLocked(now))
    .returning('user_id')
    .executeTakeFirst();
  if (!cleared) {
    const lock = await addressLock(db, userId, address, now);
    if (lock) return lock;
  }
  await db.updateTable('users').set({ failed_logins: 0 }).where('id', '=', userId).execute();
  return undefined;
}

/** An administrator's unlock: every address's lock and count, and the account's pace. */
export async function unlockAccount(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('login_failures').where('user_id', '=', userId).execute();
  await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', userId).execute();
}

/** What views show: the latest end of a lock of the account (any address), and which addresses. */
export interface LockView {
  locked_until: Date | null;
  locked_addresses: string[];
}

/** `users` with their current address locks (one query for the lot). */
export async function withLocks<T extends { id: number }>(db: Db, users: T[], now: Date = new Date()): Promise<(T & LockView)[]> {
  const ids = users.map((u) => u.id);
  const rows =
    ids.length === 0
      ? []
      : await db
          .selectFrom('login_failures')
          .select(['user_id', 'address', 'locked_until'])
          .where('user_id', 'in', ids)
          .where('locked_until', '>', now)
          .orderBy('locked_until', 'desc')
          .orderBy('address')
          .execute();
  return users.map((u) => {
    const mine = rows.filter((r) => r.user_id === u.id);
    return { ...u, locked_until: mine[0]?.locked_until ?? null, locked_addresses: mine.map((r) => r.address) };
  });
}

export async function withLock<T extends { id: number }>(db: Db, user: T): Promise<T & LockView> {
  const [one] = await withLocks(db, [user]);
  return one!;
}
