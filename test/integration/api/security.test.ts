/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- tests poke at parsed JSON replies */
// Security review over real HTTP, PostgreSQL and Temporal: secrets never reach error replies,
// logs or the audit log; every state-changing route writes exactly one attributed audit row;
// the lockout and one-use TOTP hold under parallel requests; cookie flags and logout.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELAY_CAP_MS } from '../../../src/accounts/lockout';
import { ALL_ROUTES } from '../../../src/api/routes';
import { appendAudit, auditHash, auditKey, GENESIS_HASH, verifyAuditChain } from '../../../src/audit/audit';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../../src/security/secretBox';
import { sql } from 'kysely';
import { currentTotp, totpStep, TOTP_PERIOD_S } from '../../../src/security/totp';
import { cookieValue, startApiStack, type ApiStack, type HttpResult, type TestUser } from '../../support/apiStack';

const LOGIN = '/api/accounts/login/';
let stack: ApiStack;
let admin: TestUser;

beforeAll(async () => {
  stack = await startApiStack();
  admin = await stack.addUser('root-admin', 'admin');
});
afterAll(async () => {
  await stack?.close();
});

async function auditText(): Promise<string> {
  const rows = await stack.database.db.selectFrom('audit_log').selectAll().execute();
  return JSON.stringify(rows);
}

