// CODO's exec users (task_layout/user/): alias_user, exec_user, ssh_port, user_key, remarks, with
// CODO's codes and messages (codo-task biz/handlers/templet_handler.py). Unlike CODO, the key is
// write-only: it is sealed like every exec-user secret (src/execUsers/) and reads show its
// fingerprint. A PUT that sends the fingerprint back (CODO's console resends the row it read)
// keeps the stored key.
import { z } from 'zod';
import type { ExecUser } from '../../db/schema';
import { Refusal, refusalsAbout } from '../../domain/errors';
import { createExecUser, deleteExecUser, findExecUser, isStoredKeyFingerprint, listExecUsers, updateExecUser, type ExecUserFields } from '../../execUsers/execUsers';
import { route, type AnyRoute } from '../routing';
import { text } from '../v1/common';
import { badField, blankOrInt, codoId, codoRefusal, codoTime, hasChinese, idOf, isBlank, LAYOUT, nameOrChinese, OkReply, optionalText } from './layoutCommon';

/** CODO's names for the exec user's inputs. */
const FIELDS: ExecUserFields = { alias: 'alias_user', username: 'exec_user', privateKey: 'user_key' };

function view(u: ExecUser, tz: string) {
  return {
    id: u.id,
    alias_user: u.alias,
    exec_user: u.username,
    ssh_port: u.port,
    password: '', // write-only: never shown
    user_key: u.private_key ? (u.key_fingerprint ?? '') : '', // the fingerprint, never the key
    remarks: u.remarks,
    update_time: codoTime(u.updated_at, tz),
    // opsflow additions
    key_fingerprint: u.private_key ? u.key_fingerprint : null,
    has_password: u.password !== null,
    host_key_policy: u.host_key_policy,
  };
}

const listUsers = route({
  method: 'get',
  path: `${LAYOUT}/user/`,
  summary: 'Exec users (CODO); user_key shows the key fingerprint, never the key',
  tags: ['codo-layout'],
  action: 'exec_user.read',
  style: 'codo',
  links: [
    { method: 'put', path: `${LAYOUT}/user/`, requestBody: { id: '$response.body#/data/0/id' } },
    { method: 'delete', path: `${LAYOUT}/user/`, requestBody: { exec_user_id: '$response.body#/data/0/id' } },
  ],
  response: z.object({
    code: z.literal(0),
    msg: z.string(),
    data: z.array(
      z.object({
        id: z.number(),
        alias_user: z.string(),
        exec_user: z.string(),
        ssh_port: z.number(),
        password: z.literal('').describe('write-only: never shown'),
        user_key: z.string().describe('the key fingerprint, never the key; empty without a key'),
        remarks: z.string(),
        update_time: z.string(),
        key_fingerprint: z.string().nullable(),
        has_password: z.boolean(),
        host_key_policy: z.string(),
      }),
    ),
  }),
  handler: async (ctx) => {
    const rows = await listExecUsers(ctx.deps.db);
    return { code: 0, msg: '获取成功', data: rows.map((u) => view(u, ctx.deps.config.OPSFLOW_TIMEZONE)) };
  },
});

const ExecUserName = nameOrChinese(64, '[A-Za-z_][A-Za-z0-9._-]{0,31}\\$?', 'a POSIX user name');

const UserBody = z.object({
  alias_user: nameOrChinese(64, '[A-Za-z0-9][A-Za-z0-9._-]{0,63}', 'an alias: 1-64 letters, digits, . _ -'),
  exec_user: ExecUserName,
  ssh_port: blankOrInt(1, 65_535).describe('default 22'),
  user_key: text(16_384).nullable().optional().describe('OpenSSH or PEM private key, unencrypted (write-only)'),
  password: text(1024).nullable().optional().describe('opsflow: a login password instead of (or besides) the key (write-only)'),
  remarks: optionalText(1000),
});

