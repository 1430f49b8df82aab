// /api/v1/exec-users (private keys and passwords write-only, sealed with the master key) and
// /api/v1/known-hosts (pinned host keys: list, pin, forget).
import { z } from 'zod';
import type { Db } from '../../db/database';
import type { ExecUser } from '../../db/schema';
import * as execUsers from '../../execUsers/execUsers';
import * as knownHosts from '../../execUsers/knownHosts';
import { route, type AnyRoute } from '../routing';
import { host, PUBLIC_KEY_LINE_RE, SSH_KEY_TYPES, str } from '../wire';
import { Alias, Done, IdParams, notFound, text, V1 } from './common';

const PosixUser = z.string().regex(/^[A-Za-z_][A-Za-z0-9._-]{0,31}\$?$/, 'a POSIX user name');
const PrivateKey = str(16_384, 1).describe('OpenSSH or PEM private key, unencrypted (write-only); one ssh2 cannot read is refused');
const Password = str(1024, 1).describe('write-only');
const Policy = z.enum(['tofu', 'strict', 'off']).describe('tofu: pin on first use; strict: must be pinned; off: no check (audited)');

const ExecUserIn = z
  .object({
    alias: Alias,
    username: PosixUser,
    port: z.number().int().min(1).max(65_535).default(22),
    private_key: PrivateKey.optional(),
    password: Password.optional(),
    host_key_policy: Policy.default('tofu'),
    remarks: text(1000).default(''),
  })
  .strict()
  .refine((b) => b.private_key !== undefined || b.password !== undefined, { message: 'give a private_key or a password (or both)', path: ['private_key'] })
  .meta({ id: 'ExecUserInput', anyOf: [{ required: ['private_key'] }, { required: ['password'] }] });

const ExecUserPatch = z
  .object({
    username: PosixUser.optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    private_key: PrivateKey.nullable().optional().describe('replace; null removes'),
    password: Password.nullable().optional().describe('replace; null removes'),
    host_key_policy: Policy.optional(),
    remarks: text(1000).optional(),
  })
  .strict()
  .refine((b) => !(b.private_key === null && b.password === null), { message: 'an exec user needs a private key or a password: remove one, not both', path: ['private_key'] })
  .meta({ not: { properties: { private_key: { type: 'null' }, password: { type: 'null' } }, required: ['private_key', 'password'] } });

const ExecUserOut = z
  .object({
    id: z.number(),
    alias: z.string(),
    username: z.string(),
    port: z.number(),
    auth: z.enum(['key', 'password', 'key+password']),
    key_fingerprint: z.string().nullable().describe('SHA256:… of the public half'),
    has_password: z.boolean(),
    host_key_policy: z.string(),
    remarks: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'ExecUser' });

