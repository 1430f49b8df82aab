// /api/v1/templates (with their steps) and /api/v1/commands (CODO's command library).
import { z } from 'zod';
import type { Db } from '../../db/database';
import { isValidHost } from '../../domain/hosts';
import { splitArgTokens } from '../../domain/shellQuote';
import { ON_FAILURE_POLICIES, TRIGGERS } from '../../domain/statuses';
import { route, type AnyRoute } from '../routing';
import { badInput, conflict, IdParams, isForeignKeyViolation, isUniqueViolation, notFound, text, Username, V1 } from './common';

/** One template step; also what CODO's task_layout/details/ PUT is checked against. */
export const StepIn = z
  .object({
    group: z.number().int().min(1).max(1000),
    level: z.number().int().min(0).max(1_000_000),
    name: text(200).pipe(z.string().trim().min(1, 'must not be empty')),
    command: text(10_000).pipe(z.string().trim().min(1, 'must not be empty')),
    args: z.union([text(2000), z.array(z.string().min(1).max(200).regex(/^\S+$/, 'one token, no spaces')).max(100)]).optional().describe('argument tokens: task argument names (values are quoted in), FLOW_ID, or literal words'),
    trigger: z.enum(TRIGGERS).default('order'),
    exec_user: z.string().min(1).max(64).describe('alias of an exec user'),
    force_host: z.string().max(253).nullable().optional(),
    timeout_s: z.number().int().min(1).max(86_400).default(1800),
    retries: z.number().int().min(0).max(10).default(2).describe('transport retries (connect/handshake)'),
    idempotent: z.boolean().default(false).describe('may be rerun automatically when a worker died mid-step'),
    on_failure: z.enum(ON_FAILURE_POLICIES).default('hold'),
  })
  .strict();

const TemplateIn = z
  .object({
    name: text(200).pipe(z.string().trim().min(1, 'must not be empty')),
    description: text(10_000).default(''),
    allowed_submitters: z.array(Username).max(1000).default([]).describe('usernames that may submit; [] = anyone whose role may'),
    approvers: z.array(Username).max(1000).default([]).describe('usernames that may approve besides admins and approvers'),
    max_parallel: z.number().int().min(1).max(1000).default(50),
    max_hosts_per_group: z.number().int().min(1).max(10_000).default(100),
    steps: z.array(StepIn).min(1).max(500),
  })
  .strict()
  .meta({ id: 'TemplateInput' });

export type TemplateStepInput = z.output<typeof StepIn>;

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

/** Exec users exist, force hosts are addresses, (group, level, name) unique; `field` names the list in errors. */
export async function checkSteps(db: Db, steps: readonly TemplateStepInput[], field = 'steps'): Promise<void> {
  const aliases = [...new Set(steps.map((s) => s.exec_user))];
  const found = aliases.length ? await db.selectFrom('exec_users').select('alias').where('alias', 'in', aliases).execute() : [];
  const known = new Set(found.map((r) => r.alias));
  const seen = new Set<string>();
  for (const [i, s] of steps.entries()) {
    if (!known.has(s.exec_user)) throw badInput(`${field}.${i}.exec_user`, `no exec user '${s.exec_user}' (create it under /api/v1/exec-users)`);
    if (s.force_host && !isValidHost(s.force_host)) throw badInput(`${field}.${i}.force_host`, 'not a valid address or host name');
    const key = `${s.group}|${s.level}|${s.name}`;
    if (seen.has(key)) throw badInput(`${field}.${i}`, `group ${s.group} level ${s.level} already has a step named '${s.name}'`);
    seen.add(key);
  }
}

export function stepRows(templateId: number, steps: readonly TemplateStepInput[]) {
  return steps.map((s) => ({
    template_id: templateId,
    group_no: s.group,
    level: s.level,
    name: s.name,
    command: s.command,
    args: Array.isArray(s.args) ? s.args.join(' ') : splitArgTokens(s.args).join(' '),
    trigger: s.trigger,
    exec_user: s.exec_user,
    force_host: s.force_host || null,
    timeout_s: s.timeout_s,
    retries: s.retries,
    idempotent: s.idempotent,
    on_failure: s.on_failure,
  }));
}

