// /api/v1/me, /users, /roles, /tokens, /audit.
import { z } from 'zod';
import { createTokenAs, listTokensAs, revokeTokenAs } from '../../accounts/apiTokens';
import * as manage from '../../accounts/manage';
import { type LockView } from '../../accounts/lockout';
import { createUser } from '../../accounts/users';
import { listAudit, verifyAuditChain } from '../../audit/audit';
import { ACTIONS, actionsAllowed, ROLE_DESCRIPTIONS, ROLES, type Action } from '../../domain/permissions';
import { renderQrToSvg } from '../../security/totp';
import { route, type AnyRoute } from '../routing';
import { intParam, intParamOr, nonBlank, NOT_BLANK_RE, str } from '../wire';
import { Done, IdParams, IsoTime, notFound, Username, V1 } from './common';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords';

const Role = z.enum(ROLES);
const UserOut = z
  .object({
    id: z.number(),
    username: z.string(),
    display_name: z.string(),
    role: z.string(),
    disabled: z.boolean(),
    locked_until: z.string().nullable().describe('latest end of a login lock, for any client address (null: none)'),
    locked_addresses: z.array(z.string()).describe('client addresses (IPv4, or an IPv6 /64) the account is locked for'),
    totp_enrolled: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'User' });

const UsernameParams = z.object({ username: Username });

/** A password opsflow accepts (security/passwords.ts validatePasswordStrength): 12-1024 characters, not only spaces. */
const StrongPassword = str(MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH).regex(NOT_BLANK_RE, 'password must not be only whitespace');
const QrSvg = z.string().describe('the otpauth URL as a QR code (an SVG document), for an authenticator app to scan');

function userView(u: { id: number; username: string; display_name: string; role: string; disabled: boolean; totp_secret: string | null; created_at: Date } & LockView) {
  return {
    id: u.id,
    username: u.username,
    display_name: u.display_name,
    role: u.role,
    disabled: u.disabled,
    locked_until: u.locked_until,
    locked_addresses: u.locked_addresses,
    totp_enrolled: u.totp_secret !== null,
    created_at: u.created_at,
  };
}

const me = route({
  method: 'get',
  path: `${V1}/me`,
  summary: 'Who am I: account and the actions my role allows',
  tags: ['users'],
  action: 'session.self',
  style: 'v1',
  errors: [404],
  response: UserOut.extend({ via: z.enum(['session', 'token']).describe('how this request was authenticated'), actions: z.array(z.enum(Object.keys(ACTIONS) as [Action, ...Action[]])) }),
  handler: async (ctx) => {
    const u = await manage.getUser(ctx.deps.db, ctx.user.username);
    if (!u) throw notFound('user');
    return { ...userView(u), via: ctx.user.via, actions: actionsAllowed(u.role) };
  },
});

const listUsers = route({
  method: 'get',
  path: `${V1}/users`,
  summary: 'List users',
  tags: ['users'],
  action: 'user.read',
  style: 'v1',
  links: [
    { method: 'get', path: `${V1}/users/:username`, parameters: { 'path.username': '$response.body#/items/0/username' } },
    { method: 'patch', path: `${V1}/users/:username`, parameters: { 'path.username': '$response.body#/items/0/username' } },
    { method: 'post', path: `${V1}/users/:username/reset-password`, parameters: { 'path.username': '$response.body#/items/0/username' } },
    { method: 'post', path: `${V1}/users/:username/reset-totp`, parameters: { 'path.username': '$response.body#/items/0/username' } },
    { method: 'post', path: `${V1}/users/:username/unlock`, parameters: { 'path.username': '$response.body#/items/0/username' } },
  ],
  response: z.object({ items: z.array(UserOut) }),
  handler: async (ctx) => ({ items: (await manage.listUsers(ctx.deps.db)).map(userView) }),
});

