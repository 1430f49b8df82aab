// Which errors the API answers with 503 (a service away) instead of 500, and the database writes
// that wait out an outage. Errors are built as node-postgres and Node build them.
import { DatabaseError } from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseUnavailableMessage, isDatabaseUnavailable, whileDatabaseUnavailable } from '../../src/db/availability';

function pgError(code: string, message: string): DatabaseError {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
}

function socketError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

describe('isDatabaseUnavailable', () => {
  it('takes a refused or cut connection and a server shutting down or starting up', () => {
    expect(isDatabaseUnavailable(socketError('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(socketError('ECONNRESET'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]))).toBe(true);
    expect(isDatabaseUnavailable(pgError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('57P03', 'the database system is shutting down'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('08006', 'connection failure'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('leaves query errors and everything else alone', () => {
    expect(isDatabaseUnavailable(pgError('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(new AggregateError([]))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });

  it('says what is wrong and that a retry will do', () => {
    expect(databaseUnavailableMessage(socketError('ECONNREFUSED'))).toBe('database unavailable: PostgreSQL is not answering (ECONNREFUSED); try again shortly');
  });
});

describe('whileDatabaseUnavailable', () => {
  it('tries again while the database is away, then returns the result', async () => {
    let tries = 0;
    const result = await whileDatabaseUnavailable(() => (++tries < 3 ? Promise.reject(socketError('ECONNREFUSED')) : Promise.resolve('written')));
    expect({ result, tries }).toEqual({ result: 'written', tries: 3 });
  });

  it('throws other errors at once, and stops when its signal aborts', async () => {
    let tries = 0;
    await expect(whileDatabaseUnavailable(() => (tries++, Promise.reject(pgError('23505', 'duplicate'))))).rejects.toThrow('duplicate');
    expect(tries).toBe(1);
    const aborted = new AbortController();
    aborted.abort();
    await expect(whileDatabaseUnavailable(() => Promise.reject(socketError('ECONNREFUSED')), aborted.signal)).rejects.toThrow('ECONNREFUSED');
  });
});
