// CODO's task API (/api/task/v2/task/…), answering exactly as docs/codo-contract.md says
// (#csrf-key, #submit, #orders, #order-view-and-interventions, #history).
import { z } from 'zod';
import { hostStatusToCodo, TASK_STATUSES, taskStatusToCodo, type StepStatus } from '../../domain/statuses';
import { CSRF_TTL_MS, issueCsrfKey } from '../../accounts/csrfKeys';
import type { AuthUser } from '../../accounts/sessions';
import { argLabelsByKey } from '../../templates/commands';
import { accessTask, mayOnTask, type LoadedTask } from '../../tasks/access';
import { parseArgs, parseAssociatedUser, parseHosts, parseTime } from '../../tasks/input';
import { InterventionError, type Intervention } from '../../tasks/interventions';
import { handStepsNamed, listOrders, orderExtras, taskSteps } from '../../tasks/queries';
import { idempotencyFor, interveneAs, isIdempotencyConflict, submitAs, TemplateForbiddenError } from '../../tasks/service';
import { CODO_MAX_HOSTS_PER_GROUP, SubmitError, type SubmitResult } from '../../tasks/submit';
import { setCookie } from '../cookies';
import { taskServiceDeps, type ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { Reply, route, type AnyRoute, type Ctx } from '../routing';
import { codoAssociatedUser, codoExecutor, codoOrder, codoSchedule, codoStartTime, codoStepStatus, codoTaskStatus, hostCodes, stepLogTexts } from './views';
import { codoFields } from '../submitSchemas';
import { execTime, INT32_MAX, intParam, intParamOr, str } from '../wire';
import { codoId, codoIdQuery, codoInt, optionalCodoInt, optionalIntQuery } from './layoutCommon';

const BASE = '/api/task/v2/task';

// CODO fields arrive as strings or numbers; the schemas say which (ill-typed → 400 with code -1),
// the handlers answer CODO's codes for what CODO itself refused.

const OkReply = z.object({ code: z.number(), msg: z.string() });

/** An order in CODO's list and history replies (views.codoOrder), CODO's keys first. */
const CodoOrder = z.object({
  list_id: z.number(),
  task_name: z.string(),
  task_type: z.string(),
  hosts: z.string().describe("Python literal {1: '10.0.0.1,10.0.0.2'}"),
  args: z.string().describe('Python literal dict'),
  details: z.string(),
  description: z.string(),
  associated_user: z.string().describe("Python literal {'admin': [...]}"),
  creator: z.string(),
  executor: z.string(),
  status: z.string().describe('CODO status code 0-7'),
  schedule: z.string().describe('new | ready | start | OK'),
  temp_id: z.string(),
  create_time: z.string(),
  start_time: z.string(),
  task_status: z.string().describe("opsflow's status"),
  exec_time: z.string(),
  finish_time: z.string(),
});

function notFound(listId: number | string): HttpError {
  return new HttpError(404, -1, `订单不存在 (list_id ${String(listId)})`, { list_id: listId });
}

/** Maps an engine refusal to CODO's business-error style (HTTP 200, code -3). */
function interventionReply(err: unknown): Reply {
  if (err instanceof InterventionError) {
    if (err.httpStatus === 404) return new Reply(404, { code: -1, msg: err.message });
    return new Reply(200, { code: -3, msg: err.message });
  }
  throw err;
}

// ---------------------------------------------------------------------------------------------
// accept: GET csrf key, POST submit

const csrfRoute = route({
  method: 'get',
  path: `${BASE}/accept/`,
  summary: 'Get a one-use csrf_key (CODO)',
  description: 'Also set as cookie csrf_key. Valid 1800 s. Sent back on a POST it makes the submission idempotent.',
  tags: ['codo'],
  action: 'csrf.issue',
  style: 'codo',
  response: z.object({ code: z.number(), msg: z.string(), csrf_key: z.string() }),
  handler: async (ctx) => {
    // A cookie-authenticated request already got a fresh key as its cookie: answer with that one.
    let key = ctx.freshCsrfKey;
    if (key === null) {
      key = await issueCsrfKey(ctx.deps.db, ctx.user.id);
      setCookie(ctx.req, ctx.res, 'csrf_key', key, { maxAgeMs: CSRF_TTL_MS, httpOnly: false });
    }
    return { code: 0, msg: '获取csrf_key成功', csrf_key: key };
  },
});

const AcceptBody = z
  .object({
    temp_id: codoInt(1, INT32_MAX).describe('an existing template id, number or string (an unknown one: 404)'),
    task_name: str(200).nullable().optional().describe('task name (default: the template name)'),
    task_type: str(200).nullable().optional().describe('default: the template name'),
    submitter: str(100).nullable().optional().describe("shown as the order's creator; default: your nickname"),
    associated_user: codoFields.associated_user,
    executor: str(100).nullable().optional(),
    args: codoFields.args,
    hosts: codoFields.hosts,
    schedule: z.enum(['new', 'ready', '']).nullable().optional().describe("'new' (wait for approval, default) or 'ready' (run at exec_time)"),
    details: str(10_000).nullable().optional(),
    exec_time: execTime().nullable().optional().describe("'YYYY-MM-DD HH:MM:SS' in OPSFLOW_TIMEZONE, or ISO 8601 with offset; blank: now"),
    csrf_key: str(64).optional().describe('from GET accept (else 402): a repeated POST of the same request returns the same list_id'),
  })
  .describe('CODO submit body')
  .meta({
    // CODO's own example request.
    examples: [
      {
        task_name: '这是任务名字',
        submitter: '杨红飞',
        temp_id: '35',
        schedule: 'ready',
        exec_time: '2019-03-22 16:09:50',
        args: "{'HOSTNAME': 'FT-VA-01-web01,FT-VA-01-web02', 'INSTANCE_TYPE': 'c5.2xlarge', 'RDS_TYPE': 'None', 'END_TIME': ''}",
        details: '这是自动化购买AWS资源组',
        hosts: "{1: '172.16.0.101'}",
      },
    ],
  });

function successReply(id: number): Record<string, unknown> {
  return { code: 0, msg: `Task creation success, ID：${id}`, list_id: id };
}

const submitRoute = route({
  method: 'post',
  path: `${BASE}/accept/`,
  summary: 'Submit a task (CODO)',
  description:
    'Success: {"code":0,"msg":"Task creation success, ID：<id>","list_id":<id>}. Validation answers HTTP 200 with CODO codes: ' +
    '-4 The exec host cannot be empty / Too many hosts, please execute in groups; 5 ip格式有误; -3 Host groupings and template groupings mismatch. ' +
    'Unparsable literals, ill-typed and missing fields: HTTP 400 with code -1 and a message naming the field; an unknown template: HTTP 404 (code -2); ' +
    'a template without steps, or a csrf_key reused for another request: HTTP 409.',
  tags: ['codo'],
  action: 'task.submit',
  style: 'codo',
  errors: [404, 409],
  csrf: 'idempotent',
  body: AcceptBody,
  links: [
    { method: 'get', path: `${BASE}/check/`, parameters: { 'query.list_id': '$response.body#/list_id' } },
    { method: 'patch', path: `${BASE}/list/`, requestBody: { list_id: '$response.body#/list_id' } },
    { method: 'put', path: `${BASE}/list/`, requestBody: { list_id: '$response.body#/list_id' } },
    { method: 'put', path: `${BASE}/check/`, requestBody: { list_id: '$response.body#/list_id' } },
    { method: 'patch', path: `${BASE}/check/`, requestBody: { list_id: '$response.body#/list_id' } },
  ],
  response: z.object({ code: z.number(), msg: z.string(), list_id: z.number().optional() }),
  handler: async (ctx) => {
    const b = ctx.body;
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    // Checked by the router: the cookie's key (cookie auth) or an explicit one; null for none.
    const key = ctx.csrfKey;
    ctx.audit = { action: 'task.submit', detail: { temp_id: b.temp_id ?? null } };
    const input = {
      templateId: b.temp_id,
      taskName: b.task_name ?? '',
      taskType: b.task_type || undefined,
      submitter: (b.submitter ?? '').trim() || ctx.user.displayName,
      schedule: b.schedule || 'new',
      execTime: parseTime(b.exec_time === '' ? null : b.exec_time, 'exec_time', tz),
      args: parseArgs(b.args),
      hosts: parseHosts(b.hosts),
      details: b.details ?? '',
      associatedUser: parseAssociatedUser(b.associated_user),
      executor: b.executor ?? '',
      // CODO's limit stays whatever the template allows; large tasks go through /api/v1.
      maxHostsPerGroup: CODO_MAX_HOSTS_PER_GROUP,
      ...idempotencyFor('csrf_key', key, ctx.user),
    };
    let result: SubmitResult;
    try {
      result = await submitAs(taskServiceDeps(ctx.deps), ctx.user, input);
    } catch (err) {
      if (err instanceof TemplateForbiddenError) throw new HttpError(403, -2, `你没有该模板的提交权限: ${err.message}`);
      if (err instanceof SubmitError) {
        // CODO's own validation codes come back as HTTP 200. What is left passed the schema and
        // depends on stored state: an unknown template is 404, a template without steps or a
        // reused key 409.
        const status = [-4, 5, -3].includes(err.code) ? 200 : err.httpStatus === 400 ? 409 : err.httpStatus;
        if (isIdempotencyConflict(err, input)) ctx.audit.detail = { ...ctx.audit.detail, idempotency_conflict: true };
        return new Reply(status, { code: err.code, msg: err.message, details: [{ field: err.field, problem: err.message }] });
      }
      throw err;
    }
    const id = result.taskId;
    ctx.audit.target = `task:${id}`;
    if (!result.created) ctx.audit.detail = { ...ctx.audit.detail, idempotent_retry: true };
    return successReply(id);
  },
});

// ---------------------------------------------------------------------------------------------
// list: GET orders, PATCH approve, PUT terminate

const PageQuery = z.object({
  page: intParamOr(1, 1_000_000, 1),
  limit: intParam(1, 1000).optional(),
  search_val: str(200).optional().describe('prefix match on list_id, task_name, task_type, temp_id, creator, executor or status code'),
});

async function orders(ctx: Ctx<unknown, z.output<typeof PageQuery>, unknown>, finished: boolean, defaultLimit: number) {
  const { page, search_val } = ctx.query;
  const limit = ctx.query.limit ?? defaultLimit;
  const search = search_val?.trim();
  // CODO's search also matches its status codes (`value%` on the code).
  const searchStatuses = search ? TASK_STATUSES.filter((st) => taskStatusToCodo(st).startsWith(search)) : [];
  const { tasks, count } = await listOrders(ctx.deps.db, ctx.user, { finished, search, searchStatuses, offset: (page - 1) * limit, limit });
  const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
  const extras = await orderExtras(ctx.deps.db, tasks);
  return { data: tasks.map((t) => codoOrder(t, tz, extras(t))), count, ids: tasks.map((t) => t.id) };
}

const listRoute = route({
  method: 'get',
  path: `${BASE}/list/`,
  summary: 'Open orders you can see, newest first (CODO)',
  tags: ['codo'],
  action: 'task.list',
  style: 'codo',
  query: PageQuery,
  links: [{ method: 'get', path: `${BASE}/check/`, parameters: { 'query.list_id': '$response.body#/data/0/list_id' } }],
  response: z.object({ code: z.literal(0), msg: z.string(), data: z.array(CodoOrder), count: z.number(), list_id: z.union([z.number(), z.literal('')]).describe("the first order's id, '' when there is none") }),
  handler: async (ctx) => {
    const { data, count, ids } = await orders(ctx, false, 100);
    // CODO: the first order's id (its console opens that order), '' when there is none.
    return { code: 0, msg: '获取成功', data, count, list_id: ids[0] ?? '' };
  },
});

const ApproveBody = z.object({
  list_id: codoId(),
  start_time: execTime().nullable().optional().describe("'YYYY-MM-DD HH:MM:SS' (also ISO 8601 with an offset); blank: now"),
});

const approveRoute = route({
  method: 'patch',
  path: `${BASE}/list/`,
  summary: 'Approve an order with its start time (CODO)',
  description: '0 任务开始成功; -1 订单ID和开始时间不能为空; -2 你没有审批权限 (also the four-eyes rule: the creator may not approve).',
  tags: ['codo'],
  action: 'task.approve',
  style: 'codo',
  errors: [404],
  body: ApproveBody,
  response: OkReply,
  handler: async (ctx) => {
    const listId = ctx.body.list_id;
    ctx.audit = { action: 'task.approve', target: listId ? `task:${listId}` : '' };
    if (listId === undefined || ctx.body.start_time === undefined || ctx.body.start_time === null || ctx.body.start_time === '') {
      return { code: -1, msg: '订单ID和开始时间不能为空' };
    }
    const startAt = parseTime(ctx.body.start_time, 'start_time', ctx.deps.config.OPSFLOW_TIMEZONE);
    const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, listId, 'task.approve');
    if (access.kind === 'missing') throw notFound(listId);
    if (access.kind === 'denied') return { code: -2, msg: '你没有审批权限', details: { reason: access.decision.message } };
    ctx.audit.detail = { start_time: startAt?.toISOString() ?? null };
    const what: Intervention = access.loaded.task.status === 'pending_approval' ? { action: 'approve', startAt } : { action: 'reschedule', startAt };
    try {
      await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, what);
    } catch (err) {
      return interventionReply(err);
    }
    return { code: 0, msg: '任务开始成功' };
  },
});