async function readTemplate(db: Db, id: number) {
  const t = await db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst();
  if (!t) return undefined;
  const steps = await db.selectFrom('template_steps').selectAll().where('template_id', '=', id).orderBy('group_no').orderBy('level').orderBy('id').execute();
  return {
    ...t,
    steps: steps.map((s) => ({
      id: s.id,
      group: s.group_no,
      level: s.level,
      name: s.name,
      command: s.command,
      args: s.args,
      trigger: s.trigger,
      exec_user: s.exec_user,
      force_host: s.force_host,
      timeout_s: s.timeout_s,
      retries: s.retries,
      idempotent: s.idempotent,
      on_failure: s.on_failure,
    })),
  };
}

const listTemplates = route({
  method: 'get',
  path: `${V1}/templates`,
  summary: 'List templates (with their steps)',
  tags: ['templates'],
  action: 'template.read',
  style: 'v1',
  response: z.object({ items: z.array(TemplateOut) }),
  handler: async (ctx) => {
    const ids = await ctx.deps.db.selectFrom('templates').select('id').orderBy('id').execute();
    const items = [];
    for (const { id } of ids) items.push(await readTemplate(ctx.deps.db, id));
    return { items };
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
    const t = await readTemplate(ctx.deps.db, ctx.params.id);
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
  body: TemplateIn,
  response: TemplateOut,
  successStatus: 201,
  handler: async (ctx) => {
    const t = ctx.body;
    ctx.audit.detail = { name: t.name, steps: t.steps.length };
    await checkSteps(ctx.deps.db, t.steps);
    let id: number;
    try {
      id = await ctx.deps.db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('templates')
          .values({
            name: t.name,
            description: t.description,
            allowed_submitters: JSON.stringify(t.allowed_submitters),
            approvers: JSON.stringify(t.approvers),
            max_parallel: t.max_parallel,
            max_hosts_per_group: t.max_hosts_per_group,
            created_by: ctx.user.username,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx.insertInto('template_steps').values(stepRows(row.id, t.steps)).execute();
        return row.id;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`name: a template named '${t.name}' already exists`, [{ field: 'name', problem: 'already exists' }]);
      throw err;
    }
    ctx.audit.target = `template:${id}`;
    return readTemplate(ctx.deps.db, id);
  },
});

const replaceTemplate = route({
  method: 'put',
  path: `${V1}/templates/:id`,
  summary: 'Replace a template and all its steps (submitted tasks keep their frozen copy)',
  tags: ['templates'],
  action: 'template.write',
  style: 'v1',
  params: IdParams,
  body: TemplateIn,
  response: TemplateOut,
  handler: async (ctx) => {
    const t = ctx.body;
    const id = ctx.params.id;
    ctx.audit = { target: `template:${id}`, detail: { name: t.name, steps: t.steps.length } };
    const existing = await ctx.deps.db.selectFrom('templates').select('id').where('id', '=', id).executeTakeFirst();
    if (!existing) throw notFound(`template ${id}`);
    await checkSteps(ctx.deps.db, t.steps);
    try {
      await ctx.deps.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('templates')
          .set({
            name: t.name,
            description: t.description,
            allowed_submitters: JSON.stringify(t.allowed_submitters),
            approvers: JSON.stringify(t.approvers),
            max_parallel: t.max_parallel,
            max_hosts_per_group: t.max_hosts_per_group,
            updated_at: new Date(),
          })
          .where('id', '=', id)
          .execute();
        await trx.deleteFrom('template_steps').where('template_id', '=', id).execute();
        await trx.insertInto('template_steps').values(stepRows(id, t.steps)).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`name: a template named '${t.name}' already exists`, [{ field: 'name', problem: 'already exists' }]);
      throw err;
    }
    return readTemplate(ctx.deps.db, id);
  },
});

const deleteTemplate = route({
  method: 'delete',
  path: `${V1}/templates/:id`,
  summary: 'Delete a template that no task uses',
  tags: ['templates'],
  action: 'template.write',
  style: 'v1',
  params: IdParams,
  successStatus: 200,
  handler: async (ctx) => {
    const id = ctx.params.id;
    ctx.audit.target = `template:${id}`;
    try {
      const row = await ctx.deps.db.deleteFrom('templates').where('id', '=', id).returning('id').executeTakeFirst();
      if (!row) throw notFound(`template ${id}`);
    } catch (err) {
      if (isForeignKeyViolation(err)) throw conflict(`template ${id} is used by tasks and is kept for their history`);
      throw err;
    }
    return { code: 0, msg: `template ${id} deleted` };
  },
});

// -------------------------------------------------------------------------------------------
// commands

const CommandIn = z
  .object({
    name: text(200).pipe(z.string().trim().min(1, 'must not be empty')),
    command: text(10_000).pipe(z.string().trim().min(1, 'must not be empty')),
    args: text(2000).default(''),
  })
  .strict()
  .meta({ id: 'CommandInput' });
const CommandOut = z.object({ id: z.number(), name: z.string(), command: z.string(), args: z.string(), created_by: z.string(), created_at: z.string() });

const listCommands = route({
  method: 'get',
  path: `${V1}/commands`,
  summary: 'List commands (脚本命令)',
  tags: ['commands'],
  action: 'template.read',
  style: 'v1',
  response: z.object({ items: z.array(CommandOut) }),
  handler: async (ctx) => ({ items: await ctx.deps.db.selectFrom('commands').selectAll().orderBy('id').execute() }),
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
    const row = await ctx.deps.db.selectFrom('commands').selectAll().where('id', '=', ctx.params.id).executeTakeFirst();
    if (!row) throw notFound(`command ${ctx.params.id}`);
    return row;
  },
});

