// /api/v1/tasks: submit, list (filters + cursor), read with steps, interventions, logs (+ SSE).
import { z } from 'zod';
import type { Action } from '../../domain/permissions';
import { isTaskStatus, TASK_STATUSES } from '../../domain/statuses';
import { accessTask, type LoadedTask } from '../../tasks/access';
import { parseArgs, parseAssociatedUser, parseHosts, parseTime } from '../../tasks/input';
import type { Intervention } from '../../tasks/interventions';
import { followLogs as follow, taskLogs, type LogFilter } from '../../tasks/logs';
import { findTaskStep, getTask, listTasks, taskSteps } from '../../tasks/queries';
import { idempotencyFor, interveneAs, isIdempotencyConflict, submitAs } from '../../tasks/service';
import { MAX_HOSTS_PER_GROUP, MAX_STEP_RUNS_PER_TASK, SubmitError, type SubmitResult } from '../../tasks/submit';
import { taskServiceDeps } from '../deps';
import { HttpError } from '../errors';
import { findCredential, NOT_LOGGED_IN, Reply, route, type AnyRoute, type Ctx } from '../routing';
import { IdParams, IdString, notFound, text, V1 } from './common';
import { stepJson, taskJson } from './taskJson';
import { v1Fields } from '../submitSchemas';
import { execTime, INT32_MAX, intParam, intParamOr, nonBlank, str, WS } from '../wire';

const SubmitBody = z
  .object({
    template_id: z.number().int().min(1).max(INT32_MAX).describe('an existing template (else 404)'),
    task_name: nonBlank(200),
    task_type: text(200).optional(),
    submitter: text(100).optional().describe('free-text name shown as submitter; default: your display name'),
    schedule: z.enum(['new', 'ready']).default('new').describe('new: wait for approval; ready: run at exec_time'),
    exec_time: execTime().nullable().optional().describe("ISO 8601 with offset, or 'YYYY-MM-DD HH:MM:SS' in OPSFLOW_TIMEZONE; empty: now"),
    args: v1Fields.args.default({}),
    hosts: v1Fields.hosts.describe(
      `group number → hosts, e.g. {"1": ["127.0.0.1"]}; every group of the template needs hosts, at most ${MAX_HOSTS_PER_GROUP} per group (else 400) and at most the template's max_hosts_per_group (else 409); at most ${MAX_STEP_RUNS_PER_TASK} hosts × steps per task (else 409)`,
    ),
    details: text(10_000).optional(),
    associated_user: v1Fields.associated_user.optional(),
  })
  .strict()
  .meta({
    id: 'SubmitTask',
    examples: [{ template_id: 1, task_name: 'deploy web', schedule: 'new', args: { VERSION: '1.2.3' }, hosts: { '1': ['10.0.0.1', '10.0.0.2'] } }],
  });

const SubmitHeaders = z.object({
  'Idempotency-Key': str(64, 1).optional().describe('makes a retry return the same task (200 instead of 201)'),
});

