// CODO's templates (task_layout/temp/) and their steps and users (task_layout/details/), with
// CODO's keys, codes and messages (codo-task biz/handlers/templet_handler.py). Steps are checked
// by the native step schema (v1/templates.ts) and the templates core, so both doors accept the
// same templates.
import { z, ZodError } from 'zod';
import type { Db } from '../../db/database';
import { usersByUsername } from '../../accounts/directory';
import { refusalsAbout } from '../../domain/errors';
import * as templates from '../../templates/templates';
import type { TemplateStepInput } from '../../templates/templates';
import { route, type AnyRoute, type AuditNote } from '../routing';
import { StepIn } from '../v1/templates';
import { Alias, text } from '../v1/common';
import { decimalRange, host, INT32_MAX, NOT_BLANK_RE, str, WS } from '../wire';
import { badField, codoId, codoIdQuery, codoInt, codoRefusal, idOf, isBlank, LAYOUT, OkReply, optionalText } from './layoutCommon';

/** The temp_id a write names (absent: undefined), recorded as the audit target. */
function auditedTemplateId(ctx: { audit: AuditNote }, value: unknown): number | undefined {
  const id = idOf(value, 'temp_id');
  ctx.audit = { target: id ? `template:${id}` : '' };
  return id;
}

function noTemplate(id: number): Error {
  return badField('temp_id', `no template ${id}`, 404);
}

// ---------------------------------------------------------------------------------------------
// temp/

const TEMP_KEYS = { temp_id: 'id', temp_name: 'name', creator: 'created_by' } as const;

/** A temp_id to look for: text that is no id matches no template (0). */
function idOrNone(value: string): number {
  const n = /^\s*\d{1,10}\s*$/.test(value) ? Number(value) : 0;
  return n <= INT32_MAX ? n : 0;
}

const listTemplates = route({
  method: 'get',
  path: `${LAYOUT}/temp/`,
  summary: 'Templates (CODO): all, or those whose key (temp_id, temp_name, creator) equals value',
  tags: ['codo-layout'],
  action: 'template.read',
  style: 'codo',
  query: z.object({
    key: z.enum([...(Object.keys(TEMP_KEYS) as (keyof typeof TEMP_KEYS)[]), ''], { error: `must be one of ${Object.keys(TEMP_KEYS).join(', ')}` }).optional().describe('the column value is compared with (none: every template)'),
    value: str(200).optional().describe('temp_id: an id (another text matches no template)'),
  }),
  response: z.object({ code: z.number(), msg: z.string(), data: z.array(z.object({ temp_id: z.number(), temp_name: z.string(), creator: z.string() })) }),
  handler: async (ctx) => {
    const { key, value } = ctx.query;
    let filter: Parameters<typeof templates.listTemplates>[1];
    if (key && value) {
      const column = TEMP_KEYS[key];
      filter = column === 'id' ? { column, value: idOrNone(value) } : { column, value };
    }
    const rows = await templates.listTemplates(ctx.deps.db, filter);
    return { code: 0, msg: '获取成功', data: rows.map((t) => ({ temp_id: t.id, temp_name: t.name, creator: t.created_by })) };
  },
});

const createTemplate = route({
  method: 'post',
  path: `${LAYOUT}/temp/`,
  summary: 'Create an empty template (CODO); add its steps with PUT details/',
  description: '0 模板创建成功，可以对此模板进行编辑了 (opsflow adds temp_id); -1 编排模板名称不能为空; -2 模板已存在.',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  body: z.object({ temp_name: optionalText(200) }),
  links: [
    { method: 'get', path: `${LAYOUT}/details/`, parameters: { 'query.temp_id': '$response.body#/temp_id' } },
    { method: 'put', path: `${LAYOUT}/details/`, requestBody: { temp_id: '$response.body#/temp_id' } },
    { method: 'patch', path: `${LAYOUT}/details/`, requestBody: { temp_id: '$response.body#/temp_id' } },
    { method: 'delete', path: `${LAYOUT}/temp/`, requestBody: { temp_id: '$response.body#/temp_id' } },
  ],
  response: z.object({ code: z.number(), msg: z.string(), temp_id: z.number().optional() }),
  handler: async (ctx) => {
    if (isBlank(ctx.body.temp_name)) return codoRefusal(-1, '编排模板名称不能为空', 'temp_name');
    const name = (ctx.body.temp_name as string).trim();
    ctx.audit = { target: `template:${name}`, detail: { name } };
    const id = await templates.createEmptyTemplate(ctx.deps.db, name, ctx.user.username);
    if (id === undefined) return codoRefusal(-2, '模板已存在', 'temp_name');
    ctx.audit.target = `template:${id}`;
    return { code: 0, msg: '模板创建成功，可以对此模板进行编辑了', temp_id: id };
  },
});