describe('secrets never leak into error replies, logs or the audit log', () => {
  it('exec-user keys and passwords, user passwords, TOTP secrets, session keys, API tokens and argument values', async () => {
    const mark = `Zq9${randomBytes(6).toString('hex')}`;
    const errors: HttpResult[] = [];
    const expectError = (r: HttpResult, status?: number): void => {
      if (status !== undefined) expect(r.status, r.text).toBe(status);
      else expect(r.status >= 400 || r.json?.code !== 0, r.text).toBe(true);
      errors.push(r);
    };
    const post = (path: string, body: unknown, token = admin.token) => stack.request('POST', path, { token, body });
    const badKey = `-----BEGIN OPENSSH PRIVATE KEY-----\n${mark}key${mark}\n-----END OPENSSH PRIVATE KEY-----\n`;

    // Exec users (native and CODO): sealed secrets, and refusals that must not echo them.
    const eu = await post('/api/v1/exec-users', { alias: 'deployer', username: 'root', password: `${mark}-eu-password` });
    expect(eu.status, eu.text).toBe(201);
    expectError(await post('/api/v1/exec-users', { alias: 'deployer', username: 'root', password: `${mark}-dup-password` }), 409);
    expectError(await post('/api/v1/exec-users', { alias: 'badkey', username: 'root', private_key: badKey }), 422);
    expectError(await post('/api/v1/exec-users', { alias: 'badport', username: 'root', port: 'x', password: `${mark}-port` }), 400);
    expectError(await post('/api/v1/exec-users', { alias: 'extra', username: 'root', password: 42, private_key: { k: mark } }), 400);
    expect((await stack.request('PATCH', `/api/v1/exec-users/${eu.json.id}`, { token: admin.token, body: { password: `${mark}-patched` } })).status).toBe(200);
    expectError(await stack.request('PATCH', `/api/v1/exec-users/${eu.json.id}`, { token: admin.token, body: { private_key: badKey } }), 422);
    expectError(await post('/api/task/v2/task_layout/user/', { alias_user: 'codo-bad', exec_user: 'root', user_key: badKey, password: `${mark}-codo` }));

    // Users: passwords set by an admin and the TOTP secrets shown once.
    const created = await post('/api/v1/users', { username: 'newbie', role: 'viewer', password: `${mark}-user-password` });
    expect(created.status, created.text).toBe(201);
    const totpSecret = created.json.totp_secret as string;
    expect(totpSecret).toBeTruthy();
    expectError(await post('/api/v1/users', { username: 'newbie', role: 'viewer', password: `${mark}-again-password` }), 409);
    expectError(await post('/api/v1/users', { username: 'x y', role: 'viewer', password: `${mark}-bad-name` }), 400);
    expect((await post('/api/v1/users/newbie/reset-password', { password: `${mark}-reset-password` })).status).toBe(200);
    const totpReset = await post('/api/v1/users/newbie/reset-totp', {});
    expect(totpReset.status, totpReset.text).toBe(200);
    const totpSecret2 = totpReset.json.totp_secret as string;

    // Logins: wrong passwords and codes, then a session key.
    expectError(await stack.request('POST', LOGIN, { body: { username: 'newbie', password: `${mark}-wrong-password` } }));
    expectError(await stack.request('POST', LOGIN, { body: { username: 'newbie', password: `${mark}-reset-password`, dynamic: mark } }));
    await stack.database.db.updateTable('users').set({ failed_logins: 0 }).where('username', '=', 'newbie').execute();
    const ok = await stack.request('POST', LOGIN, {
      body: { username: 'newbie', password: `${mark}-reset-password`, dynamic: currentTotp(totpSecret2, new Date()) },
    });
    expect(ok.json.code, ok.text).toBe(0);
    const sessionKey = ok.json.auth_key as string;
    expectError(await stack.request('GET', `/api/v1/me?auth_key=${sessionKey}x`), 401);

    // API tokens: shown once.
    const token = await post('/api/v1/tokens', { name: 'ci' });
    expect(token.status, token.text).toBe(201);
    const apiToken = token.json.token as string;
    expectError(await stack.request('GET', '/api/v1/me', { token: `${apiToken}x` }), 401);

    // Task arguments: accepted ones and refused submissions.
    const t = await post('/api/v1/templates', { name: 'leaky', steps: [{ group: 1, level: 1, name: 'use', command: 'test -n', args: 'PASSWORD', exec_user: 'deployer' }] });
    expect(t.status, t.text).toBe(201);
    const v1 = { template_id: t.json.id, task_name: 'with secret', schedule: 'new', hosts: { '1': ['127.0.0.1'] } };
    expect((await post('/api/v1/tasks', { ...v1, args: { PASSWORD: `${mark}-arg` } })).status).toBe(201);
    expectError(await post('/api/v1/tasks', { ...v1, args: { PASSWORD: `${mark}-arg2`, 'bad key': 'x' } }), 400);
    expectError(await post('/api/v1/tasks', { ...v1, args: { PASSWORD: `${mark}-arg3` }, hosts: { '1': ['not a host!'] } }), 400);
    const codo = { temp_id: String(t.json.id), task_name: 'codo', schedule: 'new', hosts: "{1: '127.0.0.1'}" };
    // A value typed without quotes (a shell habit): the parser refuses it, and must not repeat it.
    expectError(await post('/api/task/v2/task/accept/', { ...codo, args: `{'PASSWORD': ${mark}arg4}` }), 400);
    expectError(await post('/api/task/v2/task/accept/', { ...codo, args: `{'PASSWORD': '${mark}arg5', 'X': ${mark}arg6}` }), 400);
    expectError(await post('/api/task/v2/task/accept/', { ...codo, args: `{'PASSWORD': '${mark}arg7'` }), 400);
    expectError(await post('/api/task/v2/task/accept/', { ...codo, args: `{'PASSWORD': '${mark}arg8', 'A B': 1}` }), 400);

    const secrets = [mark, totpSecret, totpSecret2, sessionKey, apiToken];
    const audit = await auditText();
    const logs = stack.logLines.join('\n');
    for (const s of secrets) {
      expect(audit, 'audit_log').not.toContain(s);
      expect(logs, 'API log').not.toContain(s);
      for (const e of errors) expect(e.text, `${e.status} ${e.text}`).not.toContain(s);
    }
    expect(errors.every((e) => !/\n\s+at /.test(e.text)), 'no stack trace in a reply').toBe(true);
    // The audit log did record all of it (so the check above looked at real rows).
    expect(audit).toContain('exec_user:deployer');
    expect(audit).toContain('user:newbie');
  });

  it('the OpenAPI document carries no key material, tokens or sample secrets', async () => {
    const doc = (await stack.request('GET', '/api/v1/openapi.json')).text;
    expect(doc.length).toBeGreaterThan(10_000);
    expect(doc).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    expect(doc).not.toMatch(/\b(oft|ofs)_[A-Za-z0-9_-]{8,}/);
    expect(doc).not.toMatch(/"(example|examples|default)"\s*:\s*"[^"]*(password|secret|key)/i);
    expect(doc).not.toMatch(/otpauth:\/\/totp\/[^"]*secret=/i);
  });
});

describe('audit: every state-changing route writes exactly one attributed row', () => {
  it('for each write in the route registry (CODO, task_layout and v1), refused or not', async () => {
    const viewer = await stack.addUser('vera', 'viewer');
    const writes = ALL_ROUTES.filter((r) => r.method !== 'get');
    expect(writes.some((r) => r.path.includes('/task_layout/'))).toBe(true);
    const db = stack.database.db;
    const missing: string[] = [];
    for (const r of writes) {
      for (const who of [viewer, admin]) {
        const path = r.path.replace(/:(\w+)/g, '999999');
        const before = await db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
        const res = await stack.request(r.method.toUpperCase(), path, {
          token: r.action === 'public' ? undefined : who.token,
          body: {},
          headers: { 'x-forwarded-for': '203.0.113.7' },
        });
        const rows = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('id', '>', String(before.id ?? 0))
          .execute();
        const label = `${r.method.toUpperCase()} ${r.path} as ${who.role} → ${res.status}`;
        if (rows.length !== 1) {
          missing.push(`${label}: ${rows.length} rows`);
          continue;
        }
        const row = rows[0]!;
        expect(row.action, label).toMatch(/^[a-z_.]+/);
        expect(row.ip, label).toBe('203.0.113.7'); // the test client is a trusted loopback proxy
        expect(row.result, label).toMatch(/^(ok|refused: .+|error: .+)$/);
        if (r.action !== 'public') expect(row.actor, label).toBe(who.username);
      }
    }
    expect(missing).toEqual([]);
  }, 120_000);
});

describe('audit hash chain', () => {
  it('detects two rows swapped (reordering), naming the first row that moved', async () => {
    const db = stack.database.db;
    for (const n of [1, 2, 3]) await appendAudit(db, stack.box, { actor: 'order', action: 'test.order', target: `n:${n}`, result: 'ok' });
    expect((await verifyAuditChain(db, stack.box)).ok).toBe(true);
    const rows = await db.selectFrom('audit_log').selectAll().where('actor', '=', 'order').orderBy('id').execute();
    const [a, b] = [rows[0]!, rows[1]!];
    // Swap every column but the ids: the rows now appear in the other order.
    const swap = async (into: typeof a, from: typeof a) =>
      sql`update audit_log set at = ${from.at}, actor = ${from.actor}, action = ${from.action}, target = ${from.target}, detail = ${JSON.stringify(from.detail)}::jsonb,
          ip = ${from.ip}, result = ${from.result}, prev_hash = ${from.prev_hash}, hash = ${from.hash} where id = ${into.id}`.execute(db);
    await swap(a, b);
    await swap(b, a);
    const v = await verifyAuditChain(db, stack.box);
    expect(v).toMatchObject({ ok: false, firstBadId: Number(a.id) });
    await swap(a, a);
    await swap(b, b);
    expect((await verifyAuditChain(db, stack.box)).ok).toBe(true);
  });
});

describe('audit hash chain without the master key', () => {
  it('an edited row whose chain was recomputed without the master key still fails verification', async () => {
    const db = stack.database.db;
    for (const n of [1, 2]) await appendAudit(db, stack.box, { actor: 'keyed', action: 'test.keyed', target: `n:${n}`, result: 'ok' });
    expect((await verifyAuditChain(db, stack.box)).ok).toBe(true);
    // What someone with write access to the database but no master key can do: edit a row and
    // recompute every hash from there on, with any key they like (here: a key of their own).
    const forger = new SecretBox(parseMasterKey(generateMasterKey()));
    const rows = await db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    const first = rows.findIndex((r) => r.actor === 'keyed');
    let prev = rows[first - 1]?.hash ?? GENESIS_HASH;
    for (const r of rows.slice(first)) {
      const actor = r.actor === 'keyed' ? 'nobody' : r.actor;
      const hash = auditHash(auditKey(forger), prev, { at: r.at, actor, action: r.action, target: r.target, detail: r.detail, ip: r.ip, result: r.result });
      await db.updateTable('audit_log').set({ actor, prev_hash: prev, hash }).where('id', '=', r.id).execute();
      prev = hash;
    }
    expect(await verifyAuditChain(db, stack.box)).toMatchObject({ ok: false, firstBadId: Number(rows[first]!.id) });
  });
});

describe('authentication under parallel requests', () => {
  // The requests below must reach the password check in the order sent: let the account's pace
  // (a wait after the failures before) run out first, so none of them is held back.
  const paceOver = (): Promise<void> => new Promise((r) => setTimeout(r, DELAY_CAP_MS));

  it('a right password verified after parallel wrong ones locked its address is refused too (no lockout bypass)', async () => {
    const u = await stack.addUser('lara', 'viewer');
    for (let i = 1; i <= 4; i++) {
      expect((await stack.request('POST', LOGIN, { body: { username: u.username, password: `bad-password-${i}` } })).json.code).toBe(-4);
    }
    await paceOver();
    // One failure left. Eight wrong guesses and then the right password with a valid code, at
    // once: argon2 runs on a few threads, so the right one is verified after wrong ones locked it.
    const code = currentTotp(u.totpSecret, new Date());
    const wrong = Array.from({ length: 8 }, (_, i) => stack.request('POST', LOGIN, { body: { username: u.username, password: `parallel-bad-${i}` } }));
    await new Promise((r) => setTimeout(r, 5));
    const right = stack.request('POST', LOGIN, { body: { username: u.username, password: u.password, dynamic: code } });
    const replies = await Promise.all([...wrong, right]);
    const rightReply = replies.at(-1)!;
    expect(rightReply.json.code, rightReply.text).toBe(-6);
    expect(cookieValue(rightReply, 'auth_key')).toBeUndefined();
    const user = await stack.database.db.selectFrom('users').select('id').where('username', '=', u.username).executeTakeFirstOrThrow();
    const lock = await stack.database.db.selectFrom('login_failures').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(lock.locked_until!.getTime()).toBeGreaterThan(Date.now());
    expect(lock.failures).toBeGreaterThanOrEqual(5);
    const sessions = await stack.database.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    expect(sessions).toEqual([]);
  });

  it('a right password without a code does not say "password right" (code 1) once parallel failures locked its address', async () => {
    const u = await stack.addUser('lena', 'viewer');
    for (let i = 1; i <= 4; i++) await stack.request('POST', LOGIN, { body: { username: u.username, password: `bad-password-${i}` } });
    await paceOver();
    const wrong = Array.from({ length: 8 }, (_, i) => stack.request('POST', LOGIN, { body: { username: u.username, password: `parallel-bad-${i}` } }));
    await new Promise((r) => setTimeout(r, 5));
    const right = stack.request('POST', LOGIN, { body: { username: u.username, password: u.password } });
    const replies = await Promise.all([...wrong, right]);
    expect(replies.at(-1)!.json.code, replies.at(-1)!.text).toBe(-6);
  });

  it('parallel wrong passwords are counted atomically: the address locks, and at most four are answered "wrong password"', async () => {
    const u = await stack.addUser('lars', 'viewer');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => stack.request('POST', LOGIN, { body: { username: u.username, password: `bad-${i}-password` } })));
    const codes = replies.map((r) => r.json.code as number);
    expect(codes.filter((c) => c === -4).length).toBeLessThanOrEqual(4);
    expect(codes.filter((c) => c === -6).length).toBeGreaterThanOrEqual(6);
    const user = await stack.database.db.selectFrom('users').select(['id', 'failed_logins']).where('username', '=', u.username).executeTakeFirstOrThrow();
    const row = await stack.database.db.selectFrom('login_failures').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    // Each guess that was verified is counted (one read after the lock landed is refused unverified),
    // for the address and for the account's pace alike.
    expect(row.failures).toBeGreaterThanOrEqual(5);
    expect(user.failed_logins).toBe(row.failures);
    expect(row.locked_until!.getTime()).toBeGreaterThan(Date.now());
  });

  it('one TOTP code sent in two parallel logins is accepted once', async () => {
    const u = await stack.addUser('tina', 'viewer');
    const code = currentTotp(u.totpSecret, new Date((totpStep() + 1) * TOTP_PERIOD_S * 1000));
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => stack.request('POST', LOGIN, { body: { username: u.username, password: u.password, dynamic: code } })),
    );
    const codes = replies.map((r) => r.json.code as number).sort();
    expect(codes).toEqual([-5, -5, -5, 0]);
    const user = await stack.database.db.selectFrom('users').select('id').where('username', '=', u.username).executeTakeFirstOrThrow();
    expect(await stack.database.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toHaveLength(1);
  });
});

