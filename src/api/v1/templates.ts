// /api/v1/templates (with their steps) and /api/v1/commands (CODO's command library).
import { z } from 'zod';
import * as commands from '../../templates/commands';
import * as templates from '../../templates/templates';
import { ON_FAILURE_POLICIES, TRIGGERS } from '../../domain/statuses';
import { CODO_MAX_HOSTS_PER_GROUP, MAX_HOSTS_PER_GROUP } from '../../tasks/submit';
import { route, type AnyRoute } from '../routing';
import { host, nonBlank, str, TOKEN_RE } from '../wire';
import { Alias, Done, IdParams, notFound, text, Username, V1 } from './common';

/** One template step; also what CODO's task_layout/details/ PUT is checked against. */
export const StepIn = z
  .object({
    group: z.number().int().min(1).max(1000),
    level: z.number().int().min(0).max(1_000_000),
    name: nonBlank(200),
    command: nonBlank(10_000),
    args: z.union([text(2000), z.array(str(200, 1).regex(TOKEN_RE, 'one token, no spaces')).max(100)]).optional().describe('argument tokens: task argument names (values are quoted in), FLOW_ID, or literal words'),
    trigger: z.enum(TRIGGERS).default('order'),
    exec_user: Alias.describe('alias of an existing exec user (else 409)'),
    force_host: z.union([z.literal(''), host()]).nullable().optional().describe('run this step on this host instead ("" or null: no)'),
    timeout_s: z.number().int().min(1).max(86_400).default(1800),
    retries: z.number().int().min(0).max(10).default(2).describe('transport retries (connect/handshake)'),
    idempotent: z.boolean().default(false).describe('may be rerun automatically when a worker died mid-step'),
    on_failure: z.enum(ON_FAILURE_POLICIES).default('hold'),
  })
  .strict();

const TemplateIn = z
  .object({
    name: nonBlank(200),
    description: text(10_000).default(''),
    allowed_submitters: z.array(Username).max(1000).default([]).describe('usernames that may submit; [] = anyone whose role may'),
    approvers: z.array(Username).max(1000).default([]).describe('usernames that may approve besides admins and approvers'),
    max_parallel: z.number().int().min(1).max(1000).default(50),
    max_hosts_per_group: z.number().int().min(1).max(MAX_HOSTS_PER_GROUP).default(CODO_MAX_HOSTS_PER_GROUP),
    steps: z.array(StepIn).min(1).max(500),
  })
  .strict()
  .meta({
    id: 'TemplateInput',
    examples: [
      {
        name: 'deploy web',
        description: 'fetch, then restart after a hand check',
        steps: [
          { group: 1, level: 1, name: 'fetch', command: '/opt/deploy/fetch.sh', args: 'VERSION', exec_user: 'deploy' },
          { group: 1, level: 2, name: 'check', command: 'true', trigger: 'hand', exec_user: 'deploy' },
          { group: 1, level: 3, name: 'restart', command: 'systemctl restart web', exec_user: 'deploy', on_failure: 'abort' },
        ],
      },
    ],
  });

