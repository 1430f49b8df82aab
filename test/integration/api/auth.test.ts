/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- tests poke at parsed JSON replies */
// Login (password + TOTP), lockout, rate limit, sessions, API tokens, CSRF — over real HTTP.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountDelayMs, DELAY_BASE_MS, DELAY_CAP_MS } from '../../../src/accounts/lockout';
import { currentTotp, totpStep, TOTP_PERIOD_S } from '../../../src/security/totp';
import { cookieValue, startApiStack, type ApiStack } from '../../support/apiStack';

let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.close();
});

const LOGIN = '/api/accounts/login/';
/** Requests come from loopback, a trusted proxy: X-Forwarded-For names the client. */
const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });

/** Runs `opsflow <args>` (the CLI, as `npm run opsflow` does) and fails with its stderr unless it exits 0. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string }> {
  const main = path.join(__dirname, '../../../src/main.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, ...args], { env, cwd: path.join(__dirname, '../../..'), timeout: 45_000 });
  return { stdout };
}

describe('POST /api/accounts/login/', () => {
  it('logs in with password and TOTP: CODO reply, HttpOnly SameSite cookie, and the auth_key works as cookie, Bearer and ?auth_key=', async () => {
    const u = await stack.addUser('carol', 'viewer', { displayName: '卡罗尔' });
    const r = await stack.request('POST', LOGIN, { body: { username: 'carol', password: u.password, dynamic: await stack.nextTotp(u) } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ code: 0, auth_key: expect.stringMatching(/^ofs_/), username: 'carol', nickname: '卡罗尔', msg: '登录成功' });
    expect(Object.keys(r.json)).toEqual(['code', 'auth_key', 'username', 'nickname', 'msg']);
    const setCookie = (r.headers['set-cookie'] as string[]).find((c) => c.startsWith('auth_key='));
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Max-Age=86400/);
    const key = r.json.auth_key as string;
    expect(cookieValue(r, 'auth_key')).toBe(key);

    for (const how of [{ cookie: `auth_key=${key}` }, { token: key }]) {
      const me = await stack.request('GET', '/api/v1/me', how);
      expect(me.status).toBe(200);
      expect(me.json.username).toBe('carol');
    }
    const viaQuery = await stack.request('GET', `/api/v1/me?auth_key=${encodeURIComponent(key)}`);
    expect(viaQuery.status).toBe(200);
  });

  it('accepts a body without Content-Type and a numeric dynamic code whose leading zeros were lost', async () => {
    const u = await stack.addUser('dave', 'viewer');
    const code = await stack.nextTotp(u);
    const r = await stack.request('POST', LOGIN, { body: JSON.stringify({ username: 'dave', password: u.password, dynamic: Number(code) }), contentType: null });
    expect(r.json.code).toBe(0);
  });

  it('answers CODO codes for empty fields, wrong password, disabled account, missing and wrong TOTP', async () => {
    const u = await stack.addUser('erin', 'viewer');
    expect((await stack.request('POST', LOGIN, { body: {} })).json).toEqual({ code: -1, msg: '账号密码不能为空' });
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: '' } })).json).toEqual({ code: -1, msg: '账号密码不能为空' });
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: 'wrong-password-123' } })).json).toEqual({ code: -4, msg: '账号密码错误' });
    expect((await stack.request('POST', LOGIN, { body: { username: 'nobody', password: 'wrong-password-123' } })).json).toEqual({ code: -4, msg: '账号密码错误' });
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: u.password } })).json).toEqual({ code: 1, msg: '跳转二次认证' });
    // A code from far in the past is wrong, not merely replayed.
    const wrong = currentTotp(u.totpSecret, new Date(Date.now() - 10 * TOTP_PERIOD_S * 1000));
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: u.password, dynamic: wrong } })).json).toEqual({ code: -5, msg: 'MFA错误' });
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: u.password, dynamic: 'abcdef' } })).json).toEqual({ code: -5, msg: 'MFA错误' });

    await stack.database.db.updateTable('users').set({ disabled: true, failed_logins: 0 }).where('username', '=', 'erin').execute();
    expect((await stack.request('POST', LOGIN, { body: { username: 'erin', password: u.password, dynamic: await stack.nextTotp(u) } })).json).toEqual({ code: -4, msg: '账号被禁用' });
  });

  it('accepts a TOTP code once: the same code again is refused (replay)', async () => {
    const u = await stack.addUser('frank', 'viewer');
    const code = currentTotp(u.totpSecret, new Date((totpStep() + 1) * TOTP_PERIOD_S * 1000)); // the t+1 code, valid for ~60 s
    const first = await stack.request('POST', LOGIN, { body: { username: 'frank', password: u.password, dynamic: code } });
    expect(first.json.code).toBe(0);
    const replay = await stack.request('POST', LOGIN, { body: { username: 'frank', password: u.password, dynamic: code } });
    expect(replay.json).toEqual({ code: -5, msg: 'MFA错误' });
    const audit = await stack.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'account.login').where('target', '=', 'user:frank').orderBy('id').execute();
    expect(audit.map((a) => [a.result, a.detail.reason])).toEqual([
      ['ok', undefined],
      ['refused: MFA错误', 'TOTP code already used'],
    ]);
  });

  it('5 wrong passwords from one address lock the account for that address only (-6 says until when); the right password from another address logs in', async () => {
    const u = await stack.addUser('gina', 'viewer');
    const gina = (await stack.database.db.selectFrom('users').select('id').where('username', '=', 'gina').executeTakeFirstOrThrow()).id;
    const [a, b] = ['203.0.113.10', '198.51.100.20'];
    for (let i = 1; i <= 4; i++) {
      expect((await stack.request('POST', LOGIN, { body: { username: 'gina', password: `bad-password-${i}` }, headers: from(a) })).json.code).toBe(-4);
    }
    const fifth = await stack.request('POST', LOGIN, { body: { username: 'gina', password: 'bad-password-5' }, headers: from(a) });
    expect(fifth.json.code).toBe(-6);
    // Refused before anything is checked: the right password and code (not used up) change nothing.
    const locked = await stack.request('POST', LOGIN, { body: { username: 'gina', password: u.password, dynamic: currentTotp(u.totpSecret) }, headers: from(a) });
    expect(locked.json.code).toBe(-6);
    expect(locked.json.msg).toMatch(/^账号已锁定，请于 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d 后重试 \(account locked until \d{4}-\d\d-\d\dT/);
    const row = await stack.database.db.selectFrom('login_failures').selectAll().where('user_id', '=', gina).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ address: a, failures: 5 });
    expect(row.locked_until!.getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(locked.json.msg).toContain(row.locked_until!.toISOString());

    // The owner, from another address, still logs in; that does not lift the lock for the first.
    const fromB = await stack.request('POST', LOGIN, { body: { username: 'gina', password: u.password, dynamic: await stack.nextTotp(u) }, headers: from(b) });
    expect(fromB.json.code, fromB.text).toBe(0);
    expect((await stack.request('POST', LOGIN, { body: { username: 'gina', password: u.password }, headers: from(a) })).json.code).toBe(-6);

    const audit = await stack.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'account.login').where('target', '=', 'user:gina').orderBy('id').execute();
    expect(audit.map((e) => [e.ip, e.result.replace(/，.*$/, ''), e.detail.reason])).toEqual([
      ...[1, 2, 3, 4].map(() => [a, 'refused: 账号密码错误', 'wrong password']),
      [a, 'refused: 账号已锁定', 'wrong password; account locked'],
      [a, 'refused: 账号已锁定', 'account locked'],
      [b, 'ok', undefined],
      [a, 'refused: 账号已锁定', 'account locked'],
    ]);

    // The lock ends by itself; simulate its end.
    await stack.database.db.updateTable('login_failures').set({ locked_until: new Date(Date.now() - 1000) }).where('user_id', '=', gina).execute();
    expect((await stack.request('POST', LOGIN, { body: { username: 'gina', password: u.password, dynamic: await stack.nextTotp(u) }, headers: from(a) })).json.code).toBe(0);
    expect(await stack.database.db.selectFrom('login_failures').selectAll().where('user_id', '=', gina).execute()).toEqual([]);
  });

  it('every failure, from any address, slows the account\'s next attempt (doubling, capped); the owner waits at most the cap', async () => {
    const u = await stack.addUser('gwen', 'viewer');
    // One guess per address, as a distributed attack spreads them: no address gets locked, and
    // each address's row keeps the moment its one failure was counted.
    const addresses = Array.from({ length: 6 }, (_, i) => `203.0.113.${100 + i}`);
    for (const [i, address] of addresses.entries()) {
      const r = await stack.request('POST', LOGIN, { body: { username: 'gwen', password: `bad-password-${i}` }, headers: from(address) });
      expect(r.json.code).toBe(-4);
    }
    // The pace is counted from the latest failure, as the server counted it (not from when its
    // reply reached the client: under load, writing the failure and the audit row before replying
    // can take a second, which a stopwatch around each request would wrongly count as waited).
    // Attempt i is checked no sooner than accountDelayMs(i) after failure i-1, and its own failure
    // is counted after that check: the gaps between the counted failures prove the waits, exactly.
    const rows = await stack.database.db.selectFrom('login_failures').innerJoin('users', 'users.id', 'login_failures.user_id').select(['address', 'last_failure_at']).where('users.username', '=', 'gwen').execute();
    const countedAt = addresses.map((a) => rows.find((r) => r.address === a)!.last_failure_at.getTime());
    for (let i = 1; i < 6; i++) expect(countedAt[i]! - countedAt[i - 1]!, `attempt ${i + 1}: failures counted at ${countedAt.join(', ')}`).toBeGreaterThanOrEqual(accountDelayMs(i));
    expect(accountDelayMs(5)).toBe(DELAY_CAP_MS);

    const code = await stack.nextTotp(u);
    const t0 = performance.now();
    const owner = await stack.request('POST', LOGIN, { body: { username: 'gwen', password: u.password, dynamic: code }, headers: from('198.51.100.7') });
    const ownerMs = performance.now() - t0;
    expect(owner.json.code, owner.text).toBe(0);
    // The owner waited the cap after the latest failure: the session began no sooner (PostgreSQL's
    // now(), the same system clock).
    const session = await stack.database.db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id').select('sessions.created_at').where('users.username', '=', 'gwen').executeTakeFirstOrThrow();
    expect(session.created_at.getTime() - countedAt[5]!).toBeGreaterThanOrEqual(DELAY_CAP_MS);
    // Capped: without the cap this sixth wait would be accountDelayMs without limit, 8 s. The margin
    // is for one password check on a loaded machine (CI runs two test files at once on 2 cores).
    expect(ownerMs).toBeLessThan(DELAY_BASE_MS * 2 ** 5 - 500);
    // A login resets the pace.
    expect((await stack.database.db.selectFrom('users').select('failed_logins').where('username', '=', 'gwen').executeTakeFirstOrThrow()).failed_logins).toBe(0);
  });

  it('an admin lifts the locks (API unlock, CLI user unlock, reset-password); the user view names the locked addresses', async () => {
    const admin = await stack.addUser('gadmin', 'admin');
    const u = await stack.addUser('hana', 'viewer');
    const a = '203.0.113.50';
    const lockFromA = async (): Promise<void> => {
      for (let i = 1; i <= 5; i++) await stack.request('POST', LOGIN, { body: { username: 'hana', password: `bad-password-${i}` }, headers: from(a) });
      expect((await stack.request('POST', LOGIN, { body: { username: 'hana', password: u.password }, headers: from(a) })).json.code).toBe(-6);
    };
    const view = async (): Promise<Record<string, unknown>> => (await stack.request('GET', '/api/v1/users/hana', { token: admin.token })).json as Record<string, unknown>;

    await lockFromA();
    const lockedView = await view();
    expect(lockedView.locked_addresses).toEqual([a]);
    expect(Date.parse(lockedView.locked_until as string)).toBeGreaterThan(Date.now() + 14 * 60_000);
    const listed = (await stack.request('GET', '/api/v1/users', { token: admin.token })).json.items.find((x: { username: string }) => x.username === 'hana');
    expect(listed).toMatchObject({ locked_addresses: [a], locked_until: lockedView.locked_until });

    const unlocked = await stack.request('POST', '/api/v1/users/hana/unlock', { token: admin.token });
    expect(unlocked.status, unlocked.text).toBe(200);
    expect(unlocked.json).toMatchObject({ locked_until: null, locked_addresses: [] });
    expect(await view()).toMatchObject({ locked_until: null, locked_addresses: [] });
    expect((await stack.request('POST', LOGIN, { body: { username: 'hana', password: u.password, dynamic: await stack.nextTotp(u) }, headers: from(a) })).json.code).toBe(0);

    // The shell: `user list` shows the lock, `user unlock` lifts it (and is audited).
    await lockFromA();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: stack.database.url, OPSFLOW_MASTER_KEY: stack.masterKey, OPSFLOW_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-cli-')) };
    const list = JSON.parse((await cli(['user', 'list', '--json'], env)).stdout) as { username: string; locked_addresses: string[] }[];
    expect(list.find((x) => x.username === 'hana')).toMatchObject({ locked_addresses: [a] });
    expect(JSON.parse((await cli(['user', 'unlock', 'hana', '--json'], env)).stdout)).toEqual({ username: 'hana', unlocked: true });
    expect(await view()).toMatchObject({ locked_until: null, locked_addresses: [] });
    const audited = await stack.database.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'user.unlock').execute();
    expect(audited).toEqual([{ action: 'user.unlock', target: 'user:hana' }]);

    // A new password lifts the locks too.
    await lockFromA();
    expect((await stack.request('POST', '/api/v1/users/hana/reset-password', { token: admin.token, body: {} })).status).toBe(200);
    expect(await view()).toMatchObject({ locked_until: null, locked_addresses: [] });
  });

  it('rate-limits one address after repeated failures (429)', async () => {
    const limited = await startApiStack({ loginLimits: { maxFailures: 3, maxAttempts: 100, windowMs: 60_000 } });
    try {
      await limited.addUser('henry', 'viewer');
      for (let i = 0; i < 3; i++) expect((await limited.request('POST', LOGIN, { body: { username: 'henry', password: 'wrong-password-x' } })).json.code).toBe(-4);
      const r = await limited.request('POST', LOGIN, { body: { username: 'henry', password: 'wrong-password-x' } });
      expect(r.status).toBe(429);
      expect(r.json.code).toBe(-7);
      expect(r.json.details.retry_after_s).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('sessions and API tokens', () => {
  it('logout ends the session', async () => {
    const u = await stack.addUser('ivan', 'viewer');
    const key = await stack.login(u);
    expect((await stack.request('POST', '/api/accounts/logout/', { token: key })).json.code).toBe(0);
    const after = await stack.request('GET', '/api/v1/me', { token: key });
    expect(after.status).toBe(401);
  });

  it('refuses an expired session, an expired token and a revoked token with 401 naming why', async () => {
    const u = await stack.addUser('judy', 'operator');
    const key = await stack.login(u);
    await stack.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).execute();
    const expiredSession = await stack.request('GET', '/api/v1/me', { token: key });
    expect(expiredSession.status).toBe(401);
    expect(expiredSession.json.msg).toBe('你没有登录: session has expired; log in again');
    expect(expiredSession.headers['www-authenticate']).toMatch(/^Bearer/);

    const created = await stack.request('POST', '/api/v1/tokens', { token: u.token, body: { name: 'ci', expires_in_days: 1 } });
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^oft_/);
    const token = created.json.token as string;
    expect((await stack.request('GET', '/api/v1/me', { token })).status).toBe(200);
    // Only the hash is stored.
    const stored = await stack.database.db.selectFrom('api_tokens').selectAll().where('id', '=', created.json.id).executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(token.slice(4));
    expect((await stack.request('GET', '/api/v1/tokens', { token })).json.items.every((t: Record<string, unknown>) => !('token' in t) && !('token_hash' in t))).toBe(true);

    await stack.database.db.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', created.json.id).execute();
    const expired = await stack.request('GET', '/api/v1/me', { token });
    expect(expired.status).toBe(401);
    expect(expired.json.msg).toBe('你没有登录: API token has expired');

    const second = await stack.request('POST', '/api/v1/tokens', { token: u.token, body: { name: 'ci-2' } });
    expect((await stack.request('DELETE', `/api/v1/tokens/${second.json.id}`, { token: u.token })).status).toBe(200);
    const revoked = await stack.request('GET', '/api/v1/me', { token: second.json.token });
    expect(revoked.status).toBe(401);
    expect(revoked.json.msg).toBe('你没有登录: API token has been revoked');
  });

  it('refuses unknown, malformed and disabled-account credentials', async () => {
    expect((await stack.request('GET', '/api/v1/me', { token: 'ofs_not-a-real-token' })).json).toMatchObject({ code: 401, msg: '你没有登录: credential not recognised' });
    expect((await stack.request('GET', '/api/v1/me', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    const u = await stack.addUser('kate', 'viewer');
    await stack.database.db.updateTable('users').set({ disabled: true }).where('username', '=', 'kate').execute();
    expect((await stack.request('GET', '/api/v1/me', { token: u.token })).json.msg).toBe('你没有登录: account is disabled');
  });
});

describe('CSRF for cookie-authenticated writes', () => {
  it('needs a one-use key from GET accept (header, body or cookie); Bearer needs none; answers 402 csrf error.', async () => {
    const u = await stack.addUser('leo', 'admin');
    const key = await stack.login(u);
    const cookie = `auth_key=${key}`;
    const body = { name: `cmd-${Date.now()}`, command: 'uptime' };
    const none = await stack.request('POST', '/api/v1/commands', { cookie, body });
    expect(none.status).toBe(402);
    expect(none.json).toMatchObject({ code: 402, msg: 'csrf error.' });

    const csrf = await stack.request('GET', '/api/task/v2/task/accept/', { cookie });
    expect(csrf.json).toEqual({ code: 0, msg: '获取csrf_key成功', csrf_key: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    expect(cookieValue(csrf, 'csrf_key')).toBe(csrf.json.csrf_key);
    const k = csrf.json.csrf_key as string;
    const ok = await stack.request('POST', '/api/v1/commands', { cookie, body, headers: { 'x-csrf-key': k } });
    expect(ok.status).toBe(201);
    // One use only.
    const again = await stack.request('POST', '/api/v1/commands', { cookie, body: { ...body, name: body.name + '-2' }, headers: { 'x-csrf-key': k } });
    expect(again.status).toBe(402);
    // From the csrf_key cookie.
    const k2 = (await stack.request('GET', '/api/task/v2/task/accept/', { cookie })).json.csrf_key as string;
    expect((await stack.request('POST', '/api/v1/commands', { cookie: `${cookie}; csrf_key=${k2}`, body: { ...body, name: body.name + '-3' } })).status).toBe(201);
    // Another user's key does not work.
    const other = await stack.addUser('mia', 'admin');
    const otherKey = (await stack.request('GET', '/api/task/v2/task/accept/', { token: other.token })).json.csrf_key as string;
    expect((await stack.request('POST', '/api/v1/commands', { cookie, body: { ...body, name: body.name + '-4' }, headers: { 'x-csrf-key': otherKey } })).status).toBe(402);
    // An expired key does not work.
    const k3 = (await stack.request('GET', '/api/task/v2/task/accept/', { cookie })).json.csrf_key as string;
    await stack.database.db.updateTable('csrf_keys').set({ created_at: new Date(Date.now() - 1801_000) } as never).where('key', '=', k3).execute();
    expect((await stack.request('POST', '/api/v1/commands', { cookie, body: { ...body, name: body.name + '-5' }, headers: { 'x-csrf-key': k3 } })).status).toBe(402);
    // Bearer: no key needed.
    expect((await stack.request('POST', '/api/v1/commands', { token: key, body: { ...body, name: body.name + '-6' } })).status).toBe(201);
  });
});