const StepOut = z.object({
  id: z.number().describe('step run id'),
  step_id: z.number().describe('task step id (use in /steps/{stepId}/…)'),
  group: z.number(),
  host: z.string(),
  level: z.number(),
  name: z.string(),
  trigger: z.string(),
  exec_user: z.string(),
  status: z.string(),
  exit_code: z.number().nullable(),
  attempt: z.number(),
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

const TaskOut = z
  .object({
    id: z.number(),
    task_name: z.string(),
    task_type: z.string(),
    template_id: z.number(),
    status: z.enum(TASK_STATUSES),
    schedule: z.enum(['new', 'ready']),
    creator: z.string(),
    submitter: z.string(),
    approver: z.string().nullable(),
    executor: z.string(),
    associated_user: z.record(z.string(), z.array(z.string())),
    args: z.record(z.string(), z.string()),
    hosts: z.record(z.string(), z.array(z.string())),
    details: z.string(),
    exec_time: z.string().nullable().describe('the start time as submitted'),
    planned_start: z.string().nullable().describe("the start time an approver chose or a reschedule set (null: exec_time)"),
    start_time: z.string().nullable().describe('when it began running'),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    max_parallel: z.number().describe("hosts run at once (the template's max_parallel when submitted)"),
    workflow_id: z.string().describe('the Temporal workflow running it'),
  })
  .meta({ id: 'Task' });

const submitRoute = route({
  method: 'post',
  path: `${V1}/tasks`,
  summary: 'Submit a task',
  description: 'Header `Idempotency-Key` (≤ 64 chars) makes a retry return the same task (200 instead of 201).',
  tags: ['tasks'],
  action: 'task.submit',
  style: 'v1',
  errors: [404, 409],
  headers: SubmitHeaders,
  body: SubmitBody,
  response: TaskOut.extend({ created: z.boolean() }),
  successStatus: 201,
  handler: async (ctx) => {
    const b = ctx.body;
    const tz = ctx.deps.config.OPSFLOW_TIMEZONE;
    const idem = ctx.headers['Idempotency-Key'] as string | undefined;
    ctx.audit = { action: 'task.submit', detail: { template_id: b.template_id } };
    const input = {
      templateId: b.template_id,
      taskName: b.task_name,
      taskType: b.task_type || undefined,
      submitter: b.submitter?.trim() || ctx.user.displayName,
      schedule: b.schedule,
      execTime: parseTime(b.exec_time === '' ? null : b.exec_time, 'exec_time', tz),
      args: parseArgs(b.args),
      hosts: parseHosts(b.hosts),
      details: b.details ?? '',
      associatedUser: parseAssociatedUser(b.associated_user ?? {}),
      ...idempotencyFor('Idempotency-Key', idem, ctx.user),
    };
    let result: SubmitResult;
    try {
      result = await submitAs(taskServiceDeps(ctx.deps), ctx.user, input);
    } catch (err) {
      if (!(err instanceof SubmitError)) throw err;
      // The core speaks CODO's field names; this API calls the template `template_id`.
      const field = err.field === 'temp_id' ? 'template_id' : err.field;
      const msg = err.fieldMessage.replace(/^temp_id:/, 'template_id:');
      if (isIdempotencyConflict(err, input)) ctx.audit.detail = { ...ctx.audit.detail, idempotency_conflict: true };
      // What is left after the schema depends on the template (its groups, limits, steps): 409.
      const status = err.httpStatus === 400 ? 409 : err.httpStatus;
      throw new HttpError(status, status, msg, [{ field, problem: msg, codo_code: err.code }]);
    }
    ctx.audit.target = `task:${result.taskId}`;
    // A new task comes back as stored; a retry's is read.
    const task = result.task ?? (await getTask(ctx.deps.db, result.taskId));
    if (!task) throw notFound(`task ${result.taskId}`);
    ctx.res.setHeader('Location', `${V1}/tasks/${task.id}`);
    return new Reply(result.created ? 201 : 200, { ...taskJson(task), created: result.created });
  },
});

const statusList = str(300).regex(new RegExp(`^${WS}*(?:${TASK_STATUSES.join('|')})${WS}*(?:,${WS}*(?:${TASK_STATUSES.join('|')})${WS}*)*$`), `comma-separated statuses from: ${TASK_STATUSES.join(', ')}`);

const ListQuery = z
  .object({
    status: statusList.optional(),
    template_id: IdString.optional(),
    creator: str(64).optional(),
    submitter: str(100).optional(),
    q: str(200).optional().describe('search in task name'),
    since: z.iso.datetime({ offset: true }).optional().describe('created at or after'),
    until: z.iso.datetime({ offset: true }).optional().describe('created before'),
    cursor: IdString.optional().describe('next_cursor from the previous page'),
    limit: intParamOr(1, 500, 50),
  })
  .strict();

const listRoute = route({
  method: 'get',
  path: `${V1}/tasks`,
  summary: 'List tasks you can see, newest first (cursor pages)',
  tags: ['tasks'],
  action: 'task.list',
  style: 'v1',
  query: ListQuery,
  response: z.object({ items: z.array(TaskOut), next_cursor: z.number().nullable() }),
  handler: async (ctx) => {
    const f = ctx.query;
    const filter = {
      statuses: f.status?.split(',').map((s) => s.trim()).filter(isTaskStatus),
      templateId: f.template_id,
      creator: f.creator,
      submitter: f.submitter,
      nameContains: f.q,
      createdSince: f.since ? new Date(f.since) : undefined,
      createdBefore: f.until ? new Date(f.until) : undefined,
      beforeId: f.cursor,
    };
    const rows = await listTasks(ctx.deps.db, ctx.user, filter, f.limit + 1);
    const page = rows.slice(0, f.limit);
    return { items: page.map(taskJson), next_cursor: rows.length > f.limit ? (page[page.length - 1]?.id ?? null) : null };
  },
});

async function requireTask(ctx: Ctx<{ id: number }, unknown, unknown>, action: Action): Promise<LoadedTask> {
  const access = await accessTask(taskServiceDeps(ctx.deps), ctx.user, ctx.params.id, action);
  ctx.audit.target = `task:${ctx.params.id}`;
  if (access.kind === 'missing') throw notFound(`task ${ctx.params.id}`);
  if (access.kind === 'denied') throw new HttpError(403, 403, access.decision.message, { action, reason: access.decision.reason });
  return access.loaded;
}

const getRoute = route({
  method: 'get',
  path: `${V1}/tasks/:id`,
  summary: 'A task with its steps (one row per step × host)',
  tags: ['tasks'],
  action: 'task.read',
  style: 'v1',
  params: IdParams,
  links: [
    { method: 'get', path: `${V1}/tasks/:id/logs`, parameters: { 'path.id': '$response.body#/id', 'query.step_run_id': '$response.body#/steps/0/id' } },
    { method: 'post', path: `${V1}/tasks/:id/steps/:stepId/retry`, parameters: { 'path.id': '$response.body#/id', 'path.stepId': '$response.body#/steps/0/step_id' }, requestBody: { host: '$response.body#/steps/0/host' } },
    { method: 'post', path: `${V1}/tasks/:id/steps/:stepId/skip`, parameters: { 'path.id': '$response.body#/id', 'path.stepId': '$response.body#/steps/0/step_id' }, requestBody: { host: '$response.body#/steps/0/host' } },
    { method: 'post', path: `${V1}/tasks/:id/steps/:stepId/restart`, parameters: { 'path.id': '$response.body#/id', 'path.stepId': '$response.body#/steps/0/step_id' }, requestBody: { host: '$response.body#/steps/0/host' } },
    { method: 'post', path: `${V1}/tasks/:id/steps/:stepId/abort`, parameters: { 'path.id': '$response.body#/id', 'path.stepId': '$response.body#/steps/0/step_id' }, requestBody: { host: '$response.body#/steps/0/host' } },
    { method: 'post', path: `${V1}/tasks/:id/steps/:stepId/release`, parameters: { 'path.id': '$response.body#/id', 'path.stepId': '$response.body#/steps/0/step_id' }, requestBody: { host: '$response.body#/steps/0/host' } },
  ],
  response: TaskOut.extend({ steps: z.array(StepOut) }),
  handler: async (ctx) => {
    const { task } = await requireTask(ctx, 'task.read');
    const steps = await taskSteps(ctx.deps.db, task.id);
    return { ...taskJson(task), steps: steps.map(stepJson) };
  },
});

const StartBody = z.object({ start_at: execTime().nullable().optional().describe('ISO 8601 or local time; null, blank or absent: now') }).strict();
const ReasonBody = z.object({ reason: text(1000).optional() }).strict();
const EmptyBody = z.object({}).strict();
const Accepted = z.object({ accepted: z.literal(true), status: z.string() });

function taskAction<B>(
  name: string,
  action: Action,
  body: z.ZodType<B>,
  summary: string,
  toIntervention: (b: B, tz: string) => Intervention,
): AnyRoute {
  return route({
    method: 'post',
    path: `${V1}/tasks/:id/${name}`,
    summary,
    tags: ['tasks'],
    action,
    style: 'v1',
    errors: [409],
    params: IdParams,
    body,
    response: Accepted,
    audit: `task.${name}`,
    handler: async (ctx) => {
      await requireTask(ctx, action);
      const what = toIntervention(ctx.body, ctx.deps.config.OPSFLOW_TIMEZONE);
      ctx.audit.detail = { ...what };
      return interveneAs(taskServiceDeps(ctx.deps), ctx.user, ctx.params.id, what);
    },
  });
}

const taskActions: AnyRoute[] = [
  taskAction('approve', 'task.approve', StartBody, 'Approve a task waiting for approval (four-eyes: not its creator)', (b, tz) => ({ action: 'approve', startAt: parseTime(b.start_at, 'start_at', tz) })),
  taskAction('reject', 'task.approve', ReasonBody, 'Reject a task waiting for approval', (b) => ({ action: 'reject', reason: b.reason })),
  taskAction('reschedule', 'task.reschedule', StartBody, 'Change the start time of a task that has not started', (b, tz) => ({ action: 'reschedule', startAt: parseTime(b.start_at, 'start_at', tz) })),
  taskAction('pause', 'task.intervene', EmptyBody, 'Pause: start no new steps', () => ({ action: 'pause' })),
  taskAction('resume', 'task.intervene', EmptyBody, 'Resume a paused task', () => ({ action: 'resume' })),
  taskAction('cancel', 'task.cancel', ReasonBody, 'Cancel: kill running commands, run nothing more', (b) => ({ action: 'cancel', reason: b.reason })),
];

const StepParams = z.object({
  id: IdString,
  stepId: IdString.describe('task step id (steps[].step_id)'),
});
const HostBody = z.object({ host: str(300, 1).describe('a host of the step (else 404)') }).strict();
const OptionalHostBody = z.object({ host: str(300, 1).optional().describe('absent: every host of the group') }).strict();

function stepAction(name: 'retry' | 'skip' | 'restart' | 'abort' | 'release', summary: string): AnyRoute {
  return route({
    method: 'post',
    path: `${V1}/tasks/:id/steps/:stepId/${name}`,
    summary,
    tags: ['tasks'],
    action: 'task.intervene',
    style: 'v1',
    errors: [409],
    params: StepParams,
    body: name === 'release' ? OptionalHostBody : HostBody,
    response: Accepted,
    audit: `task.step.${name}`,
    handler: async (ctx) => {
      await requireTask(ctx, 'task.intervene');
      const { stepId } = ctx.params;
      const host = ctx.body.host;
      ctx.audit.detail = { step_id: stepId, host: host ?? null };
      const step = await findTaskStep(ctx.deps.db, ctx.params.id, stepId, host);
      if (!step) throw notFound(`step ${stepId} of task ${ctx.params.id}`);
      if (!step.onHost) throw notFound(`host ${host} in step ${stepId}`);
      const what: Intervention =
        name === 'abort' ? { action: 'abort', host: host as string, group: step.group } : name === 'release' ? { action: 'release', stepId, host } : { action: name, stepId, host: host as string };
      return interveneAs(taskServiceDeps(ctx.deps), ctx.user, ctx.params.id, what);
    },
  });
}

const stepActions: AnyRoute[] = [
  stepAction('retry', 'Retry a held (failed or unknown) step on a host'),
  stepAction('skip', 'Skip a held step on a host and go on'),
  stepAction('restart', 'Rerun a held host from this step: it and every later step of the host run again (hand steps wait for a release again)'),
  stepAction('abort', "Abort the step's host: run nothing more there"),
  stepAction('release', 'Release a hand step on one host or the whole group'),
];

const LogsQuery = z
  .object({
    follow: z.enum(['0', '1', 'true', 'false']).optional().describe('1: Server-Sent Events until the task ends (resume with Last-Event-ID)'),
    after: intParam(0, Number.MAX_SAFE_INTEGER, 'a log entry id').optional().describe('only entries with id above this'),
    step_run_id: IdString.optional(),
    host: str(300).optional(),
    group: intParam(1, 1_000_000, 'a group number').optional(),
    limit: intParamOr(1, 10_000, 1000),
  })
  .strict();

const LogEntry = z.object({
  id: z.number(),
  step_run_id: z.number(),
  attempt: z.number(),
  seq: z.number(),
  stream: z.enum(['stdout', 'stderr', 'system']),
  chunk: z.string(),
  at: z.string(),
  group: z.number(),
  host: z.string(),
  level: z.number(),
  step: z.string(),
});

const logsRoute = route({
  method: 'get',
  path: `${V1}/tasks/:id/logs`,
  summary: 'Step output in order; ?follow=1 streams it as Server-Sent Events',
  description:
    'SSE events: `log` (data = one entry, id = entry id, so Last-Event-ID resumes), `status` (task status changes), ' +
    '`end` (the task finished and every entry was sent).',
  tags: ['tasks'],
  action: 'task.read',
  style: 'v1',
  params: IdParams,
  query: LogsQuery,
  response: z.object({ items: z.array(LogEntry), next_after: z.number().nullable() }),
  streams: true,
  handler: async (ctx) => {
    const { task } = await requireTask(ctx, 'task.read');
    const q = ctx.query;
    const filter = { stepRunId: q.step_run_id, host: q.host, group: q.group };
    if (q.follow !== '1' && q.follow !== 'true') {
      const items = await taskLogs(ctx.deps.db, task.id, { ...filter, after: q.after, limit: q.limit });
      return { items, next_after: items.length === q.limit ? (items[items.length - 1]?.id ?? null) : null };
    }
    const lastEventId = ctx.req.headers['last-event-id'];
    let after = q.after ?? 0;
    if (typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId)) after = Number(lastEventId);
    await followLogs(ctx, task.id, filter, after);
    return undefined;
  },
});

/** Streams the task's log as Server-Sent Events until the task ends or the credential stops being valid. */
async function followLogs(ctx: Ctx<unknown, unknown, unknown>, taskId: number, filter: LogFilter, after: number): Promise<void> {
  const { res, deps } = ctx;
  const found = findCredential(ctx.req);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  // The response's 'close' fires when the client goes away (or the stream ends).
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const send = (chunk: string): void => {
    if (!gone.signal.aborted) res.write(chunk);
  };
  send('retry: 2000\n\n');
  let lastStatus = '';
  let lastBeat = Date.now();
  try {
    const credential = found && 'token' in found ? found.token : '';
    const events = follow(deps.db, { taskId, filter, after, until: 'task', credential, pollMs: deps.logPollMs ?? 300, signal: gone.signal });
    for await (const e of events) {
      if (e.kind === 'unauthorized') {
        send(`event: error\ndata: ${JSON.stringify({ code: 401, msg: `${NOT_LOGGED_IN}: ${e.reason}` })}\n\n`);
        break;
      }
      for (const r of e.rows) send(`id: ${r.id}\nevent: log\ndata: ${JSON.stringify(r)}\n\n`);
      if (e.status !== lastStatus) {
        send(`event: status\ndata: ${JSON.stringify({ status: e.status })}\n\n`);
        lastStatus = e.status;
      }
      if (e.finished) send(`event: end\ndata: ${JSON.stringify({ status: e.status })}\n\n`);
      else if (Date.now() - lastBeat > 15_000) {
        send(': keep-alive\n\n');
        lastBeat = Date.now();
      }
    }
  } catch (err) {
    deps.log(`log stream for task ${taskId} failed: ${String(err)}`);
    send(`event: error\ndata: ${JSON.stringify({ msg: 'log stream failed; reconnect to resume' })}\n\n`);
  } finally {
    res.end();
  }
}

export const taskRoutes: AnyRoute[] = [submitRoute, listRoute, getRoute, ...taskActions, ...stepActions, logsRoute];
