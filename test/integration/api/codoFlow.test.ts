/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// The seed flow as a CODO client does it, against the real engine: login with a TOTP, GET the
// csrf key, POST the seed body verbatim. Targets are loopback only: 172.16.0.101 is refused by
// the worker's allow-list before any connection, and the order view says so.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieValue, eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

const SSH_HOSTS = ['127.0.0.21', '127.0.0.22'];
let stack: ApiStack;
let alice: TestUser;
let bob: TestUser;
let aliceKey: string;
const RESTART_COUNTER = `/tmp/opsflow-codo-restart-count-${process.pid}-${Date.now()}`;
const RESTART_FLAG = `/tmp/opsflow-codo-restart-flag-${process.pid}-${Date.now()}`;

// CODO's reply keys, in its order (codo-task models/scheduler.py columns, task_handler.py).
const ORDER_KEYS = ['list_id', 'task_name', 'task_type', 'hosts', 'args', 'details', 'description', 'associated_user', 'creator', 'executor', 'status', 'schedule', 'temp_id', 'create_time', 'start_time'];
const VIEW_KEYS = ['create_time', 'start_time', 'username', 'creator', 'executor', 'new_args', 'new_args_list', 'schedule', 'associated_user', 'approval_button', 'args_keys', 'hand_list', 'group_list', 'run_group', 'this_host_list', 'this_host', 'scheduler_list', 'hosts_status', 'list_id'];
const SCHED_KEYS = ['sched_id', 'list_id', 'task_group', 'task_level', 'task_name', 'task_cmd', 'task_args', 'trigger', 'exec_user', 'force_host', 'exec_ip', 'task_status'];

const SEED_BODY = `{"task_name":"这是任务名字","submitter":"杨红飞","temp_id":"35","schedule":"ready",
 "exec_time":"2019-03-22 16:09:50",
 "args":"{'HOSTNAME': 'FT-VA-01-web01,FT-VA-01-web02', 'INSTANCE_TYPE': 'c5.2xlarge', 'RDS_TYPE': 'None', 'END_TIME': ''}",
 "details":"这是自动化购买AWS资源组","hosts":"{1: '172.16.0.101'}"}`;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: SSH_HOSTS });
  const db = stack.database.db;
  await db.insertInto('templates').values({ id: 35, name: 'AWS资源组' }).execute();
  await db
    .insertInto('template_steps')
    .values([
      { template_id: 35, group_no: 1, level: 1, name: '检查参数', command: "printf 'host=%s type=%s rds=%s\\n'", args: 'HOSTNAME INSTANCE_TYPE RDS_TYPE', exec_user: 'root', timeout_s: 60, retries: 0 },
      { template_id: 35, group_no: 1, level: 2, name: '购买', command: 'echo bought', args: 'FLOW_ID', exec_user: 'root', timeout_s: 60, retries: 0 },
    ])
    .execute();
  await db.insertInto('templates').values({ id: 36, name: '手动审核' }).execute();
  await db
    .insertInto('template_steps')
    .values([
      { template_id: 36, group_no: 1, level: 1, name: 'prepare', command: 'echo prepared', exec_user: 'root', timeout_s: 60 },
      { template_id: 36, group_no: 1, level: 2, name: '人工确认', command: 'echo released', trigger: 'hand', exec_user: 'root', timeout_s: 60 },
    ])
    .execute();
  await db.insertInto('templates').values({ id: 37, name: '重新执行' }).execute();
  await db
    .insertInto('template_steps')
    .values([
      { template_id: 37, group_no: 1, level: 1, name: 'count', command: `sh -c 'echo run >> ${RESTART_COUNTER}'`, exec_user: 'root', timeout_s: 60, retries: 0 },
      { template_id: 37, group_no: 1, level: 2, name: 'flaky', command: `sh -c 'test -f ${RESTART_FLAG} || { touch ${RESTART_FLAG}; exit 5; }'`, exec_user: 'root', timeout_s: 60, retries: 0 },
    ])
    .execute();
  alice = await stack.addUser('alice', 'submitter', { displayName: '杨红飞' });
  bob = await stack.addUser('bob', 'approver', { displayName: 'Bob' });
  aliceKey = await stack.login(alice);
});
afterAll(async () => {
  await stack?.close();
});