const getUser = route({
  method: 'get',
  path: `${V1}/users/:username`,
  summary: 'A user',
  tags: ['users'],
  action: 'user.read',
  style: 'v1',
  params: UsernameParams,
  response: UserOut,
  handler: async (ctx) => {
    const u = await manage.getUser(ctx.deps.db, ctx.params.username);
    if (!u) throw notFound(`user '${ctx.params.username}'`);
    return userView(u);
  },
});

const NewUser = z
  .object({
    username: Username,
    role: Role,
    display_name: nonBlank(100).optional(),
    password: StrongPassword.optional().describe('absent: one is generated and shown once'),
  })
  .strict()
  .meta({ id: 'NewUser' });

const createUserRoute = route({
  method: 'post',
  path: `${V1}/users`,
  summary: 'Create a user: shows the password (if generated) and the TOTP secret once',
  tags: ['users'],
  action: 'user.write',
  style: 'v1',
  errors: [409],
  body: NewUser,
  links: [
    { method: 'get', path: `${V1}/users/:username`, parameters: { 'path.username': '$response.body#/username' } },
    { method: 'patch', path: `${V1}/users/:username`, parameters: { 'path.username': '$response.body#/username' } },
    { method: 'post', path: `${V1}/users/:username/reset-password`, parameters: { 'path.username': '$response.body#/username' } },
    { method: 'post', path: `${V1}/users/:username/reset-totp`, parameters: { 'path.username': '$response.body#/username' } },
    { method: 'post', path: `${V1}/users/:username/unlock`, parameters: { 'path.username': '$response.body#/username' } },
  ],
  response: z.object({ username: z.string(), password: z.string().optional(), totp_secret: z.string(), otpauth_url: z.string(), otpauth_qr_svg: QrSvg }),
  successStatus: 201,
  handler: async (ctx) => {
    const b = ctx.body;
    ctx.audit = { target: `user:${b.username}`, detail: { role: b.role } };
    const created = await createUser(ctx.deps.db, ctx.deps.box, { username: b.username, role: b.role, displayName: b.display_name, password: b.password });
    return { ...created, otpauth_qr_svg: await renderQrToSvg(created.otpauth_url) };
  },
});

const UserPatch = z
  .object({ role: Role.optional(), display_name: nonBlank(100).optional(), disabled: z.boolean().optional() })
  .strict();

const updateUser = route({
  method: 'patch',
  path: `${V1}/users/:username`,
  summary: 'Change role, display name, or disable / enable (disabling ends sessions)',
  tags: ['users'],
  action: 'user.write',
  style: 'v1',
  errors: [409],
  params: UsernameParams,
  body: UserPatch,
  response: UserOut,
  handler: async (ctx) => {
    const b = ctx.body;
    ctx.audit = { target: `user:${ctx.params.username}`, detail: { ...b } };
    const row = await manage.updateUser(ctx.deps.db, ctx.params.username, b);
    if (!row) throw notFound(`user '${ctx.params.username}'`);
    return userView(row);
  },
});

const resetPassword = route({
  method: 'post',
  path: `${V1}/users/:username/reset-password`,
  summary: 'Set a new password (generated and shown once when absent); ends sessions and unlocks',
  tags: ['users'],
  action: 'user.write',
  style: 'v1',
  params: UsernameParams,
  body: z.object({ password: StrongPassword.optional().describe('absent: one is generated and shown once') }).strict(),
  response: z.object({ username: z.string(), password: z.string().optional() }),
  handler: async (ctx) => {
    ctx.audit.target = `user:${ctx.params.username}`;
    const done = await manage.resetPassword(ctx.deps.db, ctx.params.username, ctx.body.password);
    if (!done) throw notFound(`user '${ctx.params.username}'`);
    return done;
  },
});

