// One error mapper for both dialects: a core refusal, a zod error, a body-parser error and an
// unexpected error, each as CODO's and as the native API's reply.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorReply, HttpError } from '../../../src/api/errors';
import { Refusal } from '../../../src/domain/errors';
import { idempotencyFor } from '../../../src/tasks/service';

const quiet = (): void => undefined;

describe('errorReply', () => {
  it('maps a refusal to its status, with CODO codes (-1, -2 for permissions) or the status as code', () => {
    const invalid = new Refusal('invalid', 'hosts.1', 'not an address');
    expect(errorReply(invalid, 'v1', quiet)).toMatchObject({ status: 400, body: { code: 400, msg: 'hosts.1: not an address', details: [{ field: 'hosts.1', problem: 'not an address' }] } });
    expect(errorReply(invalid, 'codo', quiet)).toMatchObject({ status: 400, body: { code: -1, msg: 'hosts.1: not an address' } });
    expect(errorReply(new Refusal('forbidden', null, 'no'), 'codo', quiet)).toMatchObject({ status: 403, body: { code: -2, msg: 'no', details: null } });
    expect(errorReply(new Refusal('conflict', 'name', 'taken', [{ field: 'name', problem: 'already exists' }]), 'v1', quiet)).toMatchObject({
      status: 409,
      body: { code: 409, details: [{ field: 'name', problem: 'already exists' }] },
    });
    expect(errorReply(new Refusal('not_found', null, 'gone').about('list_id'), 'v1', quiet).body).toMatchObject({ msg: 'list_id: gone' });
  });

  it('keeps HttpErrors as they are, names the field of a zod error, and hides the unexpected', () => {
    expect(errorReply(new HttpError(402, 402, 'csrf error.'), 'codo', quiet)).toMatchObject({ status: 402, body: { code: 402, msg: 'csrf error.', details: null } });
    const zod = z.object({ a: z.number() }).safeParse({ a: 'x' });
    expect(errorReply(zod.error, 'codo', quiet)).toMatchObject({ status: 400, body: { code: -1, msg: expect.stringMatching(/^a: /) as unknown } });
    expect(errorReply(Object.assign(new Error('bad'), { status: 400, type: 'entity.parse.failed' }), 'v1', quiet).body).toMatchObject({ code: 400, msg: 'body: not valid JSON' });
    const logged: string[] = [];
    expect(errorReply(new Error('secret detail'), 'v1', (l) => logged.push(l))).toMatchObject({ status: 500, body: { code: 500, msg: 'internal error' } });
    expect(logged[0]).toContain('secret detail');
  });
});

describe('idempotencyFor', () => {
  const user = { id: 1, username: 'alice', displayName: 'Alice', role: 'operator' as const, via: 'session' as const, credentialId: 1 };
  it("keeps CODO's issued keys as they are and a client's own keys apart per user", () => {
    expect(idempotencyFor('csrf_key', 'k1', user)).toEqual({ idempotencyKey: 'csrf:k1', idempotencyField: 'csrf_key' });
    expect(idempotencyFor('Idempotency-Key', 'k1', user)).toEqual({ idempotencyKey: 'v1:alice:k1', idempotencyField: 'Idempotency-Key' });
    expect(idempotencyFor('Idempotency-Key', undefined, user)).toEqual({ idempotencyKey: null, idempotencyField: 'Idempotency-Key' });
  });
});