async function csrf(key: string): Promise<string> {
  const r = await stack.request('GET', '/api/task/v2/task/accept/', { cookie: `auth_key=${key}` });
  expect(r.json.code).toBe(0);
  return r.json.csrf_key as string;
}

async function orderView(key: string, listId: number, extra = ''): Promise<any> {
  const r = await stack.request('GET', `/api/task/v2/task/check/?list_id=${listId}${extra}`, { cookie: `auth_key=${key}` });
  expect(r.status).toBe(200);
  expect(r.json.code).toBe(0);
  expect(r.json.msg).toBe('获取订单信息成功');
  return r.json.data;
}

describe('the CODO seed flow', () => {
  it('accepts the seed body verbatim with the exact reply; 172.16.0.101 fails at the allow-list before any connection and the order view shows why', async () => {
    const key = await csrf(aliceKey);
    const r = await stack.request('POST', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceKey}; csrf_key=${key}`, body: SEED_BODY });
    expect(r.status).toBe(200);
    const id = r.json.list_id as number;
    expect(r.text).toBe(`{"code":0,"msg":"Task creation success, ID：${id}","list_id":${id}}`);

    // The same key again returns the same task (idempotent retry), not a 402 or a second task.
    const again = await stack.request('POST', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceKey}; csrf_key=${key}`, body: SEED_BODY });
    expect(again.text).toBe(r.text);
    expect(await stack.database.db.selectFrom('tasks').select('id').where('task_name', '=', '这是任务名字').execute()).toHaveLength(1);

    // exec_time is in the past: it starts at once and the first step is held with the allow-list reason.
    const view = await eventually('the step to be refused', async () => {
      const v = await orderView(aliceKey, id);
      return v.scheduler_list[0]?.task_status === '4' ? v : undefined;
    });
    // CODO's keys in CODO's order, then opsflow's additions.
    expect(Object.keys(view)).toEqual([...VIEW_KEYS, 'task_name', 'status', 'task_status', 'approver', 'details', 'all_hosts_status']);
    expect(view.creator).toBe('杨红飞');
    expect(view.username).toBe('alice'); // CODO: get_current_user(), the login name
    expect(view.executor).toBe('');
    expect(view.create_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(view.start_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(view.schedule).toBe('start');
    expect(view.new_args_list).toEqual([
      { args_key: 'HOSTNAME', args_value: 'FT-VA-01-web01,FT-VA-01-web02' },
      { args_key: 'INSTANCE_TYPE', args_value: 'c5.2xlarge' },
      { args_key: 'RDS_TYPE', args_value: 'None' },
      { args_key: 'END_TIME', args_value: '' },
    ]);
    expect(view.new_args).toEqual({ HOSTNAME: 'FT-VA-01-web01,FT-VA-01-web02', INSTANCE_TYPE: 'c5.2xlarge', RDS_TYPE: 'None', END_TIME: '' });
    expect(view.args_keys).toEqual(['HOSTNAME', 'INSTANCE_TYPE', 'RDS_TYPE', 'END_TIME']);
    // CODO's types: list_id and run_group as strings, the admins joined by a full-width comma.
    expect(view.list_id).toBe(String(id));
    expect(view.run_group).toBe('1');
    // CODO: the template's users and the submitter are the order's admins.
    expect(view.associated_user).toBe('杨红飞');
    expect(view.approval_button).toBe(false); // four-eyes: alice created it
    expect(view.hand_list).toEqual([]);
    expect(view.group_list).toEqual([1]);
    expect(view.this_host_list).toEqual(['172.16.0.101']);
    expect(view.this_host).toBe('172.16.0.101');
    expect(view.hosts_status).toEqual({ '172.16.0.101': '4' });
    const [first, second] = view.scheduler_list;
    expect(Object.keys(first)).toEqual([...SCHED_KEYS, 'step_id', 'status', 'exit_code', 'attempt', 'error', 'task_log']);
    expect([typeof first.sched_id, typeof first.task_group, typeof first.task_level, typeof first.task_status, typeof first.force_host]).toEqual(['number', 'number', 'number', 'string', 'string']);
    expect(first).toMatchObject({ list_id: String(id), task_group: 1, task_level: 1, task_name: '检查参数', trigger: 'order', exec_user: 'root', exec_ip: '172.16.0.101', task_status: '4' });
    expect(first.error).toMatch(/172\.16\.0\.101 is not in OPSFLOW_ALLOWED_TARGETS \(127\.0\.0\.0\/8\); nothing was sent to it/);
    expect(second).toMatchObject({ task_level: 2, task_name: '购买', task_status: '1' });

    // The order is in the open list with CODO's shape.
    const list = await stack.request('GET', '/api/task/v2/task/list/?page=1&limit=100', { token: aliceKey });
    expect(list.json).toMatchObject({ code: 0, msg: '获取成功', count: 1, list_id: id }); // CODO: the first order's id
    expect(Object.keys(list.json)).toEqual(['code', 'msg', 'data', 'count', 'list_id']);
    expect(Object.keys(list.json.data[0])).toEqual([...ORDER_KEYS, 'task_status', 'exec_time', 'finish_time']);
    expect(list.json.data[0]).toMatchObject({
      list_id: id,
      task_name: '这是任务名字',
      task_type: 'AWS资源组',
      hosts: "{1: '172.16.0.101'}",
      creator: '杨红飞',
      status: '2',
      schedule: 'start',
      temp_id: '35', // a string column in CODO
      details: '这是自动化购买AWS资源组',
      args: "{'HOSTNAME': 'FT-VA-01-web01,FT-VA-01-web02', 'INSTANCE_TYPE': 'c5.2xlarge', 'RDS_TYPE': 'None', 'END_TIME': ''}",
      associated_user: "{'admin': ['杨红飞']}",
      executor: '',
    });
    expect(list.json.data[0].create_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    // Terminate it (PUT list): it ends, and moves to the history.
    const k2 = await csrf(aliceKey);
    const stop = await stack.request('PUT', '/api/task/v2/task/list/', { cookie: `auth_key=${aliceKey}`, headers: { 'x-csrf-key': k2 }, body: { list_id: id } });
    expect(stop.json).toEqual({ code: 0, msg: '订单终止成功' });
    await eventually('the task to be cancelled', async () => ((await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json.status === 'cancelled' ? true : undefined));
    const history = await stack.request('GET', '/api/task/v2/task/check_history/?page=1&limit=500', { token: alice.token });
    expect(history.json).toMatchObject({ code: 0, msg: '获取成功', count: 1, history: true });
    expect(Object.keys(history.json)).toEqual(['code', 'msg', 'data', 'count', 'history']);
    expect(Object.keys(history.json.data[0])).toEqual([...ORDER_KEYS, 'task_status', 'exec_time', 'finish_time']);
    expect(history.json.data[0]).toMatchObject({ list_id: id, status: '6', schedule: 'OK' });

    // The audit trail has both, attributed to alice.
    const audit = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'target', 'result']).where('target', '=', `task:${id}`).orderBy('id').execute();
    expect(audit).toEqual([
      { actor: 'alice', action: 'task.submit', target: `task:${id}`, result: 'ok' },
      { actor: 'alice', action: 'task.submit', target: `task:${id}`, result: 'ok' },
      { actor: 'alice', action: 'task.cancel', target: `task:${id}`, result: 'ok' },
    ]);
  });

  it('runs the 127.0.0.x variant to success, visible in the order view with its logs', async () => {
    const key = await csrf(aliceKey);
    const body = SEED_BODY.replace("{1: '172.16.0.101'}", "{1: '127.0.0.21,127.0.0.22'}").replace('这是任务名字', '本地任务');
    const r = await stack.request('POST', '/api/task/v2/task/accept/', { cookie: `auth_key=${aliceKey}`, headers: { 'x-csrf-key': key }, body });
    expect(r.json.code).toBe(0);
    const id = r.json.list_id as number;
    const task = await eventually('the task to finish', async () => {
      const t = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json;
      return ['succeeded', 'failed'].includes(t.status) ? t : undefined;
    }, 60_000);
    expect(task.status).toBe('succeeded');
    expect(task.steps).toHaveLength(4);
    expect(task.steps.every((s: any) => s.status === 'succeeded' && s.exit_code === 0)).toBe(true);

    const view = await orderView(aliceKey, id, '&get_run_group=1&get_run_host=127.0.0.22');
    expect(view.this_host).toBe('127.0.0.22');
    expect(view.hosts_status).toEqual({ '127.0.0.21': '3', '127.0.0.22': '3' });
    expect(view.scheduler_list.map((s: any) => [s.task_name, s.task_status])).toEqual([
      ['检查参数', '3'],
      ['购买', '3'],
    ]);
    expect(view.scheduler_list[0].task_log).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d： host=FT-VA-01-web01,FT-VA-01-web02 type=c5.2xlarge rds=None/);
    expect(view.scheduler_list[1].task_log).toContain(`bought ${id}`);

    // Native logs: JSON and SSE (resuming from Last-Event-ID).
    const logs = await stack.request('GET', `/api/v1/tasks/${id}/logs`, { token: alice.token });
    expect(logs.status).toBe(200);
    const stdout = logs.json.items.filter((l: any) => l.stream === 'stdout');
    expect(stdout.map((l: any) => `${l.host} ${l.step} ${l.chunk.trim()}`)).toEqual(
      expect.arrayContaining([`127.0.0.21 购买 bought ${id}`, `127.0.0.22 购买 bought ${id}`]),
    );
    const sse = await stack.request('GET', `/api/v1/tasks/${id}/logs?follow=1`, { token: alice.token });
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    const ids = [...sse.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(logs.json.items.map((l: any) => l.id));
    expect(sse.text).toMatch(/event: end\ndata: {"status":"succeeded"}/);
    const resumed = await stack.request('GET', `/api/v1/tasks/${id}/logs?follow=1`, { token: alice.token, headers: { 'last-event-id': String(ids[1]) } });
    expect([...resumed.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(ids.slice(2));

    const history = await stack.request('GET', '/api/task/v2/task/check_history/', { token: alice.token });
    expect(history.json.data.find((o: any) => o.list_id === id)).toMatchObject({ status: '3', schedule: 'OK' });
  });

  it('new → approve by PATCH list (four-eyes: not by the creator), then release a hand step by name with PUT check', async () => {
    const key = await csrf(aliceKey);
    const r = await stack.request('POST', '/api/task/v2/task/accept/', {
      cookie: `auth_key=${aliceKey}`,
      headers: { 'x-csrf-key': key },
      body: { temp_id: 36, task_name: '需要审批', hosts: "{1: '127.0.0.21'}", associated_user: "{'admin': ['alice']}" },
    });
    expect(r.json.code).toBe(0);
    const id = r.json.list_id as number;
    expect((await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json.status).toBe('pending_approval');

    // Missing fields, then the creator herself (an associated admin, but four-eyes).
    expect((await stack.request('PATCH', '/api/task/v2/task/list/', { token: bob.token, body: { list_id: id } })).json).toEqual({ code: -1, msg: '订单ID和开始时间不能为空' });
    const self = await stack.request('PATCH', '/api/task/v2/task/list/', { token: alice.token, body: { list_id: id, start_time: '2020-01-01 00:00:00' } });
    expect(self.json).toMatchObject({ code: -2, msg: '你没有审批权限' });
    const approverView = await orderView(bob.token, id);
    expect(approverView.approval_button).toBe(true);
    expect(approverView.associated_user).toBe('alice'); // the admins the submission named
    expect(approverView.username).toBe('bob');
    expect((await orderView(alice.token, id)).approval_button).toBe(false);

    const ok = await stack.request('PATCH', '/api/task/v2/task/list/', { token: bob.token, body: { list_id: id, start_time: '2020-01-01 00:00:00' } });
    expect(ok.json).toEqual({ code: 0, msg: '任务开始成功' });
    const waiting = await eventually('the hand step to wait', async () => {
      const v = await orderView(alice.token, id);
      return v.scheduler_list[0]?.task_status === '3' && v.hand_list.includes('人工确认') ? v : undefined;
    });
    expect(waiting.executor).toBe('Bob'); // CODO: the approver's nickname
    expect((await orderView(bob.token, id)).approval_button).toBe(true); // CODO: may approve, whatever the schedule
    const listed = (await stack.request('GET', '/api/task/v2/task/list/', { token: bob.token })).json.data.find((o: any) => o.list_id === id);
    expect(listed).toMatchObject({ executor: 'Bob', associated_user: "{'admin': ['alice']}" });
    expect(waiting.scheduler_list.map((s: any) => s.task_status)).toEqual(['3', '5']);

    // PUT check: a wrong name, then the right one.
    expect((await stack.request('PUT', '/api/task/v2/task/check/', { token: bob.token, body: { list_id: id, hand_task: 'nope' } })).json).toEqual({ code: -2, msg: '任务名称不正确' });
    expect((await stack.request('PUT', '/api/task/v2/task/check/', { token: bob.token, body: { hand_task: '人工确认' } })).json).toEqual({ code: -1, msg: '订单ID 不能为空' });
    // As CODO, a missing name is refused before the order is looked at.
    expect((await stack.request('PUT', '/api/task/v2/task/check/', { token: bob.token, body: { list_id: 999999 } })).json).toEqual({ code: -2, msg: '任务名称不正确' });
    expect((await stack.request('PUT', '/api/task/v2/task/check/', { token: bob.token, body: { list_id: id, hand_task: '人工确认' } })).json).toEqual({ code: 0, msg: '审核干预成功' });
    const done = await eventually('the task to finish', async () => {
      const t = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json;
      return t.status === 'succeeded' ? t : undefined;
    });
    expect(done.approver).toBe('bob');
    const actions = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'result']).where('target', '=', `task:${id}`).orderBy('id').execute();
    expect(actions).toEqual([
      { actor: 'alice', action: 'task.submit', result: 'ok' },
      { actor: 'bob', action: 'task.approve', result: 'refused: 订单ID和开始时间不能为空' },
      { actor: 'alice', action: 'task.approve', result: 'refused: 你没有审批权限' },
      { actor: 'bob', action: 'task.approve', result: 'ok' },
      { actor: 'bob', action: 'task.release', result: 'refused: 任务名称不正确' },
      { actor: 'bob', action: 'task.release', result: 'ok' },
    ]);
  });

  it('PATCH check: hand_type execute / restart / stop_one and its CODO errors', async () => {
    const r = await stack.request('POST', '/api/task/v2/task/accept/', { token: alice.token, body: { temp_id: '36', schedule: 'ready', hosts: { 1: ['127.0.0.21', '127.0.0.22'] } } });
    const id = r.json.list_id as number;
    const view = await eventually('hand steps to wait on both hosts', async () => {
      const v = await orderView(bob.token, id);
      return Object.values(v.hosts_status).every((c) => c === '5') ? v : undefined;
    });
    const patch = (body: Record<string, unknown>) => stack.request('PATCH', '/api/task/v2/task/check/', { token: bob.token, body });
    expect((await patch({ list_id: id })).json).toEqual({ code: -1, msg: '缺少必要参数' });
    expect((await patch({ list_id: id, task_group: 1, task_level: 2, exec_ip: '127.0.0.21' })).json).toEqual({ code: -1, msg: '执行类型不能为空' });
    expect((await patch({ list_id: id, task_group: 1, task_level: 2, exec_ip: '127.0.0.21', hand_type: 'explode' })).json).toEqual({ code: -5, msg: '错误任务类型' });
    expect((await patch({ list_id: id, task_group: 1, task_level: 2, exec_ip: '127.0.0.21', hand_type: 'execute' })).json).toEqual({ code: -2, msg: '审批执行任务参数缺失' });
    const hand = view.scheduler_list.find((s: any) => s.task_name === '人工确认');
    expect((await patch({ list_id: id, task_group: 1, task_level: 2, exec_ip: view.this_host, hand_type: 'execute', scheduler_id: hand.sched_id })).json).toEqual({ code: 0, msg: '审核执行成功' });
    const other = view.this_host === '127.0.0.21' ? '127.0.0.22' : '127.0.0.21';
    expect((await patch({ list_id: id, task_group: 1, task_level: 1, exec_ip: other, hand_type: 'stop_one' })).json).toEqual({ code: 0, msg: '终止此组任务成功' });
    const t = await eventually('the task to end', async () => {
      const x = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json;
      return ['succeeded', 'failed', 'cancelled'].includes(x.status) ? x : undefined;
    });
    const byHost = Object.fromEntries(t.steps.filter((s: any) => s.level === 2).map((s: any) => [s.host, s.status]));
    expect(byHost[view.this_host]).toBe('succeeded');
    expect(byHost[other]).toBe('aborted');
  });

  it('PATCH check: hand_type restart reruns the held host from task_level', async () => {
    const r = await stack.request('POST', '/api/task/v2/task/accept/', { token: alice.token, body: { temp_id: '37', schedule: 'ready', hosts: { 1: ['127.0.0.22'] } } });
    const id = r.json.list_id as number;
    const patch = (body: Record<string, unknown>) => stack.request('PATCH', '/api/task/v2/task/check/', { token: bob.token, body });
    await eventually('level 2 to be held', async () => {
      const t = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json;
      return t.steps?.some((s: any) => s.level === 2 && s.status === 'held') ? t : undefined;
    });
    expect((await patch({ list_id: id, task_group: 1, task_level: 9, exec_ip: '127.0.0.22', hand_type: 'restart' })).json).toEqual({
      code: -3,
      msg: 'no step at level 9 or later on 127.0.0.22 in group 1 to restart',
    });
    expect((await patch({ list_id: id, task_group: 1, task_level: 1, exec_ip: '127.0.0.22', hand_type: 'restart' })).json).toEqual({ code: 0, msg: '重新执行成功' });
    const t = await eventually('the task to end', async () => {
      const x = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: alice.token })).json;
      return ['succeeded', 'failed', 'cancelled'].includes(x.status) ? x : undefined;
    });
    expect(t.status).toBe('succeeded');
    expect(t.steps.map((s: any) => [s.level, s.status, s.attempt])).toEqual([
      [1, 'succeeded', 2],
      [2, 'succeeded', 2],
    ]);
    expect(fs.readFileSync(RESTART_COUNTER, 'utf8')).toBe('run\nrun\n');
    // Once the task has ended, a restart is refused by the engine (CODO code -3, reason named).
    const late = (await patch({ list_id: id, task_group: 1, task_level: 1, exec_ip: '127.0.0.22', hand_type: 'restart' })).json;
    expect(late.code).toBe(-3);
    expect(late.msg).toMatch(/finished|not running|ended/);
    fs.rmSync(RESTART_COUNTER, { force: true });
    fs.rmSync(RESTART_FLAG, { force: true });
  });
  it("pins CODO's list, history and order-view choices: list_id, ordering, search_val, run group and host, argument labels", async () => {
    // Earlier tests left finished orders: CODO's history lists them newest id first.
    const history = (await stack.request('GET', '/api/task/v2/task/check_history/', { token: bob.token })).json;
    const ids = history.data.map((o: any) => o.list_id as number);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // search_val: CODO's prefix match (case-insensitive), on task_type here; the count follows the search.
    const aws = (await stack.request('GET', '/api/task/v2/task/check_history/?search_val=aws', { token: bob.token })).json;
    expect(aws.data.map((o: any) => o.task_type)).toEqual(['AWS资源组', 'AWS资源组']);
    expect(aws.count).toBe(2);
    expect((await stack.request('GET', `/api/task/v2/task/check_history/?search_val=${encodeURIComponent('地任务')}`, { token: bob.token })).json.data).toEqual([]);
    expect((await stack.request('GET', `/api/task/v2/task/check_history/?search_val=${encodeURIComponent('本地')}`, { token: bob.token })).json.data.map((o: any) => o.task_name)).toEqual(['本地任务']);

    // Nothing open: CODO's list_id is ''.
    const empty = await stack.request('GET', '/api/task/v2/task/list/', { token: bob.token });
    expect(empty.text).toBe('{"code":0,"msg":"获取成功","data":[],"count":0,"list_id":""}');

    await stack.database.db.insertInto('arg_labels').values([{ label: '主机名', arg_key: 'HOSTNAME' }, { label: '机器', arg_key: 'HOSTNAME' }]).execute();
    const r = await stack.request('POST', '/api/task/v2/task/accept/', {
      token: alice.token,
      body: { temp_id: '36', hosts: "{1: '127.0.0.22,127.0.0.21'}", args: "{'HOSTNAME': 'web01', 'ZONE': 'a'}" },
    });
    const id = r.json.list_id as number;
    const list = (await stack.request('GET', '/api/task/v2/task/list/', { token: bob.token })).json;
    expect(list.list_id).toBe(id);
    expect(list.data[0]).toMatchObject({ list_id: id, task_name: '手动审核', status: '0', schedule: 'new', executor: '', start_time: '' });

    // Default host: the first of the group as submitted; hosts_status in that order.
    const view = await orderView(bob.token, id);
    expect(view.this_host).toBe('127.0.0.22');
    expect(Object.keys(view.hosts_status)).toEqual(['127.0.0.22', '127.0.0.21']);
    expect(view.hand_list).toEqual(['人工确认']);
    // An argument with two labels shows under both, as CODO's loop over the 参数对照表 did.
    expect(view.new_args_list).toEqual([
      { args_key: '主机名', args_value: 'web01' },
      { args_key: '机器', args_value: 'web01' },
      { args_key: 'ZONE', args_value: 'a' },
    ]);
    expect(view.new_args).toEqual({ 主机名: 'web01', 机器: 'web01', ZONE: 'a' });
    expect(view.args_keys).toEqual(['主机名', '机器', 'ZONE']);
    // A host asked for is shown as asked (no rows when the group lacks it); a group without hosts is CODO's -2.
    const other = await orderView(bob.token, id, '&get_run_host=127.0.0.99');
    expect([other.this_host, other.scheduler_list]).toEqual(['127.0.0.99', []]);
    const noGroup = await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}&get_run_group=2`, { token: bob.token });
    expect(noGroup.text).toBe('{"code":-2,"msg":"运行组中没有可执行主机"}');

    await stack.database.db.deleteFrom('arg_labels').execute();
    expect((await stack.request('PUT', '/api/task/v2/task/list/', { token: bob.token, body: { list_id: id } })).json).toEqual({ code: 0, msg: '订单终止成功' });
  });
});

describe("CODO's csrf_key as CODO clients use it", () => {
  const order = (name: string) => ({ task_name: name, temp_id: '36', schedule: 'new', hosts: "{1: '127.0.0.21'}" });
  const accept = (cookie: string, body: unknown, headers: Record<string, string> = {}) => stack.request('POST', '/api/task/v2/task/accept/', { cookie, body, headers });
  const tasksNamed = (name: string) => stack.database.db.selectFrom('tasks').select('id').where('task_name', '=', name).execute();
  // Its own submitter, so these orders do not appear in the seed flow's lists and counts.
  let carolKey: string;
  beforeAll(async () => {
    carolKey = await stack.login(await stack.addUser('carol', 'submitter', { displayName: 'Carol' }));
  });

  it('sets a fresh unused key cookie on every cookie-authenticated reply, so a browser or Postman submits task after task after one GET', async () => {
    const first = await stack.request('GET', '/api/task/v2/task/accept/', { cookie: `auth_key=${carolKey}` });
    const k1 = first.json.csrf_key as string;
    expect(cookieValue(first, 'csrf_key')).toBe(k1);
    // Like Postman: every request sends the newest csrf_key cookie it was given.
    const a = await accept(`auth_key=${carolKey}; csrf_key=${k1}`, order('cookie-flow-A'));
    expect(a.json.code).toBe(0);
    const k2 = cookieValue(a, 'csrf_key');
    expect(k2).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(k2).not.toBe(k1);
    const b = await accept(`auth_key=${carolKey}; csrf_key=${k2}`, order('cookie-flow-B'));
    expect(b.json.code).toBe(0);
    expect(b.json.list_id).not.toBe(a.json.list_id);
    expect(await tasksNamed('cookie-flow-A')).toEqual([{ id: a.json.list_id }]);
    expect(await tasksNamed('cookie-flow-B')).toEqual([{ id: b.json.list_id }]);
    // Reads and refusals carry a fresh key too.
    const list = await stack.request('GET', '/api/task/v2/task/list/', { cookie: `auth_key=${carolKey}` });
    const refused = await accept(`auth_key=${carolKey}`, order('no-key'));
    expect(refused.status).toBe(402);
    const fresh = [cookieValue(list, 'csrf_key'), cookieValue(refused, 'csrf_key')];
    expect(new Set([...fresh, k1, k2]).size).toBe(4);
    const rows = await stack.database.db.selectFrom('csrf_keys').select(['key', 'used_at']).where('key', 'in', fresh as string[]).execute();
    expect(rows.map((r) => r.used_at)).toEqual([null, null]);
  });

  it('answers the same key with the same request with the same task, and refuses (and audits) the same key with a different request', async () => {
    const key = await csrf(carolKey);
    const cookie = `auth_key=${carolKey}; csrf_key=${key}`;
    const a = await accept(cookie, order('replay-A'));
    const again = await accept(cookie, order('replay-A'));
    expect(again.text).toBe(a.text);
    const other = await accept(cookie, order('replay-B'));
    expect(other.status).toBe(409);
    expect(other.json.code).toBe(-1);
    expect(other.json.msg).toBe(`csrf_key: already used for task ${a.json.list_id as number} with a different request; get a new key for a new task`);
    expect(await tasksNamed('replay-A')).toHaveLength(1);
    expect(await tasksNamed('replay-B')).toHaveLength(0);
    const audit = await stack.database.db
      .selectFrom('audit_log')
      .select(['actor', 'result', 'detail'])
      .where('action', '=', 'task.submit')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit.actor).toBe('carol');
    expect(audit.result).toMatch(/^refused: csrf_key: already used/);
    expect(audit.detail).toMatchObject({ idempotency_conflict: true, status: 409 });
  });

  it('under bearer auth counts only an explicit key, never a csrf_key cookie', async () => {
    const stale = await csrf(carolKey);
    const bearer = (body: unknown, headers: Record<string, string> = {}) =>
      stack.request('POST', '/api/task/v2/task/accept/', { cookie: `csrf_key=${stale}`, headers: { authorization: `Bearer ${carolKey}`, ...headers }, body });
    const a = await bearer(order('bearer-A'));
    const b = await bearer(order('bearer-B'));
    expect([a.json.code, b.json.code]).toEqual([0, 0]);
    expect(b.json.list_id).not.toBe(a.json.list_id);
    // An explicit key is idempotent for bearer callers too.
    const c = await bearer(order('bearer-C'), { 'x-csrf-key': stale });
    const c2 = await bearer(order('bearer-C'), { 'x-csrf-key': stale });
    expect(c2.json.list_id).toBe(c.json.list_id);
    expect((await bearer(order('bearer-D'), { 'x-csrf-key': 'not-a-key-of-alice' })).status).toBe(402);
    expect(await tasksNamed('bearer-C')).toHaveLength(1);
  });
});
