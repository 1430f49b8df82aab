// Running tasks end to end: order of groups/hosts/levels, safe arguments, non-ASCII,
// and what reaches Temporal's history (no secrets, no argument values).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineStack, type EngineStack } from '../../support/engine';

const HOSTS = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.16'];
let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ addresses: HOSTS });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

describe('task engine: a task runs to the end', () => {
  it('runs 2 groups × 3 hosts × 3 levels in order: groups in sequence, hosts in parallel, levels ascending', async () => {
    const steps = [1, 2].flatMap((group) =>
      [1, 2, 3].map((level) => ({ group, level, name: `g${group}-l${level}`, command: 'sleep 0.3; echo', args: 'FLOW_ID' })),
    );
    const templateId = await stack.createTemplate(steps);
    const taskId = await stack.submit(templateId, { 1: HOSTS.slice(0, 3), 2: HOSTS.slice(3) });
    const task = await stack.waitForTask(taskId, ['succeeded', 'failed'], 60_000);
    expect(task.status).toBe('succeeded');
    expect(task.start_time).not.toBeNull();
    expect(task.finished_at).not.toBeNull();

    const runs = await stack.runs(taskId);
    expect(runs).toHaveLength(18);
    for (const run of runs) {
      expect(run.status).toBe('succeeded');
      expect(run.exit_code).toBe(0);
      expect((await stack.logText(run.id, 'stdout')).trim()).toBe(String(taskId)); // FLOW_ID = list_id
    }
    const t = (d: Date | null): number => (d as Date).getTime();
    // Levels ascend on each host.
    for (const host of HOSTS) {
      const mine = runs.filter((r) => r.host === host).sort((a, b) => a.level - b.level);
      for (let i = 1; i < mine.length; i++) expect(t(mine[i]!.started_at)).toBeGreaterThanOrEqual(t(mine[i - 1]!.finished_at));
    }
    // Group 2 starts only after group 1 has finished everywhere.
    const lastOfGroup1 = Math.max(...runs.filter((r) => r.group_no === 1).map((r) => t(r.finished_at)));
    const firstOfGroup2 = Math.min(...runs.filter((r) => r.group_no === 2).map((r) => t(r.started_at)));
    expect(firstOfGroup2).toBeGreaterThanOrEqual(lastOfGroup1);
    // Hosts within a group overlap (parallel): each level-1 step started before any finished.
    const level1 = runs.filter((r) => r.group_no === 1 && r.level === 1);
    expect(Math.max(...level1.map((r) => t(r.started_at)))).toBeLessThan(Math.min(...level1.map((r) => t(r.finished_at))));
  });

  it('passes argument values as data: injection strings arrive literally and run nothing', async () => {
    const marker = `/tmp/pwned-${Date.now()}`;
    const templateId = await stack.createTemplate([{ level: 1, name: 'echo args', command: "printf '[%s]\\n'", args: 'EVIL SUBST TICKS' }]);
    const evil = `'; touch ${marker}; echo '`;
    const taskId = await stack.submit(templateId, { 1: ['127.0.0.11'] }, { args: { EVIL: evil, SUBST: `$(touch ${marker})`, TICKS: `\`touch ${marker}\`` } });
    await stack.waitForTask(taskId, ['succeeded', 'failed']);
    const [run] = await stack.runs(taskId);
    expect(run?.status).toBe('succeeded');
    expect(await stack.logText(run!.id, 'stdout')).toBe(`[${evil}]\n[$(touch ${marker})]\n[\`touch ${marker}\`]\n`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('carries non-ASCII task names and argument values into the remote command and back into the logs', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: '部署 · déploiement', command: 'echo', args: 'NAME' }]);
    const value = '杨红飞 — Ωmega ✓ naïve 😀';
    const taskId = await stack.submit(templateId, { 1: ['127.0.0.12'] }, { taskName: '这是任务名字', args: { NAME: value } });
    await stack.waitForTask(taskId, ['succeeded', 'failed']);
    const [run] = await stack.runs(taskId);
    expect(run?.name).toBe('部署 · déploiement');
    expect(await stack.logText(run!.id, 'stdout')).toBe(`${value}\n`);
    expect((await stack.task(taskId)).task_name).toBe('这是任务名字');
  });

  it('keeps private keys, passwords and argument values out of the workflow history', async () => {
    const secretArg = `s3cr3t-${Date.now()}`;
    const templateId = await stack.createTemplate([{ level: 1, name: 'uses secret', command: 'test -n', args: 'TOKEN' }]);
    const taskId = await stack.submit(templateId, { 1: ['127.0.0.13'] }, { args: { TOKEN: secretArg } });
    await stack.waitForTask(taskId, ['succeeded', 'failed']);
    const history = await stack.temporal.client.workflow.getHandle(`task-${taskId}`).fetchHistory();
    const text = JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
    expect(text).toContain('executeBatch'); // the history really holds the activities
    expect(text).not.toContain(secretArg);
    expect(text).not.toContain('PRIVATE KEY');
    const keyBody = stack.sshd.clientPrivateKey.split('\n')[1] ?? 'missing';
    expect(text).not.toContain(keyBody);
    expect(text).not.toContain('test -n'); // command text stays in PostgreSQL too
  });

  it('fails a host outside the allow-list before any connection, naming the reason', async () => {
    const templateId = await stack.createTemplate([{ level: 1, name: 'never sent', command: 'true' }]);
    // 172.16.0.101 is CODO's seed address: the allow-list (127.0.0.0/8) refuses it; nothing is sent.
    const taskId = await stack.submit(templateId, { 1: ['172.16.0.101'] });
    const run = await stack.waitForRun(taskId, (r) => r.status === 'held');
    expect(run.error).toMatch(/172\.16\.0\.101 is not in OPSFLOW_ALLOWED_TARGETS \(127\.0\.0\.0\/8\)/);
    expect(run.started_at).toBeNull();
  });

  it('refuses ::127.0.0.1 under 127.0.0.0/8: an IPv4-compatible IPv6 address is an IPv6 destination, not loopback', async () => {
    // The check used to read it as IPv4-mapped 127.0.0.1 (allowed) while the connection went to
    // the IPv6 address ::7f00:1. Now it is judged by what the kernel connects to, and refused.
    const templateId = await stack.createTemplate([{ level: 1, name: 'never sent', command: 'true' }]);
    const taskId = await stack.submit(templateId, { 1: ['::127.0.0.1'] });
    const run = await stack.waitForRun(taskId, (r) => r.status === 'held');
    expect(run.error).toMatch(/target ::127\.0\.0\.1 is not in OPSFLOW_ALLOWED_TARGETS \(127\.0\.0\.0\/8\); nothing was sent to it/);
    expect(run.started_at).toBeNull();
  });
});
