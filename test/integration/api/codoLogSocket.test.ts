/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// CODO's log WebSocket (/api/task/ws/v1/task/log/) with a real `ws` client against the real
// stack: a template made through task_layout, a task submitted through accept/ that runs over SSH
// on 127.0.0.x, and the socket delivering its log as CODO did — the whole log joined by '----'
// every 500 ms, first line [CMD] — showing what the order view shows and no argument values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

const HOST = '127.0.0.81';
const SECRET = 's3cr3t-token-value';
let stack: ApiStack;
let op: TestUser;
let sam: TestUser;
let vic: TestUser;
let tempId: number;

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d： /;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: [HOST, '127.0.0.82'] });
  op = await stack.addUser('op', 'operator');
  sam = await stack.addUser('sam', 'submitter');
  vic = await stack.addUser('vic', 'viewer');
  const L = '/api/task/v2/task_layout';
  tempId = (await stack.request('POST', `${L}/temp/`, { token: op.token, body: { temp_name: '日志模板' } })).json.temp_id;
  const put = await stack.request('PUT', `${L}/details/`, {
    token: op.token,
    body: {
      temp_id: tempId,
      new_temp_data: [
        { group: 1, level: 1, command_name: 'count', command: 'for i in 1 2 3; do echo line-$i; sleep 0.7; done; echo err >&2; sleep 0.3; echo', args: 'WHO', exec_user: 'root' },
        { group: 1, level: 2, command_name: 'check', command: 'test -n', args: 'TOKEN', exec_user: 'root' },
      ],
    },
  });
  expect(put.json.code).toBe(0);
});
afterAll(async () => {
  await stack?.close();
});

interface Socket {
  ws: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(query = ''): string {
  return `${stack.base.replace(/^http/, 'ws')}/api/task/ws/v1/task/log/${query}`;
}

function open(headers: Record<string, string>, query = ''): Promise<Socket> {
  const ws = new WebSocket(wsUrl(query), { headers });
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(Buffer.isBuffer(data) ? data.toString('utf8') : ''));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

/** An upgrade the server refuses: its HTTP status and JSON body. */
function refused(headers: Record<string, string>, path = '/api/task/ws/v1/task/log/'): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(`${stack.base.replace(/^http/, 'ws')}${path}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', () => undefined);
  });
}

async function submit(user: TestUser, execInMs: number): Promise<number> {
  const r = await stack.request('POST', '/api/task/v2/task/accept/', {
    token: user.token,
    body: { temp_id: String(tempId), task_name: '看日志', schedule: 'ready', exec_time: new Date(Date.now() + execInMs).toISOString(), args: `{'WHO': 'world', 'TOKEN': '${SECRET}'}`, hosts: `{1: '${HOST}'}` },
  });
  expect(r.json.code, r.text).toBe(0);
  return r.json.list_id as number;
}

async function orderLog(id: number, level: number): Promise<string> {
  const view = (await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}`, { token: sam.token })).json.data;
  return view.scheduler_list.find((s: any) => s.task_level === level).task_log as string;
}