const StepOut = z.object({
  id: z.number(),
  group: z.number(),
  level: z.number(),
  name: z.string(),
  command: z.string(),
  args: z.string(),
  trigger: z.string(),
  exec_user: z.string(),
  force_host: z.string().nullable(),
  timeout_s: z.number(),
  retries: z.number(),
  idempotent: z.boolean(),
  on_failure: z.string(),
});
const TemplateOut = z
  .object({
    id: z.number(),
    name: z.string(),
    description: z.string(),
    allowed_submitters: z.array(z.string()),
    approvers: z.array(z.string()),
    max_parallel: z.number(),
    max_hosts_per_group: z.number(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    steps: z.array(StepOut),
  })
  .meta({ id: 'Template' });

const listTemplates = route({
  method: 'get',
  path: `${V1}/templates`,
  summary: 'List templates (with their steps)',
  tags: ['templates'],
  action: 'template.read',
  style: 'v1',
  response: z.object({ items: z.array(TemplateOut) }),
  handler: async (ctx) => {
    return { items: await templates.listTemplatesWithSteps(ctx.deps.db) };
  },
});

const getTemplate = route({
  method: 'get',
  path: `${V1}/templates/:id`,
  summary: 'A template with its steps',
  tags: ['templates'],
  action: 'template.read',
  style: 'v1',
  params: IdParams,
  response: TemplateOut,
  handler: async (ctx) => {
    const t = await templates.readTemplate(ctx.deps.db, ctx.params.id);
    if (!t) throw notFound(`template ${ctx.params.id}`);
    return t;
  },
});

const createTemplate = route({
  method: 'post',
  path: `${V1}/templates`,
  summary: 'Create a template with its steps',
  tags: ['templates'],
  action: 'template.write',
  style: 'v1',
  errors: [409],
  body: TemplateIn,
  links: [{ method: 'post', path: `${V1}/tasks`, requestBody: { template_id: '$response.body#/id' } }],
  response: TemplateOut,
  successStatus: 201,
  handler: async (ctx) => {
    const t = ctx.body;
    ctx.audit.detail = { name: t.name, steps: t.steps.length };
    const id = await templates.createTemplate(ctx.deps.db, t, ctx.user.username);
    ctx.audit.target = `template:${id}`;
    return templates.readTemplate(ctx.deps.db, id);
  },
});

const replaceTemplate = route({
  method: 'put',
  path: `${V1}/templates/:id`,
  summary: 'Replace a template and all its steps (submitted tasks keep their frozen copy)',
  tags: ['templates'],
  action: 'template.write',
  style: 'v1',
  errors: [409],
  params: IdParams,
  body: TemplateIn,
  response: TemplateOut,
  handler: async (ctx) => {
    const t = ctx.body;
    const id = ctx.params.id;
    ctx.audit = { target: `template:${id}`, detail: { name: t.name, steps: t.steps.length } };
    if (!(await templates.replaceTemplate(ctx.deps.db, id, t))) throw notFound(`template ${id}`);
    return templates.readTemplate(ctx.deps.db, id);
  },
});

const deleteTemplate = route({
  method: 'delete',
  path: `${V1}/templates/:id`,
  summary: 'Delete a template that no task uses',
  tags: ['templates'],
  action: 'template.write',
  style: 'v1',
  errors: [409],
  params: IdParams,
  response: Done,
  successStatus: 200,
  handler: async (ctx) => {
    const id = ctx.params.id;
    ctx.audit.target = `template:${id}`;
    if (!(await templates.deleteTemplate(ctx.deps.db, id))) throw notFound(`template ${id}`);
    return { code: 0, msg: `template ${id} deleted` };
  },
});

// -------------------------------------------------------------------------------------------
// commands

const CommandIn = z
  .object({
    name: nonBlank(200),
    command: nonBlank(10_000),
    args: text(2000).default(''),
  })
  .strict()
  .meta({ id: 'CommandInput', examples: [{ name: 'disk usage', command: 'df -h', args: '' }] });
const CommandOut = z.object({
  id: z.number(),
  name: z.string(),
  command: z.string(),
  args: z.string(),
  force_host: z.string().nullable().describe("CODO's force_host (set through task_layout/command/)"),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

const listCommands = route({
  method: 'get',
  path: `${V1}/commands`,
  summary: 'List commands (脚本命令)',
  tags: ['commands'],
  action: 'template.read',
  style: 'v1',
  response: z.object({ items: z.array(CommandOut) }),
  handler: async (ctx) => ({ items: (await commands.listCommands(ctx.deps.db)).rows }),
});

const getCommand = route({
  method: 'get',
  path: `${V1}/commands/:id`,
  summary: 'A command',
  tags: ['commands'],
  action: 'template.read',
  style: 'v1',
  params: IdParams,
  response: CommandOut,
  handler: async (ctx) => {
    const row = await commands.findCommand(ctx.deps.db, ctx.params.id);
    if (!row) throw notFound(`command ${ctx.params.id}`);
    return row;
  },
});

const createCommand = route({
  method: 'post',
  path: `${V1}/commands`,
  summary: 'Create a command',
  tags: ['commands'],
  action: 'template.write',
  style: 'v1',
  errors: [409],
  body: CommandIn,
  response: CommandOut,
  successStatus: 201,
  handler: async (ctx) => {
    const row = await commands.createCommand(ctx.deps.db, ctx.body, ctx.user.username);
    ctx.audit = { target: `command:${row.id}`, detail: { name: row.name } };
    return row;
  },
});

const updateCommand = route({
  method: 'put',
  path: `${V1}/commands/:id`,
  summary: 'Replace a command',
  tags: ['commands'],
  action: 'template.write',
  style: 'v1',
  errors: [409],
  params: IdParams,
  body: CommandIn,
  response: CommandOut,
  handler: async (ctx) => {
    ctx.audit = { target: `command:${ctx.params.id}`, detail: { name: ctx.body.name } };
    const row = await commands.updateCommand(ctx.deps.db, ctx.params.id, ctx.body);
    if (!row) throw notFound(`command ${ctx.params.id}`);
    return row;
  },
});

const deleteCommand = route({
  method: 'delete',
  path: `${V1}/commands/:id`,
  summary: 'Delete a command',
  tags: ['commands'],
  action: 'template.write',
  style: 'v1',
  params: IdParams,
  response: Done,
  handler: async (ctx) => {
    ctx.audit.target = `command:${ctx.params.id}`;
    if (!(await commands.deleteCommand(ctx.deps.db, ctx.params.id))) throw notFound(`command ${ctx.params.id}`);
    return { code: 0, msg: `command ${ctx.params.id} deleted` };
  },
});

export const templateRoutes: AnyRoute[] = [listTemplates, getTemplate, createTemplate, replaceTemplate, deleteTemplate, listCommands, getCommand, createCommand, updateCommand, deleteCommand];
