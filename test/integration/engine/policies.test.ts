// Engine policies: approval timeout, timed steps, transport retries, strict host keys,
// exec-user password login, and what the Temporal Web UI shows (search attributes, memo, summaries).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervene, taskProgress } from '../../../src/tasks/interventions';
import { execUserSecretContext } from '../../../src/security/secretContexts';
import { alice, bob, startEngineStack, type EngineStack } from '../../support/engine';
import { freePort } from '../../support/ports';
import { preparePasswordAccount, type PasswordAccount } from '../../support/passwordAccount';
import { startSshd, type SshdFixture } from '../../support/sshd';

const HOSTS = ['127.0.0.51', '127.0.0.52'];
let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: HOSTS });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

async function addExecUser(alias: string, port: number, policy: 'tofu' | 'strict' | 'off'): Promise<void> {
  await stack.database.db
    .insertInto('exec_users')
    .values({
      alias,
      username: stack.sshd.username,
      port,
      host_key_policy: policy,
      private_key: stack.box.seal(stack.sshd.clientPrivateKey, execUserSecretContext.privateKey(alias)),
    })
    .execute();
}

describe('policies', () => {
  it('a `new` task not approved within the approval timeout ends rejected by the system, having run nothing', async () => {
    stack.service.approvalTimeoutS = 2;
    try {
      const templateId = await stack.createTemplate([{ level: 1, name: 'never', command: 'true' }]);
      const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { schedule: 'new' });
      const task = await stack.waitForTask(taskId, ['rejected'], 15_000);
      expect(task.approver).toBe('system (approval timed out)');
      expect((await stack.runs(taskId))[0]?.status).toBe('cancelled');
    } finally {
      stack.service.approvalTimeoutS = null;
    }
  });

  it('a `timed` step waits for the submitted exec_time even when approved to start now', async () => {
    const templateId = await stack.createTemplate([
      { level: 1, name: 'prepare now', command: 'true' },
      { level: 2, name: 'switch at time', command: 'true', trigger: 'timed' },
    ]);
    const execTime = new Date(Date.now() + 3000);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { schedule: 'new', execTime });
    const now = new Date();
    await intervene(stack.temporal.client, taskId, bob, { action: 'approve', startAt: now });
    expect((await stack.task(taskId)).planned_start?.toISOString()).toBe(now.toISOString()); // the approver's choice is recorded
    await stack.waitForTask(taskId, ['succeeded', 'failed'], 20_000);
    const runs = await stack.runs(taskId);
    expect(runs[0]!.started_at!.getTime()).toBeLessThan(execTime.getTime());
    expect(runs[1]!.started_at!.getTime()).toBeGreaterThanOrEqual(execTime.getTime());
  });

  it('retries transport errors with backoff, then holds the step naming the reason', async () => {
    await addExecUser('nobody-listens', await freePort(), 'tofu');
    const templateId = await stack.createTemplate([{ level: 1, name: 'unreachable', command: 'true', exec_user: 'nobody-listens', retries: 2 }]);
    const started = Date.now();
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    const held = await stack.waitForRun(taskId, (r) => r.status === 'held', 30_000);
    // 3 attempts with 1 s then 2 s backoff between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(held.error).toMatch(/ECONNREFUSED|refused/);
    expect(held.started_at).toBeNull();
    const history = await stack.temporal.client.workflow.getHandle(`task-${taskId}`).fetchHistory();
    const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeBatch');
    const startedEvent = history.events?.find(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
    )?.activityTaskStartedEventAttributes;
    expect(startedEvent?.attempt).toBe(3); // retries: 2 → three tries
    await intervene(stack.temporal.client, taskId, bob, { action: 'cancel' });
  });

  it('strict host key policy refuses a host that is not pinned yet', async () => {
    await addExecUser('strict-user', stack.sshd.port, 'strict');
    const templateId = await stack.createTemplate([{ level: 1, name: 'strict', command: 'true', exec_user: 'strict-user' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[1]!] });
    const held = await stack.waitForRun(taskId, (r) => r.status === 'held');
    expect(held.error).toMatch(/is not in known hosts and the exec user's policy is strict/);
    await intervene(stack.temporal.client, taskId, bob, { action: 'cancel' });
  });

  it('keeps search attributes, memo and summaries current for the Temporal Web UI', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'deploy', command: 'true' }]);
    const taskId = await stack.submit(templateId, { 1: [HOSTS[0]!] }, { taskName: '这是任务名字', submitter: '杨红飞' }, alice);
    await stack.waitForTask(taskId, ['succeeded']);
    const handle = stack.temporal.client.workflow.getHandle(`task-${taskId}`);
    // The status write runs inside the workflow task that also upserts TaskStatus: PostgreSQL
    // shows `succeeded` a moment before that task completes.
    await handle.result();
    const described = await handle.describe();
    expect(described.searchAttributes).toMatchObject({
      TaskId: [taskId],
      TemplateId: [templateId],
      Submitter: ['杨红飞'],
      TaskStatus: ['succeeded'],
    });
    // startToken: tells this task's start from a workflow that only shares its id (src/tasks/workflowStart.ts).
    expect(described.memo?.taskName).toBe('这是任务名字');
    expect(described.memo?.startToken).toMatch(/^[0-9a-f]{24}$/);
    const meta = await described.staticSummary();
    expect(meta).toBe(`#${taskId} 这是任务名字 · template ${templateId} · 1 host`);
    const history = await handle.fetchHistory();
    const summary = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'executeBatch')?.userMetadata?.summary;
    expect(Buffer.from(summary?.data ?? []).toString()).toContain(`group 1 · ${HOSTS[0]} · level 1 · deploy`);
    const progress = await taskProgress(stack.temporal.client, taskId);
    expect(progress.status).toBe('succeeded');
    expect(progress.hosts[0]?.steps[0]).toMatchObject({ name: 'deploy', status: 'succeeded', attempt: 1 });
  });
});

