// Templates and their steps: queries and rules for both dialects. Steps name exec users that
// exist; a submitted task keeps a frozen copy, so replacing steps never changes a task.
import type { Db } from '../db/database';
import { isForeignKeyViolation, isUniqueViolation } from '../db/queryHelpers';
import type { Template, TemplateStep } from '../db/schema';
import { Refusal } from '../domain/errors';
import { isValidHost } from '../domain/hosts';
import type { OnFailure, Trigger } from '../domain/statuses';
import { splitArgTokens } from '../domain/shellQuote';

/** One template step as the dialects hand it over (already checked for shape and ranges). */
export interface TemplateStepInput {
  group: number;
  level: number;
  name: string;
  command: string;
  /** Argument tokens: a string split on white space, or the tokens. */
  args?: string | string[];
  trigger: Trigger;
  exec_user: string;
  force_host?: string | null;
  timeout_s: number;
  retries: number;
  idempotent: boolean;
  on_failure: OnFailure;
}

export interface TemplateInput {
  name: string;
  description: string;
  allowed_submitters: string[];
  approvers: string[];
  max_parallel: number;
  max_hosts_per_group: number;
  steps: readonly TemplateStepInput[];
}

export interface StepView {
  id: number;
  group: number;
  level: number;
  name: string;
  command: string;
  args: string;
  trigger: Trigger;
  exec_user: string;
  force_host: string | null;
  timeout_s: number;
  retries: number;
  idempotent: boolean;
  on_failure: OnFailure;
}

export type TemplateWithSteps = Template & { steps: StepView[] };

/**
 * Exec users exist (409: stored state) and force hosts are addresses; `field` names the list in
 * refusals. Steps are told apart by id, so one name may appear twice in a group and level.
 */
export async function checkSteps(db: Db, steps: readonly TemplateStepInput[], field = 'steps'): Promise<void> {
  const aliases = [...new Set(steps.map((s) => s.exec_user))];
  const found = aliases.length ? await db.selectFrom('exec_users').select('alias').where('alias', 'in', aliases).execute() : [];
  const known = new Set(found.map((r) => r.alias));
  for (const [i, s] of steps.entries()) {
    if (!known.has(s.exec_user)) throw new Refusal('conflict', `${field}.${i}.exec_user`, `no exec user '${s.exec_user}' (create it under /api/v1/exec-users)`);
    if (s.force_host && !isValidHost(s.force_host)) throw new Refusal('invalid', `${field}.${i}.force_host`, 'not a valid address or host name');
  }
}

function stepRows(templateId: number, steps: readonly TemplateStepInput[]) {
  return steps.map((s) => ({
    template_id: templateId,
    group_no: s.group,
    level: s.level,
    name: s.name,
    command: s.command,
    args: Array.isArray(s.args) ? s.args.join(' ') : splitArgTokens(s.args ?? '').join(' '),
    trigger: s.trigger,
    exec_user: s.exec_user,
    force_host: s.force_host || null,
    timeout_s: s.timeout_s,
    retries: s.retries,
    idempotent: s.idempotent,
    on_failure: s.on_failure,
  }));
}

function stepView(s: TemplateStep): StepView {
  return {
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
  };
}

/** A template's steps in run order (group, level, then as entered). */
export async function templateSteps(db: Db, templateId: number): Promise<TemplateStep[]> {
  return db.selectFrom('template_steps').selectAll().where('template_id', '=', templateId).orderBy('group_no').orderBy('level').orderBy('id').execute();
}

export async function findTemplate(db: Db, id: number): Promise<Template | undefined> {
  return db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function readTemplate(db: Db, id: number): Promise<TemplateWithSteps | undefined> {
  const t = await findTemplate(db, id);
  if (!t) return undefined;
  return { ...t, steps: (await templateSteps(db, id)).map(stepView) };
}

/** Every template with its steps, by id. */
export async function listTemplatesWithSteps(db: Db): Promise<TemplateWithSteps[]> {
  const templates = await db.selectFrom('templates').selectAll().orderBy('id').execute();
  const steps = await db.selectFrom('template_steps').selectAll().orderBy('template_id').orderBy('group_no').orderBy('level').orderBy('id').execute();
  const byTemplate = new Map<number, StepView[]>();
  for (const s of steps) byTemplate.set(s.template_id, [...(byTemplate.get(s.template_id) ?? []), stepView(s)]);
  return templates.map((t) => ({ ...t, steps: byTemplate.get(t.id) ?? [] }));
}

/** Templates whose `column` equals `value` (all when no filter): CODO's temp/ list. */
export async function listTemplates(db: Db, filter?: { column: 'id'; value: number } | { column: 'name' | 'created_by'; value: string }) {
  let q = db.selectFrom('templates').select(['id', 'name', 'created_by']);
  if (filter?.column === 'id') q = q.where('id', '=', filter.value);
  else if (filter) q = q.where(filter.column, '=', filter.value);
  return q.orderBy('id').execute();
}

async function uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new Refusal('conflict', 'name', `a template named '${name}' already exists`, [{ field: 'name', problem: 'already exists' }]);
    throw err;
  }
}