const terminateRoute = route({
  method: 'put',
  path: `${BASE}/list/`,
  summary: 'Terminate an order (CODO): stops running commands',
  description: '0 订单终止成功; -1 订单ID不能为空; -2 你没有终止权限.',
  tags: ['codo'],
  action: 'task.cancel',
  style: 'codo',
  errors: [404],
  body: z.object({ list_id: codoId() }),
  response: OkReply,
  handler: async (ctx) => {
    const listId = ctx.body.list_id;
    ctx.audit = { action: 'task.cancel', target: listId ? `task:${listId}` : '' };
    if (listId === undefined) return { code: -1, msg: '订单ID不能为空' };
    const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, listId, 'task.cancel');
    if (access.kind === 'missing') throw notFound(listId);
    if (access.kind === 'denied') return { code: -2, msg: '你没有终止权限', details: { reason: access.decision.message } };
    try {
      await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, { action: 'cancel', reason: 'terminated via CODO API' });
    } catch (err) {
      return interventionReply(err);
    }
    return { code: 0, msg: '订单终止成功' };
  },
});

// ---------------------------------------------------------------------------------------------
// check: GET order view, PUT release a hand step by name, PATCH per-host interventions

const CheckQuery = z.object({
  list_id: codoIdQuery(),
  get_run_group: optionalIntQuery(-INT32_MAX, INT32_MAX).describe('the group to show'),
  get_run_host: str(300).optional().describe('the host to show'),
});