async function stepStatus(id: number, level: number): Promise<string> {
  const view = (await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}`, { token: sam.token })).json.data;
  return view.scheduler_list.find((s: any) => s.task_level === level).task_status as string;
}

/** eventually() for a probe that needs no I/O (the socket's messages so far). */
const until = <T>(what: string, probe: () => T | undefined): Promise<T> => eventually(what, () => Promise.resolve(probe()));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the CODO log WebSocket', () => {
  it('follows a step as it runs: the whole log every 500 ms, CODO lines joined by ----, [CMD] first, then stops', async () => {
    const id = await submit(sam, 1500);
    const key = await stack.login(sam); // the auth_key cookie, as CODO's console connects
    const s = await open({ cookie: `auth_key=${key}` });
    const started = Date.now();
    s.ws.send(`${id}_1_1_${HOST}`);

    // Before the step starts the log is empty; then it grows line by line.
    const final = await until('the last line', () => {
      const last = s.messages[s.messages.length - 1];
      return last?.endsWith('： world') ? last : undefined;
    });
    const elapsed = Date.now() - started;
    const sent = s.messages.length;
    expect(s.messages[0]).toBe('');
    expect(s.messages.some((m) => m.includes('line-1') && !m.includes('line-3'))).toBe(true);

    const lines = final.split('----');
    expect(lines.every((l) => LINE.test(l)), final).toBe(true);
    expect(lines.map((l) => l.replace(LINE, ''))).toEqual(['[CMD]: for i in 1 2 3; do echo line-$i; sleep 0.7; done; echo err >&2; sleep 0.3; echo WHO', 'line-1', 'line-2', 'line-3', '[stderr] err', 'world']);
    // The same lines as the order view's task_log (one formatter).
    expect(final).toBe((await orderLog(id, 1)).trimEnd().split('\n').join('----'));
    // About every 500 ms (CODO's period) while it ran…
    expect(sent).toBeGreaterThanOrEqual(Math.floor(elapsed / 500) - 2);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 500) + 2);

    // …and nothing more once the step has finished and its final log was sent.
    await eventually('level 1 to finish', async () => ((await stepStatus(id, 1)) === '3' ? true : undefined));
    await sleep(700);
    const count = s.messages.length;
    await sleep(1500);
    expect(s.messages.length).toBe(count);
    expect(s.messages[count - 1]).toBe(final);

    // A finished step: its full log, then no more. The [CMD] line names the argument, never its value.
    await eventually('the task to finish', async () => ((await stack.request('GET', `/api/v1/tasks/${id}`, { token: sam.token })).json.status === 'succeeded' ? true : undefined));
    s.ws.send(`${id}_1_2_${HOST}`);
    await until('the level 2 log', () => (s.messages.length > count ? true : undefined));
    await sleep(1200);
    expect(s.messages.length).toBe(count + 1);
    expect(s.messages[count]!.replace(LINE, '')).toBe('[CMD]: test -n TOKEN');
    for (const m of s.messages) expect(m).not.toContain(SECRET);
    s.ws.close();
    expect((await s.closed).code).toBe(1005);
  });

  it('refuses upgrades without a valid credential (401), cross-origin cookies (403) and other paths (404)', async () => {
    const none = await refused({});
    expect(none).toEqual({ status: 401, body: { code: 401, msg: '你没有登录', details: null } });
    const bad = await refused({ authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.msg).toMatch(/^你没有登录: /);
    const key = await stack.login(vic);
    const foreign = await refused({ cookie: `auth_key=${key}`, origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.msg).toMatch(/^Origin: /);
    expect((await refused({ authorization: `Bearer ${op.token}` }, '/api/task/ws/v1/task/nope/')).status).toBe(404);
    // The same origin may use the cookie; a token works from anywhere.
    const same = await open({ cookie: `auth_key=${key}`, origin: stack.base });
    same.ws.close();
    const token = await open({}, `?auth_key=${op.token}`);
    token.ws.close();
  });

  it('answers bad messages with an error on the socket and stays usable; a task the caller may not see closes it like a missing one', async () => {
    const id = await submit(sam, 0);
    const s = await open({ authorization: `Bearer ${vic.token}` });
    const next = async (): Promise<any> => {
      const n = s.messages.length;
      return JSON.parse(await until('a reply', () => (s.messages.length > n ? s.messages[n] : undefined)));
    };
    for (const junk of ['hello', '1_2_3', `${id}_1_x_${HOST}`, `${id}_1_1_`, 'x'.repeat(3000)]) {
      s.ws.send(junk);
      const reply = await next();
      expect(reply.code).toBe(-1);
      expect(reply.msg).toMatch(/^message: expected "<list_id>_<group>_<level>_<ip>"/);
    }
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await next()).msg).toMatch(/^message: send the key as text/);
    // vic (viewer, not associated) may not see sam's task: the same answer as for no task at all.
    s.ws.send(`${id}_1_1_${HOST}`);
    expect(await next()).toEqual({ code: -1, msg: `订单不存在 (list_id ${id})` });
    expect(await s.closed).toEqual({ code: 4404, reason: 'task not found' });

    const other = await open({ authorization: `Bearer ${vic.token}` });
    other.ws.send(`2000000000_1_1_${HOST}`);
    await until('a reply', () => other.messages[0]);
    expect(JSON.parse(other.messages[0]!)).toEqual({ code: -1, msg: '订单不存在 (list_id 2000000000)' });
    expect((await other.closed).code).toBe(4404);

    // The creator sees it; a key naming no step says so and the socket stays open.
    const own = await open({ authorization: `Bearer ${sam.token}` });
    own.ws.send(`${id}_9_1_${HOST}`);
    await until('a reply', () => own.messages[0]);
    expect(JSON.parse(own.messages[0]!)).toEqual({ code: -1, msg: `no step at group 9 level 1 on ${HOST} in order ${id}` });
    own.ws.send(`${id}_1_1_${HOST}`);
    await until('the log', () => (own.messages.length > 1 ? true : undefined));
    own.ws.close();
    expect((await own.closed).code).toBe(1005);
    // The server is fine after all that.
    expect((await stack.request('GET', '/healthz')).status).toBe(200);
  });

  it('ends a long follow once its session is logged out (code 4401)', async () => {
    const id = await submit(sam, 60_000); // starts in a minute: the step waits, the socket keeps following
    const key = await stack.login(sam);
    const s = await open({ cookie: `auth_key=${key}` });
    s.ws.send(`${id}_1_1_${HOST}`);
    await until('the first (empty) log message', () => (s.messages.length > 0 ? true : undefined));
    const out = await stack.request('POST', '/api/accounts/logout/', { cookie: `auth_key=${key}` });
    expect(out.json.code).toBe(0);
    const loggedOut = Date.now();
    const closed = await s.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - loggedOut).toBeLessThan(3000);
    expect(JSON.parse(s.messages[s.messages.length - 1]!)).toMatchObject({ code: 401 });
    await stack.request('PUT', '/api/task/v2/task/list/', { token: sam.token, body: { list_id: id } });
  });
});
