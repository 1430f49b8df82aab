// The command library (CODO's 脚本命令) and argument labels (参数对照表): the building blocks
// template steps are written from, and the labels the order view shows task arguments under.
import { sql } from 'kysely';
import type { Db } from '../db/database';
import { isUniqueViolation, prefixPattern, type PageWindow } from '../db/queryHelpers';
import { Refusal } from '../domain/errors';
import { isValidHost } from '../domain/hosts';

/** What a task argument may be called (the same rule as submitted arguments). */
export const ARG_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface CommandInput {
  name: string;
  command: string;
  args?: string;
  /** A host the command always runs on; '' or null: none. */
  force_host?: string | null;
}

function forceHostOf(value: string | null | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const host = value?.trim() || null;
  if (host !== null && !isValidHost(host)) throw new Refusal('invalid', 'force_host', 'not a valid address or host name');
  return host;
}

function uniqueCommandName(name: string, err: unknown): never {
  if (isUniqueViolation(err)) throw new Refusal('conflict', 'name', `a command named '${name}' already exists`, [{ field: 'name', problem: 'already exists' }]);
  throw err;
}

/** Commands by id; `search` is CODO's prefix match over id, name, command, args, force host and creator. */
export async function listCommands(db: Db, opts: { search?: string; window?: PageWindow | null } = {}) {
  let q = db.selectFrom('commands');
  const search = opts.search?.trim();
  if (search) {
    const like = prefixPattern(search);
    q = q.where((eb) => eb.or([eb(sql`id::text`, 'like', like), eb('name', 'ilike', like), eb('command', 'ilike', like), eb('args', 'ilike', like), eb('force_host', 'ilike', like), eb('created_by', 'ilike', like)]));
  }
  const { n } = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  let rows = q.selectAll().orderBy('id');
  if (opts.window) rows = rows.offset(opts.window.offset).limit(opts.window.limit);
  return { rows: await rows.execute(), count: Number(n) };
}

export async function findCommand(db: Db, id: number) {
  return db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Adds a command; a taken name is a conflict. */
export async function createCommand(db: Db, input: CommandInput, createdBy: string) {
  const values = { name: input.name, command: input.command, args: input.args ?? '', force_host: forceHostOf(input.force_host) ?? null, created_by: createdBy };
  try {
    return await db.insertInto('commands').values(values).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    return uniqueCommandName(input.name, err);
  }
}

/** Changes a command (fields absent are kept); undefined when there is no such command. */
export async function updateCommand(db: Db, id: number, input: Partial<CommandInput>) {
  const forceHost = forceHostOf(input.force_host);
  const set = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.command !== undefined ? { command: input.command } : {}),
    ...(input.args !== undefined ? { args: input.args } : {}),
    ...(forceHost !== undefined ? { force_host: forceHost } : {}),
    updated_at: new Date(),
  };
  try {
    return await db.updateTable('commands').set(set).where('id', '=', id).returningAll().executeTakeFirst();
  } catch (err) {
    return uniqueCommandName(input.name ?? '', err);
  }
}

/** false when there is no such command. */
export async function deleteCommand(db: Db, id: number): Promise<boolean> {
  return (await db.deleteFrom('commands').where('id', '=', id).returning('id').executeTakeFirst()) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// argument labels

/** An argument key as labels name it; `field` names the input in the refusal. */
export function argKeyOf(value: string, field: string): string {
  const key = value.trim();
  if (!ARG_KEY_RE.test(key)) throw new Refusal('invalid', field, 'a task argument name: letters, digits and _, not starting with a digit, at most 128');
  return key;
}

/** Labels by id; `search` is CODO's prefix match over id, label, key and creator. */
export async function listArgLabels(db: Db, opts: { search?: string; window?: PageWindow | null } = {}) {
  let q = db.selectFrom('arg_labels');
  const search = opts.search?.trim();
  if (search) {
    const like = prefixPattern(search);
    q = q.where((eb) => eb.or([eb(sql`id::text`, 'like', like), eb('label', 'ilike', like), eb('arg_key', 'ilike', like), eb('created_by', 'ilike', like)]));
  }
  const { n } = await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  let rows = q.selectAll().orderBy('id');
  if (opts.window) rows = rows.offset(opts.window.offset).limit(opts.window.limit);
  return { rows: await rows.execute(), count: Number(n) };
}

function uniqueLabel(label: string, err: unknown): never {
  if (isUniqueViolation(err)) throw new Refusal('conflict', 'label', `an argument label '${label}' already exists`);
  throw err;
}

/** Adds a label; a taken label is a conflict. */
export async function createArgLabel(db: Db, label: string, argKey: string, createdBy: string): Promise<void> {
  try {
    await db.insertInto('arg_labels').values({ label, arg_key: argKey, created_by: createdBy }).execute();
  } catch (err) {
    uniqueLabel(label, err);
  }
}

/** Changes a label; false when there is no such label, a conflict when the label is taken. */
export async function updateArgLabel(db: Db, id: number, label: string, argKey: string): Promise<boolean> {
  try {
    const row = await db.updateTable('arg_labels').set({ label, arg_key: argKey, updated_at: new Date() }).where('id', '=', id).returning('id').executeTakeFirst();
    return row !== undefined;
  } catch (err) {
    return uniqueLabel(label, err);
  }
}

/** false when there is no such label. */
export async function deleteArgLabel(db: Db, id: number): Promise<boolean> {
  return (await db.deleteFrom('arg_labels').where('id', '=', id).returning('id').executeTakeFirst()) !== undefined;
}

/** Argument key → its labels, in the order they were made (the order view shows an argument under each). */
export async function argLabelsByKey(db: Db): Promise<Map<string, string[]>> {
  const labels = new Map<string, string[]>();
  for (const r of await db.selectFrom('arg_labels').select(['arg_key', 'label']).orderBy('id').execute()) labels.set(r.arg_key, [...(labels.get(r.arg_key) ?? []), r.label]);
  return labels;
}