const CodoStepRow = z.object({
  sched_id: z.number(),
  list_id: z.string(),
  task_group: z.number(),
  task_level: z.number(),
  task_name: z.string(),
  task_cmd: z.string(),
  task_args: z.string(),
  trigger: z.string(),
  exec_user: z.string(),
  force_host: z.string(),
  exec_ip: z.string(),
  task_status: z.string(),
  step_id: z.number(),
  status: z.string(),
  exit_code: z.number().nullable(),
  attempt: z.number(),
  error: z.string(),
  task_log: z.string(),
});

const OrderView = z.object({
  create_time: z.string(),
  start_time: z.string(),
  username: z.string(),
  creator: z.string(),
  executor: z.string(),
  new_args: z.record(z.string(), z.string()),
  new_args_list: z.array(z.object({ args_key: z.string(), args_value: z.string() })),
  schedule: z.string(),
  associated_user: z.string(),
  approval_button: z.boolean(),
  args_keys: z.array(z.string()),
  hand_list: z.array(z.string()),
  group_list: z.array(z.number()),
  run_group: z.string(),
  this_host_list: z.array(z.string()),
  this_host: z.string(),
  scheduler_list: z.array(CodoStepRow),
  hosts_status: z.record(z.string(), z.string()),
  list_id: z.string(),
  task_name: z.string(),
  status: z.string(),
  task_status: z.string(),
  approver: z.string().nullable(),
  details: z.string(),
  all_hosts_status: z.record(z.string(), z.record(z.string(), z.string())),
});

