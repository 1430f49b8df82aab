// Rules that moved out of the routes into the core modules (src/templates, src/execUsers,
// src/accounts), checked directly on a real PostgreSQL: each refusal says which field and why.
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenAs, listTokensAs, revokeTokenAs } from '../../../src/accounts/apiTokens';
import * as manage from '../../../src/accounts/manage';
import { createUser } from '../../../src/accounts/users';
import { Refusal } from '../../../src/domain/errors';
import * as execUsers from '../../../src/execUsers/execUsers';
import { hostKeyFromPublicKey, hostKeyToPin } from '../../../src/execUsers/knownHosts';
import { generateMasterKey, parseMasterKey, SecretBox } from '../../../src/security/secretBox';
import * as commands from '../../../src/templates/commands';
import * as templates from '../../../src/templates/templates';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let t: TestDatabase;
const box = new SecretBox(parseMasterKey(generateMasterKey()));
const keyPair = utils.generateKeyPairSync('ed25519');

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

/** The refusal `work` ends with. */
async function refusal(work: () => Promise<unknown>): Promise<Refusal> {
  const err = await work().then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Refusal);
  return err as Refusal;
}

const step = (over: Partial<templates.TemplateStepInput> = {}): templates.TemplateStepInput => ({
  group: 1,
  level: 1,
  name: 'say',
  command: 'echo',
  trigger: 'order',
  exec_user: 'deploy',
  timeout_s: 60,
  retries: 0,
  idempotent: false,
  on_failure: 'hold',
  ...over,
});

