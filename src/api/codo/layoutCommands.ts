// CODO's command library (task_layout/command/) and argument labels (task_layout/args/), with
// CODO's keys, codes and messages (codo-task biz/handlers/templet_handler.py).
import { sql } from 'kysely';
import { z } from 'zod';
import { route, type AnyRoute } from '../routing';
import { isUniqueViolation } from '../v1/common';
import { HOST_SOURCE } from '../wire';
import { badField, blankOr, codoId, codoRefusal, codoTime, isBlank, LAYOUT, ListQuery, OkReply, optionalText, pageWindow, prefixPattern } from './layoutCommon';

/** A force_host: blank (none) or an address or host name. */
const ForceHost = blankOr(253, HOST_SOURCE, 'not a valid address or host name');

function forceHostOf(value: string | null | undefined): string | null {
  return value?.trim() || null;
}

// ---------------------------------------------------------------------------------------------
// command/

const CommandRow = z.object({
  command_id: z.number(),
  command_name: z.string(),
  command: z.string(),
  args: z.string(),
  force_host: z.string().nullable(),
  creator: z.string(),
  create_time: z.string(),
  update_time: z.string(),
});

const listCommands = route({
  method: 'get',
  path: `${LAYOUT}/command/`,
  summary: 'Commands (脚本命令), CODO style: search_value prefix match, page, limit (over 200: all)',
  tags: ['codo-layout'],
  action: 'template.read',
  style: 'codo',
  query: ListQuery,
  links: [
    { method: 'put', path: `${LAYOUT}/command/`, requestBody: { command_id: '$response.body#/data/0/command_id' } },
    { method: 'delete', path: `${LAYOUT}/command/`, requestBody: { command_id: '$response.body#/data/0/command_id' } },
  ],
  response: z.object({ code: z.number(), msg: z.string(), data: z.array(CommandRow), count: z.number() }),
  handler: async (ctx) => {
    const search = ctx.query.search_value?.trim();
    let q = ctx.deps.db.selectFrom('commands');
    if (search) {
      const like = prefixPattern(search);
      q = q.where((eb) => eb.or([eb(sql`id::text`, 'like', like), eb('name', 'ilike', like), eb('command', 'ilike', like), eb('args', 'ilike', like), eb('force_host', 'ilike', like), eb('created_by', 'ilike', like)]));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    let rows = q.selectAll().orderBy('id');
    const window = pageWindow(ctx.query);
    if (window) rows = rows.offset(window.offset).limit(window.limit);
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const data = (await rows.execute()).map((c) => ({
      command_id: c.id,
      command_name: c.name,
      command: c.command,
      args: c.args,
      force_host: c.force_host,
      creator: c.created_by,
      create_time: codoTime(c.created_at, tz),
      update_time: codoTime(c.updated_at, tz),
    }));
    return { code: 0, msg: '获取成功', data, count: Number(n) };
  },
});

const NewCommand = z.object({
  command_name: optionalText(200),
  command: optionalText(10_000),
  args: optionalText(2000),
  force_host: ForceHost,
});

const createCommand = route({
  method: 'post',
  path: `${LAYOUT}/command/`,
  summary: 'Add a command (CODO)',
  description: '0 添加新命令成功; -1 参数不能为空 (command_name, command); -2 名称不能重复.',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  body: NewCommand,
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    if (isBlank(b.command_name) || isBlank(b.command)) return codoRefusal(-1, '参数不能为空', isBlank(b.command_name) ? 'command_name' : 'command');
    const name = (b.command_name as string).trim();
    ctx.audit = { target: `command:${name}`, detail: { name } };
    const values = { name, command: (b.command as string).trim(), args: b.args ?? '', force_host: forceHostOf(b.force_host), created_by: ctx.user.username };
    try {
      const row = await ctx.deps.db.insertInto('commands').values(values).returning('id').executeTakeFirstOrThrow();
      ctx.audit.target = `command:${row.id}`;
    } catch (err) {
      if (isUniqueViolation(err)) return codoRefusal(-2, '名称不能重复', 'command_name');
      throw err;
    }
    return { code: 0, msg: '添加新命令成功' };
  },
});