/** The order view, keys in CODO's order; null when the group has no hosts (CODO's -2). */
async function orderView(deps: ApiDeps, user: AuthUser, loaded: LoadedTask, runGroup: number | undefined, runHost: string | undefined) {
  const { task } = loaded;
  const tz = deps.config.OPSFLOW_TIMEZONE;
  const all = await taskSteps(deps.db, task.id);
  const groupList = [...new Set(all.map((s) => s.group))].sort((a, b) => a - b);
  // CODO: the group asked for; else the only one; else the first with a running or failed step; else the first.
  const busy = all.find((s) => ['2', '4'].includes(codoStepStatus(s.status)));
  const group = runGroup ?? (groupList.length === 1 ? groupList[0] : busy?.group) ?? groupList[0];
  const hostList = group === undefined ? [] : (task.hosts[String(group)] ?? []);
  if (group === undefined || hostList.length === 0) return null;
  const host = runHost ?? hostList[0] ?? '';
  const inGroup = all.filter((s) => s.group === group);
  const shown = inGroup.filter((s) => s.host === host);
  const logs = await stepLogTexts(deps.db, shown.map((s) => s.id), tz);
  const mayApprove = mayOnTask({ fourEyes: deps.config.OPSFLOW_FOUR_EYES }, user, loaded, 'task.approve');
  const extras = (await orderExtras(deps.db, [task]))(task);
  // CODO shows an argument under each label the 参数对照表 (arg_labels) has for it, else under its key.
  const labels = await argLabelsByKey(deps.db);
  const shownArgs = Object.entries(task.args).flatMap(([key, value]) => (labels.get(key) ?? [key]).map((name) => [name, value] as const));
  const newArgs = Object.fromEntries(shownArgs);
  const codes = hostCodes(inGroup, (ss: StepStatus[]) => hostStatusToCodo(ss));
  return {
    create_time: codoOrder(task, tz, extras).create_time,
    start_time: codoStartTime(task, tz),
    username: user.username, // CODO: get_current_user(), the login name
    creator: task.submitter,
    executor: codoExecutor(task, extras),
    new_args: newArgs,
    new_args_list: shownArgs.map(([args_key, args_value]) => ({ args_key, args_value })),
    schedule: codoSchedule(task.status),
    // CODO: the order's admins joined by a full-width comma.
    associated_user: (codoAssociatedUser(task, extras).admin ?? []).join('，'),
    // CODO: whether you may approve this order (its console also checks schedule === 'new').
    approval_button: mayApprove,
    args_keys: Object.keys(newArgs),
    // Every hand step's name, as CODO listed them (PUT check/ releases one by name, also ahead of time).
    hand_list: [...new Set([...all].sort((a, b) => a.level - b.level).filter((s) => s.trigger === 'hand').map((s) => s.name))],
    group_list: groupList,
    run_group: String(group),
    this_host_list: hostList,
    this_host: host,
    scheduler_list: shown.map((s) => ({
      sched_id: s.id,
      list_id: String(task.id), // a string column in CODO's scheduler table
      task_group: s.group,
      task_level: s.level,
      task_name: s.name,
      task_cmd: s.command,
      task_args: s.args,
      trigger: s.trigger,
      exec_user: s.exec_user,
      force_host: s.force_host ?? '',
      exec_ip: s.host,
      task_status: codoStepStatus(s.status),
      // opsflow additions
      step_id: s.step_id,
      status: s.status,
      exit_code: s.exit_code,
      attempt: s.attempt,
      error: s.error ?? '',
      task_log: logs.get(s.id) ?? '',
    })),
    // CODO: one code per host of the group, in the order of this_host_list.
    hosts_status: Object.fromEntries(hostList.map((h) => [h, codes[h] ?? '4'])),
    list_id: String(task.id), // CODO sent it as a string here
    // opsflow additions
    task_name: task.task_name,
    status: codoTaskStatus(task.status),
    task_status: task.status,
    approver: task.approver,
    details: task.details,
    all_hosts_status: Object.fromEntries(groupList.map((g) => [String(g), hostCodes(all.filter((s) => s.group === g), (ss: StepStatus[]) => hostStatusToCodo(ss))])),
  };
}