const resetTotp = route({
  method: 'post',
  path: `${V1}/users/:username/reset-totp`,
  summary: 'Enrol a new TOTP secret (shown once)',
  tags: ['users'],
  action: 'user.write',
  style: 'v1',
  params: UsernameParams,
  response: z.object({ username: z.string(), totp_secret: z.string(), otpauth_url: z.string(), otpauth_qr_svg: QrSvg }),
  handler: async (ctx) => {
    ctx.audit.target = `user:${ctx.params.username}`;
    const enrolled = await manage.resetTotp(ctx.deps.db, ctx.deps.box, ctx.params.username);
    if (!enrolled) throw notFound(`user '${ctx.params.username}'`);
    return { ...enrolled, otpauth_qr_svg: await renderQrToSvg(enrolled.otpauth_url) };
  },
});

const unlockUser = route({
  method: 'post',
  path: `${V1}/users/:username/unlock`,
  summary: 'Lift the login locks of every client address and reset the failure count',
  tags: ['users'],
  action: 'user.write',
  style: 'v1',
  params: UsernameParams,
  response: UserOut,
  handler: async (ctx) => {
    ctx.audit.target = `user:${ctx.params.username}`;
    const row = await manage.unlockUser(ctx.deps.db, ctx.params.username);
    if (!row) throw notFound(`user '${ctx.params.username}'`);
    return userView(row);
  },
});

const roles = route({
  method: 'get',
  path: `${V1}/roles`,
  summary: 'Roles and the actions each allows (the permission table)',
  tags: ['users'],
  action: 'role.read',
  style: 'v1',
  response: z.object({
    items: z.array(z.object({ name: Role, description: z.string(), actions: z.array(z.string()) })),
    actions: z.record(z.string(), z.object({ roles: z.array(Role), scope: z.string(), description: z.string() })),
  }),
  handler: () =>
    Promise.resolve({
      items: ROLES.map((name) => ({ name, description: ROLE_DESCRIPTIONS[name], actions: actionsAllowed(name) })),
      actions: Object.fromEntries(Object.entries(ACTIONS).map(([a, r]) => [a, { roles: r.roles, scope: r.scope, description: r.description }])),
    }),
});

// -------------------------------------------------------------------------------------------
// tokens

const TokenOut = z
  .object({
    id: z.number(),
    name: z.string(),
    username: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });

const listTokens = route({
  method: 'get',
  path: `${V1}/tokens`,
  summary: "Your API tokens (admins: ?username= or ?all=1 for others')",
  tags: ['tokens'],
  action: 'token.self',
  style: 'v1',
  query: z.object({ username: Username.optional(), all: z.enum(['0', '1', 'true', 'false']).optional() }).strict(),
  response: z.object({ items: z.array(TokenOut) }),
  handler: async (ctx) => {
    const all = ctx.query.all === '1' || ctx.query.all === 'true';
    return { items: await listTokensAs(ctx.deps.db, ctx.user, { username: ctx.query.username, all }) };
  },
});

const NewToken = z
  .object({
    name: z.string().regex(/^[\p{L}\p{N} ._:@/-]{1,100}$/u, '1-100 letters, digits, spaces or . _ : @ / -'),
    expires_at: IsoTime.optional().describe('must lie in the future (else 422)'),
    expires_in_days: z.number().int().min(1).max(3650).optional(),
    username: Username.optional().describe('admins: create for another user'),
  })
  .strict()
  .refine((b) => b.expires_at === undefined || b.expires_in_days === undefined, { message: 'give expires_at or expires_in_days, not both', path: ['expires_at'] })
  .meta({ id: 'NewApiToken', not: { required: ['expires_at', 'expires_in_days'] }, examples: [{ name: 'ci pipeline', expires_in_days: 30 }] });