const updateCommand = route({
  method: 'put',
  path: `${LAYOUT}/command/`,
  summary: 'Edit a command: command, args, force_host (the name is fixed) (CODO)',
  description: '0 编辑成功,名称不能修改; -1 ID不能为空; -1 参数不能为空 (command).',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  errors: [404],
  body: NewCommand.omit({ command_name: true }).extend({ command_id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    const id = b.command_id;
    ctx.audit = { target: id ? `command:${id}` : '' };
    if (id === undefined) return codoRefusal(-1, 'ID不能为空', 'command_id');
    if (isBlank(b.command)) return codoRefusal(-1, '参数不能为空', 'command');
    const row = await ctx.deps.db
      .updateTable('commands')
      .set({ command: (b.command as string).trim(), args: b.args ?? '', force_host: forceHostOf(b.force_host), updated_at: new Date() })
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw badField('command_id', `no command ${id}`, 404);
    return { code: 0, msg: '编辑成功,名称不能修改' };
  },
});

/** CODO's DELETE by id: -1 ID不能为空 without one, 404 for an unknown one, 0 删除成功. */
function deleteById(spec: { path: string; summary: string; idField: string; table: 'commands' | 'arg_labels'; target: string; noun: string }): AnyRoute {
  return route({
    method: 'delete',
    path: `${LAYOUT}/${spec.path}/`,
    summary: spec.summary,
    description: '0 删除成功; -1 ID不能为空.',
    tags: ['codo-layout'],
    action: 'template.write',
    style: 'codo',
    errors: [404],
    body: z.object({ [spec.idField]: codoId() }),
    response: OkReply,
    handler: async (ctx) => {
      const id = (ctx.body as Record<string, number | undefined>)[spec.idField];
      ctx.audit = { target: id ? `${spec.target}:${id}` : '' };
      if (id === undefined) return codoRefusal(-1, 'ID不能为空', spec.idField);
      const row = await ctx.deps.db.deleteFrom(spec.table).where('id', '=', id).returning('id').executeTakeFirst();
      if (!row) throw badField(spec.idField, `no ${spec.noun} ${id}`, 404);
      return { code: 0, msg: '删除成功' };
    },
  });
}

const deleteCommand = deleteById({ path: 'command', summary: 'Delete a command (CODO)', idField: 'command_id', table: 'commands', target: 'command', noun: 'command' });

const ArgRow = z.object({ args_id: z.number(), args_name: z.string(), args_self: z.string(), creator: z.string(), update_time: z.string() });

const listArgs = route({
  method: 'get',
  path: `${LAYOUT}/args/`,
  summary: 'Argument labels (参数对照表), CODO style: search_value prefix match, page, limit (over 200: all)',
  tags: ['codo-layout'],
  action: 'template.read',
  style: 'codo',
  query: ListQuery,
  links: [
    { method: 'put', path: `${LAYOUT}/args/`, requestBody: { args_id: '$response.body#/data/0/args_id' } },
    { method: 'delete', path: `${LAYOUT}/args/`, requestBody: { args_id: '$response.body#/data/0/args_id' } },
  ],
  response: z.object({ code: z.number(), msg: z.string(), data: z.array(ArgRow), count: z.number() }),
  handler: async (ctx) => {
    const search = ctx.query.search_value?.trim();
    let q = ctx.deps.db.selectFrom('arg_labels');
    if (search) {
      const like = prefixPattern(search);
      q = q.where((eb) => eb.or([eb(sql`id::text`, 'like', like), eb('label', 'ilike', like), eb('arg_key', 'ilike', like), eb('created_by', 'ilike', like)]));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    let rows = q.selectAll().orderBy('id');
    const window = pageWindow(ctx.query);
    if (window) rows = rows.offset(window.offset).limit(window.limit);
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const data = (await rows.execute()).map((a) => ({ args_id: a.id, args_name: a.label, args_self: a.arg_key, creator: a.created_by, update_time: codoTime(a.updated_at, tz) }));
    return { code: 0, msg: '获取成功', data, count: Number(n) };
  },
});

function argKeyOf(value: string): string {
  return value.trim();
}

const ArgBody = z.object({
  args_name: optionalText(100),
  args_self: blankOr(200, '[A-Za-z_][A-Za-z0-9_]{0,127}', 'a task argument name: letters, digits and _, not starting with a digit, at most 128'),
});

const createArg = route({
  method: 'post',
  path: `${LAYOUT}/args/`,
  summary: 'Add an argument label (CODO)',
  description: '0 添加成功; -1 参数不能为空 (args_name, args_self); -2 名称不能重复.',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  body: ArgBody,
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    if (isBlank(b.args_name) || isBlank(b.args_self)) return codoRefusal(-1, '参数不能为空', isBlank(b.args_name) ? 'args_name' : 'args_self');
    const label = (b.args_name as string).trim();
    const key = argKeyOf(b.args_self as string);
    ctx.audit = { target: `arg_label:${key}`, detail: { args_name: label, args_self: key } };
    try {
      await ctx.deps.db.insertInto('arg_labels').values({ label, arg_key: key, created_by: ctx.user.username }).execute();
    } catch (err) {
      if (isUniqueViolation(err)) return codoRefusal(-2, '名称不能重复', 'args_name');
      throw err;
    }
    return { code: 0, msg: '添加成功' };
  },
});

const updateArg = route({
  method: 'put',
  path: `${LAYOUT}/args/`,
  summary: 'Edit an argument label (CODO)',
  description: '0 编辑成功; -1 ID不能为空 (args_id or args_self missing, as CODO); -1 参数不能为空 (args_name); -2 名称不能重复.',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  errors: [404],
  body: ArgBody.extend({ args_id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    const id = b.args_id;
    ctx.audit = { target: id ? `arg_label:${id}` : '' };
    if (id === undefined || isBlank(b.args_self)) return codoRefusal(-1, 'ID不能为空', id === undefined ? 'args_id' : 'args_self');
    if (isBlank(b.args_name)) return codoRefusal(-1, '参数不能为空', 'args_name');
    const key = argKeyOf(b.args_self as string);
    ctx.audit.detail = { args_name: b.args_name, args_self: key };
    let row;
    try {
      row = await ctx.deps.db
        .updateTable('arg_labels')
        .set({ label: (b.args_name as string).trim(), arg_key: key, updated_at: new Date() })
        .where('id', '=', id)
        .returning('id')
        .executeTakeFirst();
    } catch (err) {
      if (isUniqueViolation(err)) return codoRefusal(-2, '名称不能重复', 'args_name');
      throw err;
    }
    if (!row) throw badField('args_id', `no argument label ${id}`, 404);
    return { code: 0, msg: '编辑成功' };
  },
});

const deleteArg = deleteById({ path: 'args', summary: 'Delete an argument label (CODO)', idField: 'args_id', table: 'arg_labels', target: 'arg_label', noun: 'argument label' });

export const codoCommandRoutes: AnyRoute[] = [listCommands, createCommand, updateCommand, deleteCommand, listArgs, createArg, updateArg, deleteArg];