const checkRoute = route({
  method: 'get',
  path: `${BASE}/check/`,
  summary: 'Order view: parameters, per group / host / step status and logs (CODO)',
  description: '0 获取订单信息成功; -1 订单ID不能为空; -2 运行组中没有可执行主机 (get_run_group names a group the order has no hosts in).',
  tags: ['codo'],
  action: 'task.read',
  style: 'codo',
  errors: [404],
  query: CheckQuery,
  links: [
    {
      method: 'patch',
      path: `${BASE}/check/`,
      requestBody: {
        list_id: '$response.body#/data/list_id',
        task_group: '$response.body#/data/scheduler_list/0/task_group',
        task_level: '$response.body#/data/scheduler_list/0/task_level',
        exec_ip: '$response.body#/data/scheduler_list/0/exec_ip',
        scheduler_id: '$response.body#/data/scheduler_list/0/sched_id',
      },
    },
    { method: 'put', path: `${BASE}/check/`, requestBody: { list_id: '$response.body#/data/list_id', hand_task: '$response.body#/data/hand_list/0' } },
  ],
  response: z.object({ code: z.literal(0), msg: z.string(), data: OrderView }),
  handler: async (ctx) => {
    const listId = ctx.query.list_id;
    if (listId === undefined) return { code: -1, msg: '订单ID不能为空' };
    const group = ctx.query.get_run_group;
    const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, listId, 'task.read');
    if (access.kind !== 'ok') throw notFound(listId);
    const data = await orderView(ctx.deps, ctx.user, access.loaded, group, ctx.query.get_run_host?.trim() || undefined);
    if (!data) return { code: -2, msg: '运行组中没有可执行主机' };
    return { code: 0, msg: '获取订单信息成功', data };
  },
});