const createUser = route({
  method: 'post',
  path: `${LAYOUT}/user/`,
  summary: 'Add an exec user (CODO); the key is sealed at rest and never shown again',
  description: '0 添加成功; -1 参数不能为空 (alias_user, exec_user, ssh_port, user_key); -1 名称不能有汉字; -2 名称不能重复.',
  tags: ['codo-layout'],
  action: 'exec_user.write',
  style: 'codo',
  errors: [422],
  body: UserBody,
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    const port = b.ssh_port === undefined ? 22 : b.ssh_port;
    const secret = isBlank(b.user_key) ? (isBlank(b.password) ? undefined : 'password') : 'user_key';
    const empty = [['alias_user', b.alias_user], ['exec_user', b.exec_user], ['ssh_port', port], ['user_key', secret]].find(([, v]) => isBlank(v));
    if (empty) return codoRefusal(-1, '参数不能为空', empty[0] as string);
    const alias = (b.alias_user as string).trim();
    const execUser = (b.exec_user as string).trim();
    if (hasChinese(alias) || hasChinese(execUser)) return codoRefusal(-1, '名称不能有汉字', hasChinese(alias) ? 'alias_user' : 'exec_user');
    const sshPort = Number(port); // the schema checked it: 1-65535, leading zeros allowed
    ctx.audit = { target: `exec_user:${alias}`, detail: { alias, username: execUser, port: sshPort, auth: [b.user_key ? 'key' : '', b.password ? 'password' : ''].filter(Boolean) } };
    try {
      const input = { alias, username: execUser, port: sshPort, privateKey: b.user_key || undefined, password: b.password || undefined, remarks: b.remarks ?? '' };
      await createExecUser(ctx.deps.db, ctx.deps.box, input, FIELDS);
    } catch (err) {
      if (err instanceof Refusal && err.kind === 'conflict') return codoRefusal(-2, '名称不能重复', 'alias_user');
      throw err;
    }
    return { code: 0, msg: '添加成功' };
  },
});

const updateUser = route({
  method: 'put',
  path: `${LAYOUT}/user/`,
  summary: 'Edit an exec user (CODO): exec_user, ssh_port, user_key, remarks; the alias is fixed',
  description:
    '0 编辑成功; -1 不能为空 (exec_user, user_key); -2 项目代号或者英文名称不能有汉字; -1 系统用户名称不能有汉字. ' +
    'user_key equal to the shown fingerprint keeps the stored key.',
  tags: ['codo-layout'],
  action: 'exec_user.write',
  style: 'codo',
  errors: [404, 422],
  body: UserBody.extend({ alias_user: optionalText(64).describe('fixed: only checked for CJK (-2)'), id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    // CODO required user_key; opsflow also takes a password-only edit (the key stays).
    if (isBlank(b.exec_user) || (isBlank(b.user_key) && isBlank(b.password))) return codoRefusal(-1, '不能为空', isBlank(b.exec_user) ? 'exec_user' : 'user_key');
    if (b.alias_user && hasChinese(b.alias_user)) return codoRefusal(-2, '项目代号或者英文名称不能有汉字', 'alias_user');
    const execUser = (b.exec_user as string).trim();
    if (hasChinese(execUser)) return codoRefusal(-1, '系统用户名称不能有汉字', 'exec_user');
    const id = idOf(b.id, 'id');
    if (id === undefined) return codoRefusal(-1, 'ID不能为空', 'id');
    const current = await findExecUser(ctx.deps.db, id);
    if (!current) throw badField('id', `no exec user ${id}`, 404);
    const keyGiven = isBlank(b.user_key) ? undefined : (b.user_key as string);
    const keepKey = keyGiven === undefined || isStoredKeyFingerprint(current, keyGiven);
    const sshPort = isBlank(b.ssh_port) ? current.port : Number(b.ssh_port);
    ctx.audit = { target: `exec_user:${current.alias}`, detail: { username: execUser, port: sshPort, key_replaced: !keepKey, password_replaced: !isBlank(b.password) } };
    const change = { username: execUser, port: sshPort, remarks: b.remarks ?? '', privateKey: keepKey ? undefined : keyGiven, password: b.password || undefined };
    await updateExecUser(ctx.deps.db, ctx.deps.box, current, change, FIELDS);
    return { code: 0, msg: '编辑成功' };
  },
});

const deleteUser = route({
  method: 'delete',
  path: `${LAYOUT}/user/`,
  summary: 'Delete an exec user that no template step uses (CODO)',
  description: '0 删除成功; -1 ID不能为空; HTTP 409 when a template step uses it.',
  tags: ['codo-layout'],
  action: 'exec_user.write',
  style: 'codo',
  errors: [404, 409],
  body: z.object({ exec_user_id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const id = ctx.body.exec_user_id;
    ctx.audit = { target: id ? `exec_user:${id}` : '' };
    if (id === undefined) return codoRefusal(-1, 'ID不能为空', 'exec_user_id');
    const current = await findExecUser(ctx.deps.db, id);
    if (!current) throw badField('exec_user_id', `no exec user ${id}`, 404);
    ctx.audit.target = `exec_user:${current.alias}`;
    await refusalsAbout('exec_user_id', () => deleteExecUser(ctx.deps.db, current));
    return { code: 0, msg: '删除成功' };
  },
});

export const codoUserRoutes: AnyRoute[] = [listUsers, createUser, updateUser, deleteUser];