/** Creates a template with its steps (checked); a taken name is a conflict. */
export async function createTemplate(db: Db, t: TemplateInput, createdBy: string): Promise<number> {
  await checkSteps(db, t.steps);
  return uniqueName(t.name, () =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('templates')
        .values({
          name: t.name,
          description: t.description,
          allowed_submitters: JSON.stringify(t.allowed_submitters),
          approvers: JSON.stringify(t.approvers),
          max_parallel: t.max_parallel,
          max_hosts_per_group: t.max_hosts_per_group,
          created_by: createdBy,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx.insertInto('template_steps').values(stepRows(row.id, t.steps)).execute();
      return row.id;
    }),
  );
}

/** Creates a template with no steps yet (CODO's temp/); undefined when the name is taken. */
export async function createEmptyTemplate(db: Db, name: string, createdBy: string): Promise<number | undefined> {
  try {
    const row = await db.insertInto('templates').values({ name, created_by: createdBy }).returning('id').executeTakeFirstOrThrow();
    return row.id;
  } catch (err) {
    if (isUniqueViolation(err)) return undefined;
    throw err;
  }
}

/** Replaces a template and all its steps; false when there is no such template. */
export async function replaceTemplate(db: Db, id: number, t: TemplateInput): Promise<boolean> {
  if (!(await findTemplate(db, id))) return false;
  await checkSteps(db, t.steps);
  await uniqueName(t.name, () =>
    db.transaction().execute(async (trx) => {
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
    }),
  );
  return true;
}

/** Replaces only the steps (checked; [] clears them); false when there is no such template. */
export async function replaceTemplateSteps(db: Db, id: number, steps: readonly TemplateStepInput[], field = 'steps'): Promise<boolean> {
  if (!(await findTemplate(db, id))) return false;
  await checkSteps(db, steps, field);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('template_steps').where('template_id', '=', id).execute();
    if (steps.length) await trx.insertInto('template_steps').values(stepRows(id, steps)).execute();
    await trx.updateTable('templates').set({ updated_at: new Date() }).where('id', '=', id).execute();
  });
  return true;
}

/**
 * Sets the template's approvers from user ids; each must be a user (a refusal naming
 * `${field}.<i>` otherwise). Returns the usernames, or undefined when there is no such template.
 */
export async function setTemplateApprovers(db: Db, id: number, userIds: readonly number[], field: string): Promise<string[] | undefined> {
  if (!(await findTemplate(db, id))) return undefined;
  const users = userIds.length ? await db.selectFrom('users').select(['id', 'username']).where('id', 'in', [...userIds]).execute() : [];
  const byId = new Map(users.map((u) => [u.id, u.username]));
  const missing = userIds.findIndex((u) => !byId.has(u));
  if (missing >= 0) throw new Refusal('conflict', `${field}.${missing}`, `no user with id ${userIds[missing]}`);
  const approvers = [...new Set(userIds.map((u) => byId.get(u) as string))];
  await db.updateTable('templates').set({ approvers: JSON.stringify(approvers), updated_at: new Date() }).where('id', '=', id).execute();
  return approvers;
}

/** Deletes a template no task uses (tasks keep theirs for history: a conflict); false when there is none. */
export async function deleteTemplate(db: Db, id: number): Promise<boolean> {
  try {
    const row = await db.deleteFrom('templates').where('id', '=', id).returning('id').executeTakeFirst();
    return row !== undefined;
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new Refusal('conflict', null, `template ${id} is used by tasks and is kept for their history`);
    throw err;
  }
}