const releaseByNameRoute = route({
  method: 'put',
  path: `${BASE}/check/`,
  summary: 'Release the hand step named hand_task on every host (CODO)',
  description: '0 审核干预成功; -1 订单ID 不能为空; -2 任务名称不正确.',
  tags: ['codo'],
  action: 'task.intervene',
  style: 'codo',
  errors: [404],
  body: z.object({ list_id: codoId(), hand_task: str(200).nullable().optional().describe('the hand step name') }),
  response: OkReply,
  handler: async (ctx) => {
    const listId = ctx.body.list_id;
    ctx.audit = { action: 'task.release', target: listId ? `task:${listId}` : '', detail: { hand_task: ctx.body.hand_task ?? null } };
    if (listId === undefined) return { code: -1, msg: '订单ID 不能为空' };
    // As CODO: a missing name is refused before the order is looked at.
    const name = ctx.body.hand_task ?? '';
    if (name === '') return { code: -2, msg: '任务名称不正确' };
    const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, listId, 'task.intervene');
    if (access.kind === 'missing') throw notFound(listId);
    if (access.kind === 'denied') throw new HttpError(403, -2, `你没有干预权限: ${access.decision.message}`);
    // CODO answered 0 for a name no step had; opsflow says so.
    const stepIds = await handStepsNamed(ctx.deps.db, listId, name);
    if (stepIds.length === 0) return { code: -2, msg: '任务名称不正确' };
    try {
      for (const stepId of stepIds) await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, { action: 'release', stepId });
    } catch (err) {
      return interventionReply(err);
    }
    return { code: 0, msg: '审核干预成功' };
  },
});

const handBody = z.object({
  list_id: codoId(),
  task_group: optionalCodoInt(-INT32_MAX, INT32_MAX),
  task_level: optionalCodoInt(-INT32_MAX, INT32_MAX),
  exec_ip: str(300).nullable().optional(),
  hand_type: str(20).nullable().optional().describe('execute | restart | stop_one (another: CODO -5)'),
  scheduler_id: optionalCodoInt(-INT32_MAX, INT32_MAX).describe('sched_id of the step row (execute)'),
});

