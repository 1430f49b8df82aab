// The whole task engine against real components: a fresh database, the run's Temporal dev
// server, a real Worker with the real activities, and OpenSSH sshd on 127.0.0.x.
// The worker's target allow-list is loopback only: tests never connect anywhere else.
import { execUserSecretContext } from '../../src/security/secretContexts';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../src/security/secretBox';
import { submitTask, type SubmitTaskInput, type TaskServiceDeps } from '../../src/tasks/submit';
import type { Actor } from '../../workflows/messages';
import type { StepRun, Task } from '../../src/db/schema';
import { createTestDatabase, type TestDatabase } from './db';
import { startSshd, type SshdFixture } from './sshd';
import { connectTestTemporal, type TestTemporal } from './temporal';
import { eventually } from './wait';
import { LOOPBACK_ONLY, testWorker } from './worker';

export { LOOPBACK_ONLY };

export interface StepSpec {
  group?: number;
  level: number;
  name: string;
  command: string;
  args?: string;
  trigger?: 'order' | 'timed' | 'hand';
  timeout_s?: number;
  retries?: number;
  idempotent?: boolean;
  on_failure?: 'hold' | 'abort' | 'continue';
  exec_user?: string;
}

export interface EngineStack {
  database: TestDatabase;
  temporal: TestTemporal;
  sshd: SshdFixture;
  box: SecretBox;
  masterKey: string;
  service: TaskServiceDeps;
  /** Starts the in-process worker (call stopWorker() to simulate none running). */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  createTemplate(steps: StepSpec[], opts?: { name?: string; maxParallel?: number }): Promise<number>;
  submit(templateId: number, hosts: Record<number, string[]>, extra?: Partial<SubmitTaskInput>, actor?: Actor): Promise<number>;
  task(taskId: number): Promise<Task>;
  runs(taskId: number): Promise<(StepRun & { name: string })[]>;
  logText(stepRunId: number, stream?: 'stdout' | 'stderr' | 'system'): Promise<string>;
  waitForTask(taskId: number, statuses: string[], timeoutMs?: number): Promise<Task>;
  waitForRun(taskId: number, match: (r: StepRun & { name: string }) => boolean, timeoutMs?: number): Promise<StepRun & { name: string }>;
  close(): Promise<void>;
}

export const alice: Actor = { username: 'alice', role: 'submitter' };
export const bob: Actor = { username: 'bob', role: 'approver' };

/** Kept as the engine tests' name for the shared poller. */
export const waitFor = eventually;

export async function startEngineStack(opts: { addresses: string[]; sshdPort?: number; shardHosts?: number }): Promise<EngineStack> {
  const database = await createTestDatabase();
  const temporal = await connectTestTemporal();
  const sshd = await startSshd({ addresses: opts.addresses, port: opts.sshdPort });
  const masterKey = generateMasterKey();
  const box = new SecretBox(parseMasterKey(masterKey));
  const { db } = database;

  await db
    .insertInto('exec_users')
    .values({
      alias: 'root',
      username: sshd.username,
      port: sshd.port,
      private_key: box.seal(sshd.clientPrivateKey, execUserSecretContext.privateKey('root')),
    })
    .execute();

  const worker = testWorker(temporal, { db, box });
  const service: TaskServiceDeps = { db, client: temporal.client, taskQueue: temporal.taskQueue, fourEyes: true, ...(opts.shardHosts ? { shardHosts: opts.shardHosts } : {}) };

  const stack: EngineStack = {
    database,
    temporal,
    sshd,
    box,
    masterKey,
    service,
    startWorker: () => worker.start(),
    stopWorker: () => worker.stop(),
    async createTemplate(steps, o = {}) {
      const template = await db
        .insertInto('templates')
        .values({ name: o.name ?? `template-${Math.random().toString(36).slice(2)}`, max_parallel: o.maxParallel ?? 50 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('template_steps')
        .values(
          steps.map((s) => ({
            template_id: template.id,
            group_no: s.group ?? 1,
            level: s.level,
            name: s.name,
            command: s.command,
            args: s.args ?? '',
            trigger: s.trigger ?? 'order',
            exec_user: s.exec_user ?? 'root',
            timeout_s: s.timeout_s ?? 60,
            retries: s.retries ?? 2,
            idempotent: s.idempotent ?? false,
            on_failure: s.on_failure ?? 'hold',
          })),
        )
        .execute();
      return template.id;
    },
    async submit(templateId, hosts, extra = {}, actor = alice) {
      const { taskId } = await submitTask(
        service,
        {
          templateId,
          taskName: extra.taskName ?? 'test task',
          schedule: extra.schedule ?? 'ready',
          execTime: extra.execTime ?? null,
          args: extra.args ?? {},
          hosts: new Map(Object.entries(hosts).map(([g, hs]) => [Number(g), hs])),
          ...extra,
        },
        actor,
      );
      return taskId;
    },
    task: (taskId) => db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow(),
    runs: (taskId) =>
      db
        .selectFrom('step_runs')
        .innerJoin('task_steps', 'task_steps.id', 'step_runs.task_step_id')
        .selectAll('step_runs')
        .select('task_steps.name')
        .where('step_runs.task_id', '=', taskId)
        .orderBy('step_runs.group_no')
        .orderBy('step_runs.host')
        .orderBy('step_runs.level')
        .execute(),
    async logText(stepRunId, stream) {
      let q = db.selectFrom('step_logs').select('chunk').where('step_run_id', '=', stepRunId);
      if (stream) q = q.where('stream', '=', stream);
      const rows = await q.orderBy('attempt').orderBy('seq').execute();
      return rows.map((r) => r.chunk).join('');
    },
    waitForTask: (taskId, statuses, timeoutMs = 30_000) =>
      waitFor(`task ${taskId} to be ${statuses.join('|')}`, async () => {
        const t = await stack.task(taskId);
        return statuses.includes(t.status) ? t : undefined;
      }, timeoutMs),
    waitForRun: (taskId, match, timeoutMs = 30_000) =>
      waitFor(`a step run of task ${taskId}`, async () => (await stack.runs(taskId)).find(match), timeoutMs),
    async close() {
      await stack.stopWorker();
      await sshd.stop();
      await temporal.close();
      await database.close();
    },
  };
  return stack;
}
