/* eslint-disable @typescript-eslint/no-unsafe-member-access -- parsed JSON replies */
// A regression guard for the accept path's cost (issue 9): the SQL statements one submission
// sends, counted on the real pool (every pg.Client#query made while the API handles the request,
// BEGIN and COMMIT included), for CODO's accept and /api/v1's submit, one group of three hosts
// and a three-step template. The workflow start after the reply (the outbox row's DELETE) is the
// starter's and not counted; the audit sealer runs on its own timer and is not counted either.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

/**
 * Statements per submission, by kind of request (docs/architecture.md, "The accept path"): each
 * authenticates, reads the template with its steps (and the key's task), stores the task with
 * everything it needs in one statement and appends the audit row; a csrf_key adds its
 * consumption, a cookie session also the fresh key its reply carries. Were 11, 13, 14, 12, 13.
 */
const EXPECTED = {
  codoBearer: 4,
  codoBearerCsrf: 5,
  codoCookieCsrf: 6,
  v1: 4,
  v1Keyed: 4,
};

const HOSTS = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];
let stack: ApiStack;
let alice: TestUser;
let aliceSession: string;
const perRequest = new AsyncLocalStorage<string[]>();
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const originalQuery = proto.query;

beforeAll(async () => {
  stack = await startApiStack();
  const db = stack.database.db;
  await db.insertInto('templates').values({ id: 41, name: 'three steps' }).execute();
  await db
    .insertInto('template_steps')
    .values([1, 2, 3].map((level) => ({ template_id: 41, group_no: 1, level, name: `step ${level}`, command: 'true', exec_user: 'root', timeout_s: 60 })))
    .execute();
  alice = await stack.addUser('alice', 'submitter');
  aliceSession = await stack.login(alice);
  // Everything a request to the API does runs in the context entered here.
  stack.server.prependListener('request', () => perRequest.enterWith([]));
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const text = args[0];
    perRequest.getStore()?.push(typeof text === 'string' ? text : String((text as { text?: unknown }).text));
    return originalQuery.apply(this, args);
  };
});
afterAll(async () => {
  proto.query = originalQuery;
  await stack?.close();
});

/** The starter's own statements after the commit (it may run before the reply is written). */
const STARTER = /^\s*(delete from|update) "workflow_starts"/i;

/** The statements the API sent while answering `send`, up to the reply. */
async function statementsOf(send: () => Promise<unknown>): Promise<string[]> {
  let seen: string[] = [];
  const listener = (_req: unknown, res: ServerResponse) => {
    const store = perRequest.getStore() ?? [];
    res.on('finish', () => (seen = store.filter((s) => !STARTER.test(s))));
  };
  stack.server.on('request', listener);
  try {
    await send();
  } finally {
    stack.server.off('request', listener);
  }
  return seen;
}

const codoBody = (name: string) => ({ temp_id: 41, task_name: name, hosts: `{1: '${HOSTS.join(',')}'}`, args: "{'A': '1'}", schedule: 'new' });

describe('statements per submission', () => {
  it('stay at their count for CODO (bearer, csrf_key, cookie) and /api/v1 (with and without Idempotency-Key)', async () => {
    // Warm up: the credentials' last_used_at is written at most once a minute.
    await stack.request('POST', '/api/task/v2/task/accept/', { token: alice.token, body: codoBody('warm-up') });
    await stack.request('GET', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceSession}` });

    const codoBearer = await statementsOf(async () => {
      const r = await stack.request('POST', '/api/task/v2/task/accept/', { token: alice.token, body: codoBody('bearer') });
      expect(r.json.code).toBe(0);
    });
    // What a CODO script that wants idempotent retries sends (bench:accept's keyed run).
    const bearerKey = (await stack.request('GET', '/api/task/v2/task/accept/', { token: alice.token })).json.csrf_key as string;
    const codoBearerCsrf = await statementsOf(async () => {
      const r = await stack.request('POST', '/api/task/v2/task/accept/', { token: alice.token, body: { ...codoBody('bearer csrf'), csrf_key: bearerKey } });
      expect(r.json.code).toBe(0);
    });
    const csrf = await stack.request('GET', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceSession}` });
    const key = csrf.json.csrf_key as string;
    const codoCookieCsrf = await statementsOf(async () => {
      const r = await stack.request('POST', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceSession}; csrf_key=${key}`, body: codoBody('cookie') });
      expect(r.json.code).toBe(0);
    });
    const v1Body = { template_id: 41, task_name: 'v1', hosts: { 1: HOSTS }, args: { A: '1' }, schedule: 'new' };
    const v1 = await statementsOf(async () => {
      const r = await stack.request('POST', '/api/v1/tasks', { token: alice.token, body: v1Body });
      expect(r.status).toBe(201);
    });
    const v1Keyed = await statementsOf(async () => {
      const r = await stack.request('POST', '/api/v1/tasks', { token: alice.token, headers: { 'Idempotency-Key': 'k-1' }, body: { ...v1Body, task_name: 'v1 keyed' } });
      expect(r.status).toBe(201);
    });
    const all = { codoBearer, codoBearerCsrf, codoCookieCsrf, v1, v1Keyed };
    const listing = Object.entries(all).map(([name, list]) => `${name}: ${list.length}\n  ${list.map((s) => s.replace(/\s+/g, ' ').slice(0, 120)).join('\n  ')}`);
    expect(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length])), listing.join('\n')).toEqual(EXPECTED);
  });
});