const handRoute = route({
  method: 'patch',
  path: `${BASE}/check/`,
  summary: 'Per-host intervention: execute a step row, restart a host from a level, stop a host (CODO)',
  description:
    'hand_type execute (needs scheduler_id; releases a hand step or retries a held one) → 0 审核执行成功, -2 审批执行任务参数缺失; ' +
    'restart → 0 重新执行成功; stop_one → 0 终止此组任务成功; -1 缺少必要参数; -1 执行类型不能为空; -5 错误任务类型.',
  tags: ['codo'],
  action: 'task.intervene',
  style: 'codo',
  errors: [404],
  body: handBody,
  response: OkReply,
  handler: async (ctx) => {
    const b = ctx.body;
    const listId = b.list_id;
    const group = b.task_group;
    const level = b.task_level;
    const ip = (b.exec_ip ?? '').trim();
    ctx.audit = { action: `task.hand.${b.hand_type ?? '?'}`, target: listId ? `task:${listId}` : '', detail: { group: group ?? null, level: level ?? null, host: ip } };
    if (listId === undefined || group === undefined || level === undefined || ip === '') return { code: -1, msg: '缺少必要参数' };
    if (b.hand_type === undefined || b.hand_type === null || b.hand_type === '') return { code: -1, msg: '执行类型不能为空' };
    if (!['execute', 'restart', 'stop_one'].includes(b.hand_type)) return { code: -5, msg: '错误任务类型' };
    const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, listId, 'task.intervene');
    if (access.kind === 'missing') throw notFound(listId);
    if (access.kind === 'denied') throw new HttpError(403, -2, `你没有干预权限: ${access.decision.message}`);
    const steps = await taskSteps(ctx.deps.db, listId, { group, host: ip });
    try {
      switch (b.hand_type) {
        case 'execute': {
          const schedId = b.scheduler_id;
          const row = schedId === undefined ? undefined : steps.find((s) => s.id === schedId);
          if (!row) return { code: -2, msg: '审批执行任务参数缺失' };
          const what: Intervention = row.status === 'waiting_hand' ? { action: 'release', stepId: row.step_id, host: row.host } : { action: 'retry', stepId: row.step_id, host: row.host };
          await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, what);
          return { code: 0, msg: '审核执行成功' };
        }
        case 'restart': {
          // CODO reruns the host from task_level: the first step at that level or later.
          const row = steps.filter((s) => s.level >= level).sort((a, b) => a.level - b.level)[0];
          if (!row) return { code: -3, msg: `no step at level ${level} or later on ${ip} in group ${group} to restart` };
          await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, { action: 'restart', stepId: row.step_id, host: row.host });
          return { code: 0, msg: '重新执行成功' };
        }
        default: {
          if (steps.length === 0) return { code: -3, msg: `host ${ip} is not in group ${group} of this order` };
          await interveneAs(taskServiceDeps(ctx.deps), ctx.user, listId, { action: 'abort', host: ip, group });
          return { code: 0, msg: '终止此组任务成功' };
        }
      }
    } catch (err) {
      return interventionReply(err);
    }
  },
});

const historyRoute = route({
  method: 'get',
  path: `${BASE}/check_history/`,
  summary: 'Finished orders you can see, newest first (CODO)',
  tags: ['codo'],
  action: 'task.list',
  style: 'codo',
  query: PageQuery,
  links: [{ method: 'get', path: `${BASE}/check/`, parameters: { 'query.list_id': '$response.body#/data/0/list_id' } }],
  response: z.object({ code: z.literal(0), msg: z.string(), data: z.array(CodoOrder), count: z.number(), history: z.literal(true) }),
  handler: async (ctx) => {
    const { data, count } = await orders(ctx, true, 500);
    return { code: 0, msg: '获取成功', data, count, history: true };
  },
});

export const codoTaskRoutes: AnyRoute[] = [csrfRoute, submitRoute, listRoute, approveRoute, terminateRoute, checkRoute, releaseByNameRoute, handRoute, historyRoute];