const deleteTemplate = route({
  method: 'delete',
  path: `${LAYOUT}/temp/`,
  summary: 'Delete a template that no task uses (CODO)',
  description: '0 删除成功; -1 不能为空; HTTP 409 when tasks use it (kept for their history).',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  errors: [404, 409],
  body: z.object({ temp_id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const id = auditedTemplateId(ctx, ctx.body.temp_id);
    if (id === undefined) return codoRefusal(-1, '不能为空', 'temp_id');
    if (!(await refusalsAbout('temp_id', () => templates.deleteTemplate(ctx.deps.db, id)))) throw noTemplate(id);
    return { code: 0, msg: '删除成功' };
  },
});

// ---------------------------------------------------------------------------------------------
// details/: GET steps and users, PUT replaces all steps, PATCH replaces the template's users

/** CODO's template users are `"<user_id>,,,<nickname>"`; opsflow keeps them as the template's approvers. */
async function templateUsers(db: Db, approvers: readonly string[]): Promise<string[]> {
  const users = await usersByUsername(db, approvers);
  const byName = new Map(users.map((u) => [u.username, u]));
  return approvers.flatMap((name) => {
    const u = byName.get(name);
    return u ? [`${u.id},,,${u.display_name || u.username}`] : [];
  });
}

const getDetails = route({
  method: 'get',
  path: `${LAYOUT}/details/`,
  summary: "A template's steps (temp_list) and users (temp_user) (CODO)",
  description: '0 获取模板详情成功; -1 模板ID不能为空. temp_user items are "<user_id>,,,<nickname>" (the template approvers).',
  tags: ['codo-layout'],
  action: 'template.read',
  style: 'codo',
  errors: [404],
  query: z.object({ temp_id: codoIdQuery() }),
  response: z.object({
    code: z.literal(0),
    msg: z.string(),
    data: z.object({
      temp_list: z.array(
        z.object({
          id: z.number(),
          temp_id: z.string(),
          group: z.number(),
          level: z.number(),
          command_name: z.string(),
          command: z.string(),
          args: z.string(),
          trigger: z.string(),
          exec_user: z.string(),
          force_host: z.string(),
          creator: z.string(),
          timeout_s: z.number(),
          retries: z.number(),
          idempotent: z.boolean(),
          on_failure: z.string(),
        }),
      ),
      temp_user: z.array(z.string()).describe('"<user_id>,,,<nickname>"'),
    }),
    temp_user: z.array(z.string()),
  }),
  handler: async (ctx) => {
    const id = ctx.query.temp_id;
    if (id === undefined) return codoRefusal(-1, '模板ID不能为空', 'temp_id');
    const template = await templates.readTemplate(ctx.deps.db, id);
    if (!template) throw noTemplate(id);
    const tempList = template.steps.map((s) => ({
      id: s.id,
      temp_id: String(id), // CODO kept temp_id as a string column here
      group: s.group,
      level: s.level,
      command_name: s.name,
      command: s.command,
      args: s.args,
      trigger: s.trigger,
      exec_user: s.exec_user,
      force_host: s.force_host ?? '',
      creator: template.created_by,
      // opsflow additions
      timeout_s: s.timeout_s,
      retries: s.retries,
      idempotent: s.idempotent,
      on_failure: s.on_failure,
    }));
    const tempUser = await templateUsers(ctx.deps.db, template.approvers);
    return { code: 0, msg: '获取模板详情成功', data: { temp_list: tempList, temp_user: tempUser }, temp_user: tempUser };
  },
});

/** CODO's step item; with its defaults it is what the native step schema (StepIn) accepts. */
const CodoStep = z.object({
  group: codoInt(1, 1000).nullable().optional().describe('default 99, as CODO'),
  level: codoInt(0, 1_000_000).nullable().optional().describe('default 99, as CODO'),
  command_name: str(200).regex(NOT_BLANK_RE, 'must not be empty'),
  command: str(10_000).regex(NOT_BLANK_RE, 'must not be empty'),
  args: text(2000).nullable().optional(),
  trigger: z.enum(['order', 'hand', 'timed']).optional().describe('default order'),
  exec_user: z.union([Alias, z.number().int().min(0).max(INT32_MAX)]).optional().describe("alias of an existing exec user (else 409; default 'root')"),
  force_host: z.union([z.literal(''), host()]).nullable().optional(),
  timeout_s: z.number().int().min(1).max(86_400).optional().describe('opsflow: default 1800'),
  retries: z.number().int().min(0).max(10).optional().describe('opsflow: default 2'),
  idempotent: z.boolean().optional().describe('opsflow: default false'),
  on_failure: z.enum(['hold', 'abort', 'continue']).optional().describe('opsflow: default hold'),
});

/** CODO's step item with its defaults, checked by the native step schema; errors name new_temp_data.<i>.<CODO key>. */
function toStep(item: z.output<typeof CodoStep>, i: number): TemplateStepInput {
  const field = `new_temp_data.${i}`;
  const result = StepIn.safeParse({
    group: item.group ?? 99,
    level: item.level ?? 99,
    name: item.command_name ?? '',
    command: item.command ?? '',
    args: item.args ?? '',
    trigger: item.trigger ?? 'order',
    exec_user: String(item.exec_user ?? 'root'),
    force_host: item.force_host || null,
    ...(item.timeout_s !== undefined ? { timeout_s: item.timeout_s } : {}),
    ...(item.retries !== undefined ? { retries: item.retries } : {}),
    ...(item.idempotent !== undefined ? { idempotent: item.idempotent } : {}),
    ...(item.on_failure !== undefined ? { on_failure: item.on_failure } : {}),
  });
  if (result.success) return result.data;
  const issue = (result.error as ZodError).issues[0];
  const key = issue?.path[0] === 'name' ? 'command_name' : String(issue?.path[0] ?? '');
  throw badField(key ? `${field}.${key}` : field, issue?.message ?? 'invalid step');
}

const replaceSteps = route({
  method: 'put',
  path: `${LAYOUT}/details/`,
  summary: 'Replace all steps of a template (CODO); submitted tasks keep their frozen copy',
  description: '0 修改成功; 0 模板内容清空 (empty new_temp_data); -1 模板ID不能为空; -1 参数不能为空 (no new_temp_data).',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  errors: [404, 409],
  body: z.object({ temp_id: codoId(), new_temp_data: z.array(CodoStep).max(500).nullable().optional().describe('the steps ([] clears the template)') }),
  response: OkReply,
  handler: async (ctx) => {
    const id = auditedTemplateId(ctx, ctx.body.temp_id);
    if (id === undefined) return codoRefusal(-1, '模板ID不能为空', 'temp_id');
    if (ctx.body.new_temp_data === undefined || ctx.body.new_temp_data === null) return codoRefusal(-1, '参数不能为空', 'new_temp_data');
    const steps = ctx.body.new_temp_data.map(toStep);
    ctx.audit.detail = { steps: steps.length };
    if (!(await templates.replaceTemplateSteps(ctx.deps.db, id, steps, 'new_temp_data'))) throw noTemplate(id);
    return steps.length ? { code: 0, msg: '修改成功' } : { code: 0, msg: '模板内容清空' };
  },
});

const replaceUsers = route({
  method: 'patch',
  path: `${LAYOUT}/details/`,
  summary: "Replace a template's users (CODO): they become the template's approvers",
  description:
    '0 修改成功; -1 模板ID不能为空; -1 参数不能为空 (no new_user_info). new_user_info items are "<user_id>,,,<nickname>" (the nickname is not checked); ' +
    'an id that is no user: HTTP 409.',
  tags: ['codo-layout'],
  action: 'template.write',
  style: 'codo',
  errors: [404, 409],
  body: z.object({
    temp_id: codoId(),
    new_user_info: z
      .array(str(200).regex(new RegExp(`^${WS}*0*${decimalRange(1, INT32_MAX)}${WS}*(?:,,,[^\\u0000]*)?$`), 'expected "<user_id>,,,<nickname>"'))
      .max(1000)
      .nullable()
      .optional(),
  }),
  response: OkReply,
  handler: async (ctx) => {
    const id = auditedTemplateId(ctx, ctx.body.temp_id);
    if (id === undefined) return codoRefusal(-1, '模板ID不能为空', 'temp_id');
    if (ctx.body.new_user_info === undefined || ctx.body.new_user_info === null) return codoRefusal(-1, '参数不能为空', 'new_user_info');
    // The schema checked each item's form ("<user_id>,,,<nickname>", spaces allowed around the id).
    const ids = ctx.body.new_user_info.map((item) => Number(item.split(',,,')[0]));
    const approvers = await templates.setTemplateApprovers(ctx.deps.db, id, ids, 'new_user_info');
    if (!approvers) throw noTemplate(id);
    ctx.audit.detail = { approvers };
    return { code: 0, msg: '修改成功' };
  },
});

export const codoTemplateRoutes: AnyRoute[] = [listTemplates, createTemplate, deleteTemplate, getDetails, replaceSteps, replaceUsers];
