/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// CODO's template management (/api/task/v2/task_layout/…) against the real stack: exec users
// whose keys are sealed and never shown, commands, argument labels, templates whose steps are
// replaced by PUT details/, and a task submitted through CODO's accept/ that runs those steps
// over SSH on 127.0.0.x with the exec user created here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execUserSecretContext } from '../../../src/security/secretContexts';
import { eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

const HOST = '127.0.0.71';
const L = '/api/task/v2/task_layout';
let stack: ApiStack;
let admin: TestUser;
let op: TestUser;
let viewer: TestUser;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: [HOST, '127.0.0.72'] });
  admin = await stack.addUser('adm', 'admin');
  op = await stack.addUser('op', 'operator');
  viewer = await stack.addUser('vic', 'viewer');
  await stack.addUser('ann', 'approver', { displayName: 'Ann' });
});
afterAll(async () => {
  await stack?.close();
});

const call = (method: string, path: string, user: TestUser, body?: unknown) => stack.request(method, `${L}${path}`, { token: user.token, ...(body === undefined ? {} : { body }) });

describe('user/ (exec users)', () => {
  it('creates an exec user with CODO keys; the key is sealed at rest and GET shows only its fingerprint', async () => {
    const sshd = stack.sshd!;
    const created = await call('POST', '/user/', admin, { alias_user: 'deploy', exec_user: sshd.username, ssh_port: String(sshd.port), user_key: sshd.clientPrivateKey, remarks: '发布用户' });
    expect(created.status).toBe(200);
    expect(created.text).toBe('{"code":0,"msg":"添加成功"}');

    const list = await call('GET', '/user/', op); // operators may read exec users
    expect(list.json).toMatchObject({ code: 0, msg: '获取成功' });
    const row = list.json.data.find((u: any) => u.alias_user === 'deploy');
    expect(Object.keys(row).slice(0, 8)).toEqual(['id', 'alias_user', 'exec_user', 'ssh_port', 'password', 'user_key', 'remarks', 'update_time']);
    expect(row).toMatchObject({ exec_user: sshd.username, ssh_port: sshd.port, password: '', remarks: '发布用户', has_password: false });
    expect(row.user_key).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(row.user_key).toBe(row.key_fingerprint);
    expect(row.update_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // Nothing of the key anywhere in the reply.
    const keyBody = sshd.clientPrivateKey.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(list.text).not.toContain('PRIVATE KEY');
    for (const line of keyBody) expect(list.text).not.toContain(line);

    // At rest: sealed, bound to the alias, opens to the key given.
    const stored = await stack.database.db.selectFrom('exec_users').selectAll().where('alias', '=', 'deploy').executeTakeFirstOrThrow();
    expect(stored.private_key).toMatch(/^v1\./);
    expect(stack.box.open(stored.private_key!, execUserSecretContext.privateKey('deploy'))).toBe(sshd.clientPrivateKey);
    // …and the audit trail has no key material either.
    const audit = await stack.database.db.selectFrom('audit_log').select(['action', 'detail', 'result']).where('target', '=', 'exec_user:deploy').execute();
    expect(audit.map((a) => [a.action, a.result])).toEqual([['exec_user.write', 'ok']]);
    expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');

    // PUT with the fingerprint sent back (as CODO's console does) keeps the key.
    const edited = await call('PUT', '/user/', admin, { ...row, remarks: '改过', user_key: row.user_key });
    expect(edited.text).toBe('{"code":0,"msg":"编辑成功"}');
    const after = await stack.database.db.selectFrom('exec_users').selectAll().where('alias', '=', 'deploy').executeTakeFirstOrThrow();
    expect(after.remarks).toBe('改过');
    expect(stack.box.open(after.private_key!, execUserSecretContext.privateKey('deploy'))).toBe(sshd.clientPrivateKey);
  });

  it("answers CODO's refusals byte for byte and names the field for input CODO never checked", async () => {
    const sshd = stack.sshd!;
    const base = { alias_user: 'other', exec_user: 'root', ssh_port: 22, user_key: sshd.clientPrivateKey };
    const codo = async (method: string, body: unknown) => {
      const r = await call(method, '/user/', admin, body);
      expect(r.status).toBe(200);
      return { code: r.json.code, msg: r.json.msg };
    };
    expect(await codo('POST', { ...base, user_key: '' })).toEqual({ code: -1, msg: '参数不能为空' });
    expect(await codo('POST', { ...base, alias_user: undefined })).toEqual({ code: -1, msg: '参数不能为空' });
    expect(await codo('POST', { ...base, alias_user: '发布' })).toEqual({ code: -1, msg: '名称不能有汉字' });
    expect(await codo('POST', { ...base, alias_user: 'deploy' })).toEqual({ code: -2, msg: '名称不能重复' });
    expect(await codo('PUT', { id: 1, exec_user: '', user_key: 'x' })).toEqual({ code: -1, msg: '不能为空' });
    expect(await codo('PUT', { id: 1, alias_user: '项目', exec_user: 'root', user_key: 'x' })).toEqual({ code: -2, msg: '项目代号或者英文名称不能有汉字' });
    expect(await codo('PUT', { id: 1, exec_user: '根', user_key: 'x' })).toEqual({ code: -1, msg: '系统用户名称不能有汉字' });
    expect(await codo('DELETE', {})).toEqual({ code: -1, msg: 'ID不能为空' });

    const bad = async (method: string, body: unknown, status: number, field: string) => {
      const r = await call(method, '/user/', admin, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.code).toBeLessThan(0);
      expect(r.json.msg.startsWith(`${field}: `), r.json.msg).toBe(true);
      expect(r.json.details[0].field).toBe(field);
    };
    await bad('POST', { ...base, user_key: 'not a key' }, 422, 'user_key'); // well-formed text, but no key
    await bad('POST', { ...base, ssh_port: 70000 }, 400, 'ssh_port');
    await bad('POST', { ...base, alias_user: 'has space' }, 400, 'alias_user');
    await bad('POST', { ...base, exec_user: 'root; rm -rf /' }, 400, 'exec_user');
    await bad('POST', { ...base, remarks: 42 }, 400, 'remarks');
    await bad('PUT', { id: 'x1', exec_user: 'root', user_key: 'k' }, 400, 'id');
    await bad('PUT', { id: 999999, exec_user: 'root', user_key: 'k' }, 404, 'id');
    await bad('DELETE', { exec_user_id: 999999 }, 404, 'exec_user_id');
    expect(await stack.database.db.selectFrom('exec_users').select('alias').where('alias', '=', 'other').execute()).toHaveLength(0);
  });

  it('permission refusals come from the permission table: operators read, only admins write, viewers neither', async () => {
    const w = await call('POST', '/user/', op, { alias_user: 'x', exec_user: 'root', user_key: 'k' });
    expect(w.status).toBe(403);
    expect(w.json.code).toBe(-2);
    expect(w.json.msg).toContain('permission denied: exec_user.write');
    const r = await call('GET', '/user/', viewer);
    expect(r.status).toBe(403);
    expect(r.json.msg).toContain('permission denied: exec_user.read');
    const anonymous = await stack.request('GET', `${L}/user/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ code: 401, msg: '你没有登录', details: null });
  });
});

describe('command/ and args/', () => {
  it('adds, lists, searches, edits and deletes commands with CODO keys and messages', async () => {
    const add = await call('POST', '/command/', op, { command_name: 'greet', command: 'echo hello', args: 'WHO FLOW_ID', force_host: '' });
    expect(add.text).toBe('{"code":0,"msg":"添加新命令成功"}');
    expect((await call('POST', '/command/', op, { command_name: 'greet', command: 'echo' })).json).toMatchObject({ code: -2, msg: '名称不能重复' });
    expect((await call('POST', '/command/', op, { command_name: 'empty' })).json).toMatchObject({ code: -1, msg: '参数不能为空' });
    await call('POST', '/command/', op, { command_name: 'uptime', command: 'uptime', force_host: '127.0.0.72' });

    const list = await call('GET', '/command/', viewer);
    expect(list.json).toMatchObject({ code: 0, msg: '获取成功', count: 2 });
    const greet = list.json.data[0];
    expect(Object.keys(greet)).toEqual(['command_id', 'command_name', 'command', 'args', 'force_host', 'creator', 'create_time', 'update_time']);
    expect(greet).toMatchObject({ command_name: 'greet', command: 'echo hello', args: 'WHO FLOW_ID', force_host: null, creator: 'op' });
    expect(list.json.data[1].force_host).toBe('127.0.0.72');
    expect((await call('GET', '/command/?search_value=upt', viewer)).json).toMatchObject({ count: 1, data: [{ command_name: 'uptime' }] });
    expect((await call('GET', '/command/?page=2&limit=1', viewer)).json).toMatchObject({ count: 2, data: [{ command_name: 'uptime' }] });
    // The native API sees the same library.
    expect((await stack.request('GET', '/api/v1/commands', { token: op.token })).json.items.map((c: any) => c.name)).toEqual(['greet', 'uptime']);

    const put = await call('PUT', '/command/', op, { command_id: String(greet.command_id), command: 'echo hi', args: 'WHO', force_host: null });
    expect(put.text).toBe('{"code":0,"msg":"编辑成功,名称不能修改"}');
    expect((await call('GET', '/command/?search_value=greet', viewer)).json.data[0]).toMatchObject({ command: 'echo hi', args: 'WHO' });
    expect((await call('PUT', '/command/', op, { command: 'x' })).json).toMatchObject({ code: -1, msg: 'ID不能为空' });

    const badHost = await call('POST', '/command/', op, { command_name: 'bad', command: 'x', force_host: 'not a host!' });
    expect(badHost.status).toBe(400);
    expect(badHost.json).toMatchObject({ code: -1, msg: 'force_host: not a valid address or host name' });
    const badId = await call('DELETE', '/command/', op, { command_id: '1e3' });
    expect(badId.status).toBe(400);
    expect(badId.json.msg).toMatch(/^command_id: /);
    const tooLong = await call('POST', '/command/', op, { command_name: 'x'.repeat(201), command: 'x' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.msg).toMatch(/^command_name: /);
    const typed = await call('POST', '/command/', op, { command_name: ['a'], command: 'x' });
    expect(typed.status).toBe(400);
    expect(typed.json.msg).toMatch(/^command_name: /);

    const denied = await call('POST', '/command/', viewer, { command_name: 'v', command: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.json.msg).toContain('permission denied: template.write');

    const uptime = list.json.data[1];
    expect((await call('DELETE', '/command/', op, { command_id: uptime.command_id })).text).toBe('{"code":0,"msg":"删除成功"}');
    expect((await call('GET', '/command/', viewer)).json.count).toBe(1);
  });

  it('keeps argument labels (参数对照表)', async () => {
    expect((await call('POST', '/args/', op, { args_name: '问候对象', args_self: 'WHO' })).text).toBe('{"code":0,"msg":"添加成功"}');
    expect((await call('POST', '/args/', op, { args_name: '问候对象', args_self: 'WHOM' })).json).toMatchObject({ code: -2, msg: '名称不能重复' });
    expect((await call('POST', '/args/', op, { args_name: '空' })).json).toMatchObject({ code: -1, msg: '参数不能为空' });
    const bad = await call('POST', '/args/', op, { args_name: '坏', args_self: 'not a key' });
    expect(bad.status).toBe(400);
    expect(bad.json.msg).toMatch(/^args_self: /);

    const list = await call('GET', '/args/', viewer);
    expect(list.json).toMatchObject({ code: 0, msg: '获取成功', count: 1 });
    const row = list.json.data[0];
    expect(Object.keys(row)).toEqual(['args_id', 'args_name', 'args_self', 'creator', 'update_time']);
    expect(row).toMatchObject({ args_name: '问候对象', args_self: 'WHO', creator: 'op' });

    expect((await call('PUT', '/args/', op, { args_id: row.args_id, args_name: '对象', args_self: 'WHO' })).text).toBe('{"code":0,"msg":"编辑成功"}');
    expect((await call('PUT', '/args/', op, { args_id: row.args_id, args_name: '对象' })).json).toMatchObject({ code: -1, msg: 'ID不能为空' });
    expect((await call('GET', '/args/?search_value=WH', viewer)).json.data[0].args_name).toBe('对象');
    expect((await call('DELETE', '/args/', op, { args_id: row.args_id })).text).toBe('{"code":0,"msg":"删除成功"}');
    expect((await call('GET', '/args/', viewer)).json.count).toBe(0);
  });
});

describe('temp/ and details/', () => {
  it('creates a template, replaces its steps, submits it through accept/ and it runs over SSH as the exec user made above', async () => {
    const created = await call('POST', '/temp/', op, { temp_name: '问候模板' });
    expect(created.json).toMatchObject({ code: 0, msg: '模板创建成功，可以对此模板进行编辑了' });
    const tempId = created.json.temp_id as number;
    expect((await call('POST', '/temp/', op, { temp_name: '问候模板' })).json).toMatchObject({ code: -2, msg: '模板已存在' });
    expect((await call('POST', '/temp/', op, {})).json).toMatchObject({ code: -1, msg: '编排模板名称不能为空' });
    expect((await call('GET', '/temp/', viewer)).json).toEqual({ code: 0, msg: '获取成功', data: [{ temp_id: tempId, temp_name: '问候模板', creator: 'op' }] });
    expect((await call('GET', `/temp/?key=temp_id&value=${tempId}`, viewer)).json.data).toHaveLength(1);
    expect((await call('GET', '/temp/?key=temp_name&value=nothing', viewer)).json.data).toHaveLength(0);
    const badKey = await call('GET', '/temp/?key=password&value=x', viewer);
    expect(badKey.status).toBe(400);
    expect(badKey.json.msg).toMatch(/^query\.key: must be one of temp_id, temp_name, creator/);

    const steps = [
      { group: 1, level: 1, command_name: 'greet', command: 'echo hello', args: 'WHO FLOW_ID', trigger: 'order', exec_user: 'deploy', force_host: '' },
      { group: '1', level: '2', command_name: 'done', command: 'echo done', exec_user: 'deploy' },
    ];
    const put = await call('PUT', '/details/', op, { temp_id: String(tempId), new_temp_data: steps });
    expect(put.text).toBe('{"code":0,"msg":"修改成功"}');
    const details = await call('GET', `/details/?temp_id=${tempId}`, viewer);
    expect(details.json).toMatchObject({ code: 0, msg: '获取模板详情成功', temp_user: [] });
    expect(details.json.data.temp_user).toEqual([]);
    const [first, second] = details.json.data.temp_list;
    expect(Object.keys(first).slice(0, 11)).toEqual(['id', 'temp_id', 'group', 'level', 'command_name', 'command', 'args', 'trigger', 'exec_user', 'force_host', 'creator']);
    expect(first).toMatchObject({ temp_id: String(tempId), group: 1, level: 1, command_name: 'greet', command: 'echo hello', args: 'WHO FLOW_ID', trigger: 'order', exec_user: 'deploy', force_host: '', creator: 'op' });
    expect(second).toMatchObject({ group: 1, level: 2, command_name: 'done', args: '', trigger: 'order' });

    // The template's users are its approvers.
    const annId = (await stack.database.db.selectFrom('users').select('id').where('username', '=', 'ann').executeTakeFirstOrThrow()).id;
    expect((await call('PATCH', '/details/', op, { temp_id: tempId, new_user_info: [`${annId},,,Ann`] })).text).toBe('{"code":0,"msg":"修改成功"}');
    expect((await call('GET', `/details/?temp_id=${tempId}`, viewer)).json.temp_user).toEqual([`${annId},,,Ann`]);
    expect((await stack.request('GET', `/api/v1/templates/${tempId}`, { token: op.token })).json.approvers).toEqual(['ann']);

    // Submitted through CODO's accept/: it runs the steps PUT above, as `deploy`, on loopback sshd.
    // The order view shows WHO under its label from the 参数对照表.
    expect((await call('POST', '/args/', op, { args_name: '问候对象', args_self: 'WHO' })).json.code).toBe(0);
    const submit = await stack.request('POST', '/api/task/v2/task/accept/', {
      token: op.token,
      body: { temp_id: tempId, task_name: '问候', schedule: 'ready', args: "{'WHO': 'world; rm -rf /'}", hosts: `{1: '${HOST}'}` },
    });
    expect(submit.json.code, submit.text).toBe(0);
    const id = submit.json.list_id as number;
    const view = await eventually('the task to finish', async () => {
      const v = (await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}`, { token: op.token })).json.data;
      return v.task_status === 'succeeded' || v.task_status === 'failed' ? v : undefined;
    });
    expect(view.task_status).toBe('succeeded');
    expect(view.new_args).toEqual({ 问候对象: 'world; rm -rf /' });
    expect(view.new_args_list).toEqual([{ args_key: '问候对象', args_value: 'world; rm -rf /' }]);
    expect(view.args_keys).toEqual(['问候对象']);
    expect(view.scheduler_list.map((s: any) => [s.task_name, s.exec_user, s.task_status])).toEqual([['greet', 'deploy', '3'], ['done', 'deploy', '3']]);
    expect(view.scheduler_list[0].task_log).toContain(`hello world; rm -rf / ${id}`); // the value is data, not code

    // Clearing the template later does not touch the submitted task's frozen steps.
    expect((await call('PUT', '/details/', op, { temp_id: tempId, new_temp_data: [] })).text).toBe('{"code":0,"msg":"模板内容清空"}');
    expect((await call('GET', `/details/?temp_id=${tempId}`, viewer)).json.data.temp_list).toEqual([]);
    expect(await stack.database.db.selectFrom('task_steps').select('name').where('task_id', '=', id).execute()).toHaveLength(2);

    // A template with tasks is kept for their history; an unused one goes.
    const used = await call('DELETE', '/temp/', op, { temp_id: tempId });
    expect(used.status).toBe(409);
    expect(used.json.code).toBeLessThan(0);
    expect(used.json.msg).toMatch(/^temp_id: template \d+ is used by tasks/);
    const spare = (await call('POST', '/temp/', op, { temp_name: '空模板' })).json.temp_id as number;
    expect((await call('DELETE', '/temp/', op, { temp_id: spare })).text).toBe('{"code":0,"msg":"删除成功"}');
    expect((await call('DELETE', '/temp/', op, {})).json).toMatchObject({ code: -1, msg: '不能为空' });

    // The exec user is in use now: deleting it is refused; an unused one is deleted.
    const deployId = (await stack.database.db.selectFrom('exec_users').select('id').where('alias', '=', 'deploy').executeTakeFirstOrThrow()).id;
    await call('PUT', '/details/', op, { temp_id: tempId, new_temp_data: steps });
    const inUse = await call('DELETE', '/user/', admin, { exec_user_id: deployId });
    expect(inUse.status).toBe(409);
    expect(inUse.json.msg).toMatch(/^exec_user_id: exec user 'deploy' is used by template/);
  });

  it('refuses malformed steps with a 4xx naming the field, and keeps the old steps', async () => {
    const tempId = (await call('POST', '/temp/', op, { temp_name: '校验' })).json.temp_id as number;
    const good = { group: 1, level: 1, command_name: 'ok', command: 'true', exec_user: 'root' };
    expect((await call('PUT', '/details/', op, { temp_id: tempId, new_temp_data: [good] })).json.code).toBe(0);
    const bad = async (body: unknown, status: number, msg: RegExp) => {
      const r = await call('PUT', '/details/', op, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.code).toBeLessThan(0);
      expect(r.json.msg).toMatch(msg);
    };
    // No steps at all: CODO's refusal for an empty parameter (HTTP 200).
    expect((await call('PUT', '/details/', op, { temp_id: tempId })).json).toMatchObject({ code: -1, msg: '参数不能为空', details: [{ field: 'new_temp_data' }] });
    await bad({ temp_id: tempId, new_temp_data: 'steps' }, 400, /^new_temp_data: /);
    await bad({ temp_id: tempId, new_temp_data: [{ ...good, trigger: 'later' }] }, 400, /^new_temp_data\.0\.trigger: /);
    await bad({ temp_id: tempId, new_temp_data: [good, { ...good, exec_user: 'nobody' }] }, 409, /^new_temp_data\.1\.exec_user: no exec user 'nobody'/);
    await bad({ temp_id: tempId, new_temp_data: [{ ...good, command_name: '' }] }, 400, /^new_temp_data\.0\.command_name: /);
    await bad({ temp_id: tempId, new_temp_data: [{ ...good, group: 'one' }] }, 400, /^new_temp_data\.0\.group: /);
    await bad({ temp_id: tempId, new_temp_data: [{ ...good, force_host: 'a b' }] }, 400, /^new_temp_data\.0\.force_host: /);
    await bad({ temp_id: 999999, new_temp_data: [good] }, 404, /^temp_id: no template 999999/);
    expect((await call('PUT', '/details/', op, { new_temp_data: [good] })).json).toMatchObject({ code: -1, msg: '模板ID不能为空' });
    expect((await call('GET', '/details/', viewer)).json).toMatchObject({ code: -1, msg: '模板ID不能为空' });
    const badUsers = await call('PATCH', '/details/', op, { temp_id: tempId, new_user_info: ['999999,,,Nobody'] });
    expect(badUsers.status).toBe(409);
    expect(badUsers.json.msg).toMatch(/^new_user_info\.0: no user with id 999999/);
    // Still the one good step.
    expect((await call('GET', `/details/?temp_id=${tempId}`, viewer)).json.data.temp_list.map((s: any) => s.command_name)).toEqual(['ok']);
    // Steps are told apart by id: the same name twice in a group and level makes two steps.
    expect((await call('PUT', '/details/', op, { temp_id: tempId, new_temp_data: [good, good] })).json.code).toBe(0);
    expect((await call('GET', `/details/?temp_id=${tempId}`, viewer)).json.data.temp_list.map((s: any) => s.command_name)).toEqual(['ok', 'ok']);
    // Viewers read but may not write.
    const denied = await call('PUT', '/details/', viewer, { temp_id: tempId, new_temp_data: [] });
    expect(denied.status).toBe(403);
    expect(denied.json.msg).toContain('permission denied: template.write');
  });
});

describe('the route registry', () => {
  it('documents every task_layout route in the OpenAPI document with its permission', async () => {
    const doc = (await stack.request('GET', '/api/v1/openapi.json')).json;
    const layout = Object.entries<Record<string, any>>(doc.paths)
      .filter(([p]) => p.startsWith(L))
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => `${m} ${p.slice(L.length)} ${op['x-permission']}`))
      .sort();
    expect(layout).toEqual(
      [
        'get /command/ template.read', 'post /command/ template.write', 'put /command/ template.write', 'delete /command/ template.write',
        'get /args/ template.read', 'post /args/ template.write', 'put /args/ template.write', 'delete /args/ template.write',
        'get /temp/ template.read', 'post /temp/ template.write', 'delete /temp/ template.write',
        'get /details/ template.read', 'put /details/ template.write', 'patch /details/ template.write',
        'get /user/ exec_user.read', 'post /user/ exec_user.write', 'put /user/ exec_user.write', 'delete /user/ exec_user.write',
      ].sort(),
    );
  });
});
