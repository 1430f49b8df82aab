// Whether an error means PostgreSQL cannot be reached right now (stopped, restarting, refusing
// connections), as opposed to a bad query: the API answers the first with 503, never a 500.
import { DatabaseError } from 'pg';

/** Socket errors of a connection that could not be made or was cut. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATE classes and codes of an unavailable server: 08 connection exception, 57P01-57P03
 * (shutting down, crashed, starting up), 53300 too many connections.
 */
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** Messages node-postgres throws without a code when a connection ends under a query. */
const CUT_MESSAGES = [/^Connection terminated/, /^Client has encountered a connection error/, /^timeout exceeded when trying to connect/];

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseError) return unavailableSqlState(err.code ?? '');
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isDatabaseUnavailable);
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return CUT_MESSAGES.some((re) => re.test(err.message));
}

/** The message a client sees while the database is away: what is wrong and that a retry will do. */
export function databaseUnavailableMessage(err: unknown): string {
  const reason = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
  return `database unavailable: PostgreSQL is not answering (${reason}); try again shortly`;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

/**
 * Runs `op` again (with backoff) for as long as it fails because PostgreSQL is away, until
 * `signal` aborts. For writes whose loss would lose what a running command did (its output, its
 * exit code): a restart of the database pauses them, it never fails them. `op` must be safe to
 * repeat (a write that may have committed before its connection was cut).
 */
export async function whileDatabaseUnavailable<T>(op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let wait = RETRY_FIRST_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || signal?.aborted) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
}
