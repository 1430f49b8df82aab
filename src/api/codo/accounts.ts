// CODO's login (`POST /api/accounts/login/`) with opsflow's lockout, rate limit and one-use TOTP;
// logout. Codes and messages exactly as docs/codo-contract.md#login and #logout say.
import { z } from 'zod';
import { login, logout, SESSION_TTL_MS, type LoginOutcome } from '../../accounts/sessions';
import { formatCodoTime } from '../../domain/execTime';
import { CSRF_TTL_MS, issueCsrfKey } from '../../accounts/csrfKeys';
import { clearCookie, setCookie } from '../cookies';
import { LoginLimiter } from '../rateLimit';
import { Reply, route, type AnyRoute } from '../routing';
import { str } from '../wire';

const LoginBody = z
  .object({
    username: str(200).nullable().optional().describe('account name'),
    password: str(1024).nullable().optional().describe('password'),
    dynamic: z.union([str(64), z.number().int().min(0)]).nullable().optional().describe('TOTP code, string or number (leading zeros restored)'),
  })
  .meta({ id: 'LoginBody' })
  .describe('{username, password, dynamic}');

const LoginReply = z.object({
  code: z.number(),
  msg: z.string(),
  auth_key: z.string().optional(),
  username: z.string().optional(),
  nickname: z.string().optional(),
});

function lockedMessage(until: Date, tz: string): string {
  return `账号已锁定，请于 ${formatCodoTime(until, tz)} 后重试 (account locked until ${until.toISOString()})`;
}

function failureReply(outcome: Exclude<LoginOutcome, { kind: 'ok' }>, tz: string): { code: number; msg: string; detail: string } {
  switch (outcome.kind) {
    case 'empty':
      return { code: -1, msg: '账号密码不能为空', detail: 'empty username or password' };
    case 'bad_password':
      if (outcome.lockedUntil) return { code: -6, msg: lockedMessage(outcome.lockedUntil, tz), detail: 'wrong password; account locked' };
      return { code: -4, msg: '账号密码错误', detail: outcome.user ? 'wrong password' : 'unknown user' };
    case 'disabled':
      return { code: -4, msg: '账号被禁用', detail: 'account disabled' };
    case 'need_totp':
      return { code: 1, msg: '跳转二次认证', detail: 'TOTP code required' };
    case 'bad_totp':
      if (outcome.lockedUntil) return { code: -6, msg: lockedMessage(outcome.lockedUntil, tz), detail: 'wrong TOTP code; account locked' };
      return { code: -5, msg: 'MFA错误', detail: outcome.replayed ? 'TOTP code already used' : 'wrong TOTP code' };
    case 'locked':
      return { code: -6, msg: lockedMessage(outcome.lockedUntil, tz), detail: 'account locked' };
  }
}

const loginRoute = route({
  method: 'post',
  path: '/api/accounts/login/',
  summary: 'Log in with password and TOTP (CODO)',
  description:
    'Answers HTTP 200 with CODO codes: 0 登录成功, -1 账号密码不能为空, -4 账号密码错误 / 账号被禁用, 1 跳转二次认证 (TOTP needed), ' +
    '-5 MFA错误, -6 account locked for this client address (message says until when). 429 when one address fails too often. ' +
    'Sets the HttpOnly, SameSite=Lax cookie auth_key (1 day).',
  tags: ['accounts'],
  action: 'public',
  style: 'codo',
  errors: [429],
  body: LoginBody,
  response: LoginReply,
  handler: async (ctx) => {
    const limiter = ctx.deps.loginLimiter ?? new LoginLimiter();
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const username = typeof ctx.body.username === 'string' ? ctx.body.username.slice(0, 100) : '';
    ctx.audit = { action: 'account.login', target: username ? `user:${username}` : '', detail: { username: username || '-' } };
    const wait = limiter.check(ctx.ip);
    if (wait !== null) {
      return new Reply(429, { code: -7, msg: `登录失败次数过多，请 ${wait} 秒后重试 (too many login attempts from this address)`, details: { retry_after_s: wait } });
    }
    limiter.attempts.add(ctx.ip);
    const outcome = await login(ctx.deps.db, ctx.deps.box, { username: ctx.body.username, password: ctx.body.password, dynamic: ctx.body.dynamic, address: ctx.ip });
    if (outcome.kind !== 'ok') {
      if (outcome.kind !== 'need_totp' && outcome.kind !== 'empty') limiter.failures.add(ctx.ip);
      const r = failureReply(outcome, tz);
      ctx.audit.detail = { ...ctx.audit.detail, reason: r.detail };
      return { code: r.code, msg: r.msg };
    }
    setCookie(ctx.req, ctx.res, 'auth_key', outcome.token, { maxAgeMs: SESSION_TTL_MS, httpOnly: true });
    // A fresh key of the new user's, as on every cookie-authenticated reply: a browser or Postman
    // that switches accounts would otherwise send the previous user's key with its first write.
    setCookie(ctx.req, ctx.res, 'csrf_key', await issueCsrfKey(ctx.deps.db, outcome.user.id), { maxAgeMs: CSRF_TTL_MS, httpOnly: false });
    return { code: 0, auth_key: outcome.token, username: outcome.user.username, nickname: outcome.user.display_name, msg: '登录成功' };
  },
});

const logoutRoute = route({
  method: 'post',
  path: '/api/accounts/logout/',
  summary: 'Log out: ends this session and clears the cookie',
  tags: ['accounts'],
  action: 'session.self',
  style: 'codo',
  csrf: 'none',
  response: z.object({ code: z.literal(0), msg: z.string() }),
  handler: async (ctx) => {
    ctx.audit = { action: 'account.logout', target: `user:${ctx.user.username}` };
    if (ctx.user.via === 'session') await logout(ctx.deps.db, ctx.user.credentialId);
    clearCookie(ctx.req, ctx.res, 'auth_key', true);
    return { code: 0, msg: '退出成功' };
  },
});

export const codoAccountRoutes: AnyRoute[] = [loginRoute, logoutRoute];