/** Runs a write that may hit the unique command name, answering 409 naming the field. */
async function uniqueCommandName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`name: a command named '${name}' already exists`, [{ field: 'name', problem: 'already exists' }]);
    throw err;
  }
}

const createCommand = route({
  method: 'post',
  path: `${V1}/commands`,
  summary: 'Create a command',
  tags: ['commands'],
  action: 'template.write',
  style: 'v1',
  body: CommandIn,
  response: CommandOut,
  successStatus: 201,
  handler: async (ctx) => {
    const row = await uniqueCommandName(ctx.body.name, () =>
      ctx.deps.db.insertInto('commands').values({ ...ctx.body, created_by: ctx.user.username }).returningAll().executeTakeFirstOrThrow(),
    );
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
  params: IdParams,
  body: CommandIn,
  response: CommandOut,
  handler: async (ctx) => {
    ctx.audit = { target: `command:${ctx.params.id}`, detail: { name: ctx.body.name } };
    const row = await uniqueCommandName(ctx.body.name, () =>
      ctx.deps.db.updateTable('commands').set({ ...ctx.body, updated_at: new Date() }).where('id', '=', ctx.params.id).returningAll().executeTakeFirst(),
    );
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
  handler: async (ctx) => {
    ctx.audit.target = `command:${ctx.params.id}`;
    const row = await ctx.deps.db.deleteFrom('commands').where('id', '=', ctx.params.id).returning('id').executeTakeFirst();
    if (!row) throw notFound(`command ${ctx.params.id}`);
    return { code: 0, msg: `command ${ctx.params.id} deleted` };
  },
});

export const templateRoutes: AnyRoute[] = [listTemplates, getTemplate, createTemplate, replaceTemplate, deleteTemplate, listCommands, getCommand, createCommand, updateCommand, deleteCommand];