function view(u: ExecUser) {
  return {
    id: u.id,
    alias: u.alias,
    username: u.username,
    port: u.port,
    auth: execUsers.execUserAuth(u),
    key_fingerprint: u.private_key ? u.key_fingerprint : null,
    has_password: u.password !== null,
    host_key_policy: u.host_key_policy,
    remarks: u.remarks,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}

/** The request's secrets and settings under the core's names. */
function secretsOf(b: z.output<typeof ExecUserPatch>) {
  return { privateKey: b.private_key, password: b.password, hostKeyPolicy: b.host_key_policy, remarks: b.remarks };
}

async function findExecUser(db: Db, id: number): Promise<ExecUser> {
  const row = await execUsers.findExecUser(db, id);
  if (!row) throw notFound(`exec user ${id}`);
  return row;
}

const listExecUsers = route({
  method: 'get',
  path: `${V1}/exec-users`,
  summary: 'List exec users (secrets are never returned)',
  tags: ['exec-users'],
  action: 'exec_user.read',
  style: 'v1',
  response: z.object({ items: z.array(ExecUserOut) }),
  handler: async (ctx) => ({ items: (await execUsers.listExecUsers(ctx.deps.db)).map(view) }),
});

const getExecUser = route({
  method: 'get',
  path: `${V1}/exec-users/:id`,
  summary: 'An exec user (fingerprint, never the key)',
  tags: ['exec-users'],
  action: 'exec_user.read',
  style: 'v1',
  params: IdParams,
  response: ExecUserOut,
  handler: async (ctx) => view(await findExecUser(ctx.deps.db, ctx.params.id)),
});

const createExecUser = route({
  method: 'post',
  path: `${V1}/exec-users`,
  summary: 'Create an exec user: a private key and/or a password, sealed at rest',
  tags: ['exec-users'],
  action: 'exec_user.write',
  style: 'v1',
  errors: [409, 422],
  body: ExecUserIn,
  response: ExecUserOut,
  successStatus: 201,
  handler: async (ctx) => {
    const b = ctx.body;
    ctx.audit = { target: `exec_user:${b.alias}`, detail: { alias: b.alias, username: b.username, port: b.port, auth: [b.private_key ? 'key' : '', b.password ? 'password' : ''].filter(Boolean), host_key_policy: b.host_key_policy } };
    return view(await execUsers.createExecUser(ctx.deps.db, ctx.deps.box, { alias: b.alias, username: b.username, port: b.port, ...secretsOf(b) }));
  },
});

const updateExecUser = route({
  method: 'patch',
  path: `${V1}/exec-users/:id`,
  summary: 'Change an exec user (alias is fixed; secrets replaced, never shown)',
  tags: ['exec-users'],
  action: 'exec_user.write',
  style: 'v1',
  errors: [409, 422],
  params: IdParams,
  body: ExecUserPatch,
  response: ExecUserOut,
  handler: async (ctx) => {
    const b = ctx.body;
    const current = await findExecUser(ctx.deps.db, ctx.params.id);
    ctx.audit = { target: `exec_user:${current.alias}`, detail: { changed: Object.keys(b) } };
    return view(await execUsers.updateExecUser(ctx.deps.db, ctx.deps.box, current, { username: b.username, port: b.port, ...secretsOf(b) }));
  },
});

const deleteExecUser = route({
  method: 'delete',
  path: `${V1}/exec-users/:id`,
  summary: 'Delete an exec user that no template step uses',
  tags: ['exec-users'],
  action: 'exec_user.write',
  style: 'v1',
  errors: [409],
  params: IdParams,
  response: Done,
  handler: async (ctx) => {
    const current = await findExecUser(ctx.deps.db, ctx.params.id);
    ctx.audit.target = `exec_user:${current.alias}`;
    await execUsers.deleteExecUser(ctx.deps.db, current);
    return { code: 0, msg: `exec user '${current.alias}' deleted` };
  },
});

// -------------------------------------------------------------------------------------------
// known hosts

const KnownHostOut = z
  .object({ id: z.number(), host: z.string(), port: z.number(), key_type: z.string(), fingerprint: z.string(), first_seen: z.string(), pinned_by: z.string() })
  .meta({ id: 'KnownHost' });

const PinIn = z
  .object({
    host: host(),
    port: z.number().int().min(1).max(65_535).default(22),
    public_key: str(16_384).regex(PUBLIC_KEY_LINE_RE, 'expected an OpenSSH public key line such as "ssh-ed25519 AAAA…" whose data starts with its type').optional(),
    key_type: z.enum(SSH_KEY_TYPES).optional(),
    fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "'SHA256:' and 43 base64 characters, as ssh-keygen -l prints").optional(),
  })
  .strict()
  .refine((b) => b.public_key !== undefined || (b.key_type !== undefined && b.fingerprint !== undefined), { message: 'give public_key, or key_type and fingerprint', path: ['public_key'] })
  .meta({ id: 'PinHostKey', anyOf: [{ required: ['public_key'] }, { required: ['key_type', 'fingerprint'] }] });

const listKnownHosts = route({
  method: 'get',
  path: `${V1}/known-hosts`,
  summary: 'Pinned host keys',
  tags: ['known-hosts'],
  action: 'known_host.read',
  style: 'v1',
  query: z.object({ host: str(253).optional() }).strict(),
  response: z.object({ items: z.array(KnownHostOut) }),
  handler: async (ctx) => {
    return { items: await knownHosts.listKnownHosts(ctx.deps.db, ctx.query.host) };
  },
});

const pinKnownHost = route({
  method: 'post',
  path: `${V1}/known-hosts`,
  summary: 'Pin a host key (replaces the pin for host:port)',
  tags: ['known-hosts'],
  action: 'known_host.write',
  style: 'v1',
  body: PinIn,
  response: KnownHostOut,
  successStatus: 201,
  handler: async (ctx) => {
    const b = ctx.body;
    const key = knownHosts.hostKeyToPin({ publicKey: b.public_key, keyType: b.key_type, fingerprint: b.fingerprint });
    ctx.audit = { target: `known_host:${b.host}:${b.port}`, detail: { ...key } };
    return knownHosts.pinHostKey(ctx.deps.db, b.host, b.port, key, ctx.user.username);
  },
});

const forgetKnownHost = route({
  method: 'delete',
  path: `${V1}/known-hosts/:id`,
  summary: 'Forget a pinned host key (the next connection pins again under tofu)',
  tags: ['known-hosts'],
  action: 'known_host.write',
  style: 'v1',
  params: IdParams,
  response: Done,
  handler: async (ctx) => {
    const row = await knownHosts.forgetKnownHost(ctx.deps.db, ctx.params.id);
    ctx.audit.target = row ? `known_host:${row.host}:${row.port}` : `known_host:${ctx.params.id}`;
    if (!row) throw notFound(`known host ${ctx.params.id}`);
    ctx.audit.detail = { fingerprint: row.fingerprint };
    return { code: 0, msg: `forgot the host key of ${row.host}:${row.port}` };
  },
});

export const execUserRoutes: AnyRoute[] = [listExecUsers, getExecUser, createExecUser, updateExecUser, deleteExecUser, listKnownHosts, pinKnownHost, forgetKnownHost];