const createToken = route({
  method: 'post',
  path: `${V1}/tokens`,
  summary: 'Create an API token: the token is shown once, only its hash is kept',
  tags: ['tokens'],
  action: 'token.self',
  style: 'v1',
  errors: [404, 422],
  body: NewToken,
  response: TokenOut.extend({ token: z.string() }),
  successStatus: 201,
  handler: async (ctx) => {
    const b = ctx.body;
    const owner = b.username ?? ctx.user.username;
    ctx.audit = { target: `user:${owner}`, detail: { name: b.name } };
    const request = { name: b.name, username: b.username, expiresAt: b.expires_at ? new Date(b.expires_at) : undefined, expiresInDays: b.expires_in_days };
    const { token, info, expiresAt } = await createTokenAs(ctx.deps.db, ctx.user, request);
    ctx.audit = { target: `token:${info.id}`, detail: { name: b.name, owner, expires_at: expiresAt?.toISOString() ?? null } };
    return { ...info, token };
  },
});

const revokeToken = route({
  method: 'delete',
  path: `${V1}/tokens/:id`,
  summary: 'Revoke an API token (yours; admins: anyone’s)',
  tags: ['tokens'],
  action: 'token.self',
  style: 'v1',
  errors: [409],
  params: IdParams,
  response: Done,
  handler: async (ctx) => {
    ctx.audit.target = `token:${ctx.params.id}`;
    const t = await revokeTokenAs(ctx.deps.db, ctx.user, ctx.params.id);
    return { code: 0, msg: `token ${t.id} revoked` };
  },
});

// -------------------------------------------------------------------------------------------
// audit

const AuditOut = z
  .object({
    id: z.number(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    detail: z.record(z.string(), z.unknown()),
    ip: z.string(),
    result: z.string(),
    prev_hash: z.string().nullable().describe('null until the sealer has chained the row (a fraction of a second)'),
    hash: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

const AuditQuery = z
  .object({
    actor: str(100).optional(),
    action: str(100).optional().describe('exact, or a prefix ending in * (task.*)'),
    target: str(300).optional().describe('e.g. task:12, user:alice'),
    result: z.enum(['ok', 'refused', 'error']).optional(),
    since: IsoTime.optional(),
    until: IsoTime.optional(),
    cursor: intParam(1, Number.MAX_SAFE_INTEGER, 'an audit entry id').optional().describe('next_cursor of the previous page'),
    limit: intParamOr(1, 1000, 100),
  })
  .strict();

const listAuditRoute = route({
  method: 'get',
  path: `${V1}/audit`,
  summary: 'The audit trail (操作记录), newest first, with filters',
  tags: ['audit'],
  action: 'audit.read',
  style: 'v1',
  query: AuditQuery,
  response: z.object({ items: z.array(AuditOut), next_cursor: z.number().nullable() }),
  handler: async (ctx) => {
    const q = ctx.query;
    const items = await listAudit(ctx.deps.db, {
      actor: q.actor,
      action: q.action,
      target: q.target,
      result: q.result,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      before: q.cursor,
      limit: q.limit + 1,
    });
    const page = items.slice(0, q.limit);
    return { items: page, next_cursor: items.length > q.limit ? (page[page.length - 1]?.id ?? null) : null };
  },
});

const verifyAuditRoute = route({
  method: 'get',
  path: `${V1}/audit/verify`,
  summary: 'Recompute the hash chain; names the first row that does not check out',
  tags: ['audit'],
  action: 'audit.read',
  style: 'v1',
  response: z.object({ ok: z.boolean(), rows: z.number(), first_bad_id: z.number().optional(), reason: z.string().optional() }),
  handler: async (ctx) => {
    const r = await verifyAuditChain(ctx.deps.db, ctx.deps.box);
    return r.ok ? { ok: true, rows: r.rows } : { ok: false, rows: r.rows, first_bad_id: r.firstBadId, reason: r.reason };
  },
});

export const peopleRoutes: AnyRoute[] = [me, listUsers, getUser, createUserRoute, updateUser, resetPassword, resetTotp, unlockUser, roles, listTokens, createToken, revokeToken, listAuditRoute, verifyAuditRoute];