describe('exec users', () => {
  it('need a key or a password, refuse a taken alias, keep one secret, and are not deleted while used', async () => {
    expect(await refusal(() => execUsers.createExecUser(t.db, box, { alias: 'nokey', username: 'root', port: 22 }))).toMatchObject({ kind: 'invalid', field: 'private_key' });
    // The dialect's names for the fields are the ones refusals use.
    const codo = { alias: 'alias_user', username: 'exec_user', privateKey: 'user_key' };
    expect(await refusal(() => execUsers.createExecUser(t.db, box, { alias: 'has space', username: 'root', port: 22, password: 'pw' }, codo))).toMatchObject({ field: 'alias_user' });
    expect(await refusal(() => execUsers.createExecUser(t.db, box, { alias: 'k', username: 'root', port: 22, privateKey: 'not a key' }, codo))).toMatchObject({ field: 'user_key' });

    const u = await execUsers.createExecUser(t.db, box, { alias: 'deploy', username: 'root', port: 22, privateKey: keyPair.private });
    expect(u.private_key).toMatch(/^v1\./);
    expect(execUsers.isStoredKeyFingerprint(u, ` ${u.key_fingerprint} `)).toBe(true);
    expect(execUsers.execUserAuth(u)).toBe('key');
    const taken = await refusal(() => execUsers.createExecUser(t.db, box, { alias: 'deploy', username: 'root', port: 22, password: 'pw' }));
    expect(taken).toMatchObject({ kind: 'conflict', field: 'alias', message: "alias: an exec user 'deploy' already exists" });

    expect(await refusal(() => execUsers.updateExecUser(t.db, box, u, { privateKey: null }))).toMatchObject({ kind: 'conflict', field: 'private_key' });
    const both = await execUsers.updateExecUser(t.db, box, u, { password: 'pw' });
    expect(execUsers.execUserAuth(both)).toBe('key+password');

    await templates.createTemplate(t.db, { name: 'uses deploy', description: '', allowed_submitters: [], approvers: [], max_parallel: 5, max_hosts_per_group: 10, steps: [step()] }, 'adm');
    const used = await refusal(() => execUsers.deleteExecUser(t.db, both));
    expect(used).toMatchObject({ kind: 'conflict', field: null });
    expect(used.message).toMatch(/^exec user 'deploy' is used by template \d+$/);
    expect(used.about('exec_user_id').message).toMatch(/^exec_user_id: exec user 'deploy' is used/);
  });

  it('pin host keys from an OpenSSH public key line, or a type and fingerprint', () => {
    const pinned = hostKeyFromPublicKey(keyPair.public);
    expect(pinned.key_type).toBe('ssh-ed25519');
    expect(pinned.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(() => hostKeyFromPublicKey('ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==')).toThrow(/does not match its type/);
    expect(() => hostKeyToPin({})).toThrow(/public_key: give public_key/);
  });
});

describe('templates', () => {
  it('check steps: known exec users (409), valid force hosts; one name may repeat in a group and level', async () => {
    const t1 = await refusal(() => templates.checkSteps(t.db, [step({ exec_user: 'ghost' })]));
    expect(t1).toMatchObject({ kind: 'conflict', field: 'steps.0.exec_user' });
    expect(await refusal(() => templates.checkSteps(t.db, [step({ force_host: 'not a host!' })], 'new_temp_data'))).toMatchObject({ field: 'new_temp_data.0.force_host' });
    // Steps are told apart by id (what CODO's details/ PUT does too).
    await expect(templates.checkSteps(t.db, [step(), step()])).resolves.toBeUndefined();
  });

  it('refuse a taken name, approvers that are not users, and deleting a template tasks use', async () => {
    const input = { name: 'tpl', description: 'd', allowed_submitters: [], approvers: [], max_parallel: 5, max_hosts_per_group: 10, steps: [step({ args: 'A B' })] };
    const id = await templates.createTemplate(t.db, input, 'adm');
    expect((await templates.readTemplate(t.db, id))?.steps[0]).toMatchObject({ args: 'A B', group: 1 });
    expect(await refusal(() => templates.createTemplate(t.db, input, 'adm'))).toMatchObject({ kind: 'conflict', field: 'name' });
    expect(await templates.replaceTemplate(t.db, 999_999, input)).toBe(false);
    expect(await templates.createEmptyTemplate(t.db, 'tpl', 'adm')).toBeUndefined();

    await createUser(t.db, box, { username: 'ann', role: 'approver' });
    const ann = await t.db.selectFrom('users').select('id').where('username', '=', 'ann').executeTakeFirstOrThrow();
    expect(await templates.setTemplateApprovers(t.db, id, [ann.id], 'new_user_info')).toEqual(['ann']);
    expect(await refusal(() => templates.setTemplateApprovers(t.db, id, [ann.id, 987_654], 'new_user_info'))).toMatchObject({ field: 'new_user_info.1', problem: 'no user with id 987654' });

    await t.db
      .insertInto('tasks')
      .values({ task_name: 'x', submitter: 'adm', creator: 'adm', template_id: id, schedule: 'new', exec_time: null, args: '{}', hosts: '{}', status: 'pending_approval', idempotency_key: null })
      .execute();
    expect(await refusal(() => templates.deleteTemplate(t.db, id))).toMatchObject({ kind: 'conflict', message: `template ${id} is used by tasks and is kept for their history` });
    expect(await templates.deleteTemplate(t.db, 999_999)).toBe(false);
  });

  it('commands and argument labels: unique names, checked force hosts and argument keys, prefix search', async () => {
    await commands.createCommand(t.db, { name: 'greet', command: 'echo hi' }, 'op');
    expect(await refusal(() => commands.createCommand(t.db, { name: 'greet', command: 'x' }, 'op'))).toMatchObject({ kind: 'conflict', field: 'name' });
    expect(await refusal(() => commands.createCommand(t.db, { name: 'bad', command: 'x', force_host: 'not a host!' }, 'op'))).toMatchObject({ field: 'force_host' });
    expect((await commands.listCommands(t.db, { search: 'gre' })).count).toBe(1);
    expect(() => commands.argKeyOf('1abc', 'args_self')).toThrow(/^args_self: /);
    await commands.createArgLabel(t.db, '主机名', 'HOSTNAME', 'op');
    expect(await refusal(() => commands.createArgLabel(t.db, '主机名', 'OTHER', 'op'))).toMatchObject({ kind: 'conflict' });
    expect((await commands.argLabelsByKey(t.db)).get('HOSTNAME')).toEqual(['主机名']);
  });
});

describe('people', () => {
  it('keep the last active admin, end sessions on disable, and reset passwords only to strong ones', async () => {
    await createUser(t.db, box, { username: 'root-admin', role: 'admin' });
    expect(await refusal(() => manage.updateUser(t.db, 'root-admin', { disabled: true }))).toMatchObject({ kind: 'conflict' });
    await createUser(t.db, box, { username: 'op1', role: 'operator' });
    const op = await t.db.selectFrom('users').select('id').where('username', '=', 'op1').executeTakeFirstOrThrow();
    await t.db.insertInto('sessions').values({ token_hash: 'h-op1', user_id: op.id, expires_at: new Date(Date.now() + 60_000) }).execute();
    const disabled = await manage.updateUser(t.db, 'op1', { disabled: true });
    expect(disabled).toMatchObject({ disabled: true, locked_until: null, locked_addresses: [] });
    expect(await t.db.selectFrom('sessions').select('id').where('user_id', '=', op.id).execute()).toEqual([]);
    expect(await manage.updateUser(t.db, 'nobody', { disabled: true })).toBeUndefined();
    expect(await refusal(() => manage.resetPassword(t.db, 'op1', 'short'))).toMatchObject({ field: 'password' });
    expect((await manage.resetPassword(t.db, 'op1'))?.password).toEqual(expect.any(String));
  });

  it('tokens: anyone their own, admins anyone’s; others’ tokens look missing', async () => {
    const adm = { username: 'root-admin', displayName: 'root-admin', role: 'admin' as const };
    const op = { username: 'op1', displayName: 'op1', role: 'operator' as const };
    await refusal(() => listTokensAs(t.db, op, { all: true })).then((r) => expect(r.kind).toBe('forbidden'));
    await refusal(() => createTokenAs(t.db, op, { name: 'x', username: 'root-admin' })).then((r) => expect(r.kind).toBe('forbidden'));
    expect(await refusal(() => createTokenAs(t.db, adm, { name: 'x', expiresAt: new Date(Date.now() + 1000), expiresInDays: 1 }))).toMatchObject({ field: 'expires_at' });
    expect(await refusal(() => createTokenAs(t.db, adm, { name: 'x', username: 'nobody' }))).toMatchObject({ kind: 'not_found', message: "user 'nobody' not found" });
    const { info, expiresAt } = await createTokenAs(t.db, adm, { name: 'ci', username: 'op1', expiresInDays: 2 });
    expect(expiresAt!.getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    expect((await listTokensAs(t.db, op, {})).map((x) => x.id)).toEqual([info.id]);
    const mine = await createTokenAs(t.db, adm, { name: 'mine' });
    expect(await refusal(() => revokeTokenAs(t.db, op, mine.info.id))).toMatchObject({ kind: 'not_found' });
    await revokeTokenAs(t.db, adm, info.id);
    expect(await refusal(() => revokeTokenAs(t.db, op, info.id))).toMatchObject({ kind: 'conflict' });
  });
});