describe('sessions and cookies', () => {
  it('login sets a new HttpOnly SameSite cookie (Secure behind an https proxy); a key the client brought is not adopted', async () => {
    const u = await stack.addUser('cora', 'viewer');
    const planted = 'ofs_planted-by-someone-else';
    const plain = await stack.request('POST', LOGIN, { cookie: `auth_key=${planted}`, body: { username: u.username, password: u.password, dynamic: await stack.nextTotp(u) } });
    expect(plain.json.code).toBe(0);
    const set = ([] as string[]).concat(plain.headers['set-cookie'] ?? []).find((c) => c.startsWith('auth_key='))!;
    expect(set).toMatch(/; HttpOnly/i);
    expect(set).toMatch(/; SameSite=Lax/i);
    expect(set).not.toMatch(/; Secure/i);
    expect(cookieValue(plain, 'auth_key')).toBe(plain.json.auth_key);
    expect(plain.json.auth_key).not.toBe(planted);
    expect((await stack.request('GET', '/api/v1/me', { cookie: `auth_key=${planted}` })).status).toBe(401);

    const tls = await stack.request('POST', LOGIN, {
      headers: { 'x-forwarded-proto': 'https' },
      body: { username: u.username, password: u.password, dynamic: await stack.nextTotp(u) },
    });
    expect(tls.json.code).toBe(0);
    expect(([] as string[]).concat(tls.headers['set-cookie'] ?? []).find((c) => c.startsWith('auth_key='))).toMatch(/; Secure/i);
  });

  it('logout ends the session on the server: the key stops working as cookie, Bearer and ?auth_key=', async () => {
    const u = await stack.addUser('lou', 'viewer');
    const key = await stack.login(u);
    const other = await stack.login(u);
    expect((await stack.request('POST', '/api/accounts/logout/', { token: key })).json.code).toBe(0);
    expect((await stack.request('GET', '/api/v1/me', { token: key })).status).toBe(401);
    expect((await stack.request('GET', '/api/v1/me', { cookie: `auth_key=${key}` })).status).toBe(401);
    expect((await stack.request('GET', `/api/v1/me?auth_key=${key}`)).status).toBe(401);
    // Only that session: the user's other session goes on.
    expect((await stack.request('GET', '/api/v1/me', { token: other })).status).toBe(200);
  });

  it('a log stream (?follow=1) ends once its session is logged out or its token revoked', async () => {
    const eu = await stack.request('POST', '/api/v1/exec-users', { token: admin.token, body: { alias: 'streamer', username: 'root', password: 'not-used-here' } });
    expect(eu.status, eu.text).toBe(201);
    const t = await stack.request('POST', '/api/v1/templates', {
      token: admin.token,
      body: { name: 'streamed', steps: [{ group: 1, level: 1, name: 'x', command: 'true', exec_user: 'streamer' }] },
    });
    expect(t.status, t.text).toBe(201);
    // Waits for an approver forever (no worker here): the stream would never end by itself.
    const task = await stack.request('POST', '/api/v1/tasks', { token: admin.token, body: { template_id: t.json.id, task_name: 'followed', schedule: 'new', args: {}, hosts: { '1': ['127.0.0.1'] } } });
    expect(task.status, task.text).toBe(201);
    const follow = async (credential: string, end: () => Promise<unknown>): Promise<string> => {
      const res = await fetch(`${stack.base}/api/v1/tasks/${task.json.id}/logs?follow=1`, { headers: { authorization: `Bearer ${credential}` } });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      while (!text.includes('event: status')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      expect(text).toContain('event: status');
      await end();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const next = await Promise.race([reader.read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(1, deadline - Date.now())))]);
        if (next === 'timeout') {
          await reader.cancel();
          return `${text}[still open after 10 s]`;
        }
        if (next.done) return text;
        text += new TextDecoder().decode(next.value);
      }
    };
    const u = await stack.addUser('sid', 'admin');
    const key = await stack.login(u);
    const afterLogout = await follow(key, () => stack.request('POST', '/api/accounts/logout/', { token: key }));
    expect(afterLogout).not.toContain('[still open');
    expect(afterLogout).toMatch(/event: error\ndata: .*你没有登录/);

    const tokenRow = await stack.database.db.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id').select('api_tokens.id').where('users.username', '=', 'sid').executeTakeFirstOrThrow();
    const afterRevoke = await follow(u.token, () => stack.request('DELETE', `/api/v1/tokens/${tokenRow.id}`, { token: admin.token }));
    expect(afterRevoke).not.toContain('[still open');
    expect(afterRevoke).toMatch(/event: error\ndata: .*revoked/);
  }, 60_000);

  it('a token revoked or expired while in use is refused on the very next request', async () => {
    const u = await stack.addUser('rita', 'viewer');
    expect((await stack.request('GET', '/api/v1/me', { token: u.token })).status).toBe(200);
    await stack.database.db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('name', '=', 'test').where('user_id', '=', stack.database.db.selectFrom('users').select('id').where('username', '=', 'rita')).execute();
    expect((await stack.request('GET', '/api/v1/me', { token: u.token })).status).toBe(401);
    const key = await stack.login(u);
    expect((await stack.request('GET', '/api/v1/me', { token: key })).status).toBe(200);
    await stack.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', stack.database.db.selectFrom('users').select('id').where('username', '=', 'rita')).execute();
    expect((await stack.request('GET', '/api/v1/me', { token: key })).status).toBe(401);
  });
});

describe('OPSFLOW_TRUSTED_PROXIES', () => {
  it('none: X-Forwarded-For is ignored, the audit row keeps the real peer address', async () => {
    const direct = await startApiStack({ trustedProxies: false });
    try {
      const who = await direct.addUser('dora', 'operator');
      const before = await direct.database.db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
      await direct.request('POST', '/api/v1/templates', { token: who.token, body: {}, headers: { 'x-forwarded-for': '203.0.113.7' } });
      const rows = await direct.database.db.selectFrom('audit_log').select(['ip', 'actor']).where('id', '>', String(before.id ?? 0)).execute();
      expect(rows).toEqual([{ ip: '127.0.0.1', actor: 'dora' }]);
    } finally {
      await direct.close();
    }
  });
});