describe('exec user with a password (a real account, checked by sshd against /etc/shadow)', () => {
  const PASSWORD_HOST = '127.0.0.53';
  let account: PasswordAccount;
  let passwordSshd: SshdFixture;

  beforeAll(async () => {
    account = await preparePasswordAccount();
    passwordSshd = await startSshd({ addresses: [PASSWORD_HOST], passwordLogins: [account.username] });
  });
  afterAll(async () => {
    await passwordSshd?.stop();
    await account?.lock();
  });

  async function addPasswordUser(alias: string, password: string): Promise<void> {
    await stack.database.db
      .insertInto('exec_users')
      .values({
        alias,
        username: account.username,
        port: passwordSshd.port,
        password: stack.box.seal(password, execUserSecretContext.password(alias)),
      })
      .execute();
  }

  it('logs in with the password and runs the step as that account; the password never reaches the history', async () => {
    await addPasswordUser('pw-right', account.password);
    const templateId = await stack.createTemplate([{ level: 1, name: 'whoami', command: 'id -un', exec_user: 'pw-right' }]);
    const taskId = await stack.submit(templateId, { 1: [PASSWORD_HOST] });
    await stack.waitForTask(taskId, ['succeeded', 'failed'], 20_000);
    const [run] = await stack.runs(taskId);
    expect(run?.status).toBe('succeeded');
    expect((await stack.logText(run!.id, 'stdout')).trim()).toBe(account.username);
    const history = JSON.stringify(await stack.temporal.client.workflow.getHandle(`task-${taskId}`).fetchHistory());
    expect(history).not.toContain(account.password);
  });

  it('a wrong password holds the step with an authentication error, having run nothing', async () => {
    await addPasswordUser('pw-wrong', `${account.password}-not`);
    const templateId = await stack.createTemplate([{ level: 1, name: 'never runs', command: 'id -un', exec_user: 'pw-wrong' }]);
    const taskId = await stack.submit(templateId, { 1: [PASSWORD_HOST] });
    const held = await stack.waitForRun(taskId, (r) => r.status === 'held', 20_000);
    expect(held.error).toMatch(/authentication as opsflow-pwtest failed/);
    expect(held.started_at).toBeNull();
    await intervene(stack.temporal.client, taskId, bob, { action: 'cancel' });
  });
});
