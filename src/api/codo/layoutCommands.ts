// CODO's command library (task_layout/command/) and argument labels (task_layout/args/), with
// CODO's keys, codes and messages (codo-task biz/handlers/templet_handler.py).
import { z } from 'zod';
import type { Db } from '../../db/database';
import { Refusal } from '../../domain/errors';
import * as library from '../../templates/commands';
import { route, type AnyRoute } from '../routing';
import { HOST_SOURCE } from '../wire';
import { badField, blankOr, codoId, codoRefusal, codoTime, isBlank, LAYOUT, ListQuery, OkReply, optionalText, pageWindow } from './layoutCommon';

/** A refusal for a taken name as CODO answers it (HTTP 200, -2 名称不能重复). */
function takenName<T>(field: string, work: () => Promise<T>): Promise<T | Record<string, unknown>> {
  return work().catch((err: unknown) => {
    if (err instanceof Refusal && err.kind === 'conflict') return codoRefusal(-2, '名称不能重复', field);
    throw err;
  });
}

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
    const { rows, count } = await library.listCommands(ctx.deps.db, { search: ctx.query.search_value, window: pageWindow(ctx.query) });
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const data = rows.map((c) => ({
      command_id: c.id,
      command_name: c.name,
      command: c.command,
      args: c.args,
      force_host: c.force_host,
      creator: c.created_by,
      create_time: codoTime(c.created_at, tz),
      update_time: codoTime(c.updated_at, tz),
    }));
    return { code: 0, msg: '获取成功', data, count };
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
    const input = { name, command: (b.command as string).trim(), args: b.args ?? '', force_host: b.force_host ?? null };
    return takenName('command_name', async () => {
      const row = await library.createCommand(ctx.deps.db, input, ctx.user.username);
      ctx.audit.target = `command:${row.id}`;
      return { code: 0, msg: '添加新命令成功' };
    });
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
    const row = await library.updateCommand(ctx.deps.db, id, { command: (b.command as string).trim(), args: b.args ?? '', force_host: forceHostOf(b.force_host) });
    if (!row) throw badField('command_id', `no command ${id}`, 404);
    return { code: 0, msg: '编辑成功,名称不能修改' };
  },
});

/** CODO's DELETE by id: -1 ID不能为空 without one, 404 for an unknown one, 0 删除成功. */
function deleteById(spec: { path: string; summary: string; idField: string; remove: (db: Db, id: number) => Promise<boolean>; target: string; noun: string }): AnyRoute {
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
      if (!(await spec.remove(ctx.deps.db, id))) throw badField(spec.idField, `no ${spec.noun} ${id}`, 404);
      return { code: 0, msg: '删除成功' };
    },
  });
}

const deleteCommand = deleteById({ path: 'command', summary: 'Delete a command (CODO)', idField: 'command_id', remove: library.deleteCommand, target: 'command', noun: 'command' });

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
    const { rows, count } = await library.listArgLabels(ctx.deps.db, { search: ctx.query.search_value, window: pageWindow(ctx.query) });
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const data = rows.map((a) => ({ args_id: a.id, args_name: a.label, args_self: a.arg_key, creator: a.created_by, update_time: codoTime(a.updated_at, tz) }));
    return { code: 0, msg: '获取成功', data, count };
  },
});

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
    const key = library.argKeyOf(b.args_self as string, 'args_self');
    ctx.audit = { target: `arg_label:${key}`, detail: { args_name: label, args_self: key } };
    return takenName('args_name', async () => {
      await library.createArgLabel(ctx.deps.db, label, key, ctx.user.username);
      return { code: 0, msg: '添加成功' };
    });
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
    const key = library.argKeyOf(b.args_self as string, 'args_self');
    ctx.audit.detail = { args_name: b.args_name, args_self: key };
    return takenName('args_name', async () => {
      if (!(await library.updateArgLabel(ctx.deps.db, id, (b.args_name as string).trim(), key))) throw badField('args_id', `no argument label ${id}`, 404);
      return { code: 0, msg: '编辑成功' };
    });
  },
});

const deleteArg = deleteById({ path: 'args', summary: 'Delete an argument label (CODO)', idField: 'args_id', remove: library.deleteArgLabel, target: 'arg_label', noun: 'argument label' });

export const codoCommandRoutes: AnyRoute[] = [listCommands, createCommand, updateCommand, deleteCommand, listArgs, createArg, updateArg, deleteArg];
