// The journal on the host: the worker process (the real `opsflow worker` CLI) is SIGKILLed
// mid-step and a new one started. The new try reconnects and follows the step's journal: a step
// still running is re-attached and its outcome recorded, one that finished meanwhile is recorded
// with its real exit code and the output the lost worker missed, one that never started runs —
// each exactly once (a marker file on the target counts the runs) — and the journals are gone.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { LOOPBACK_ONLY, startEngineStack, waitFor, type EngineStack } from '../../support/engine';
import { taskJournalDir } from '../../support/journal';

const HOST = '127.0.0.41';
const HOST2 = '127.0.0.42';
let stack: EngineStack;
const workers: ChildProcess[] = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-crash-'));

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: stack.database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      OPSFLOW_TASK_QUEUE: stack.temporal.taskQueue,
      OPSFLOW_MASTER_KEY: stack.masterKey,
      OPSFLOW_ALLOWED_TARGETS: LOOPBACK_ONLY,
      OPSFLOW_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    detached: true, // its own process group, so a SIGKILL of the group reaches everything it started
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(child);
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

beforeAll(async () => {
  stack = await startEngineStack({ addresses: [HOST, HOST2] }); // no in-process worker here
});
afterAll(async () => {
  for (const w of workers) killGroup(w, 'SIGKILL');
  await stack?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The task's journal directory on the targets (they share this machine's home). */
const journalDir = (taskId: number): Promise<string> => taskJournalDir(stack.database.db, taskId);

function tmpName(what: string): string {
  return path.join(os.tmpdir(), `opsflow-crash-${what}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
}

async function killWorker(child: ChildProcess): Promise<void> {
  killGroup(child, 'SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
}

describe('worker killed mid-step', () => {
  // Each test starts its own workers: none may pick up the next test's batches.
  afterEach(async () => {
    for (const w of workers) await killWorker(w);
  });

  it('re-attaches to a step still running: recorded once with its outcome and all its output; the next step runs', async () => {
    const marker = tmpName('marker');
    const script = `echo x >> ${marker}; echo before-kill; sleep 6; echo after-sleep`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'once only', command: 'sh -c', args: 'SCRIPT', retries: 3, timeout_s: 120 },
      { level: 2, name: 'next', command: 'echo next' },
    ]);
    const first = startWorkerProcess();
    const taskId = await stack.submit(templateId, { 1: [HOST] }, { args: { SCRIPT: script } });
    const run = await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'running', 60_000);
    await waitFor('the first output to be stored', async () => ((await stack.logText(run.id, 'stdout')).includes('before-kill') ? true : undefined));
    const journal = await journalDir(taskId);
    expect(fs.existsSync(path.join(journal, `${run.id}-1.pid`))).toBe(true);

    await killWorker(first);
    startWorkerProcess();

    const task = await stack.waitForTask(taskId, ['succeeded', 'failed'], 90_000);
    expect(task.status).toBe('succeeded');
    const runs = await stack.runs(taskId);
    expect(runs.find((r) => r.level === 1)).toMatchObject({ status: 'succeeded', exit_code: 0, attempt: 1 });
    expect(runs.find((r) => r.level === 2)).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    // Every byte once: what the lost worker stored, then the rest from the journal.
    expect(await stack.logText(run.id, 'stdout')).toBe('before-kill\nafter-sleep\n');
    const system = await stack.logText(run.id, 'system');
    expect(system.match(/\[CMD\]: sh -c SCRIPT/g)).toHaveLength(1);
    expect(system).toContain('following it through its journal on the host');
    expect(fs.existsSync(journal)).toBe(false);
    fs.rmSync(marker, { force: true });
  }, 150_000);

  it('records a step that finished while no worker was attached from its journal: real exit code and output, no rerun', async () => {
    const marker = tmpName('marker');
    const done = tmpName('done');
    // One host exits 0, the other 3 (sshd tells each command the address it answered on).
    const script = [
      `echo "$SSH_CONNECTION" >> ${marker}-$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
      'echo started; echo to-stderr >&2; sleep 2; echo finished-offline',
      `touch ${done}-$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
      `case "$SSH_CONNECTION" in *" ${HOST2} "*) exit 3;; esac`,
    ].join('; ');
    const templateId = await stack.createTemplate([
      { level: 1, name: 'finishes offline', command: 'sh -c', args: 'SCRIPT', retries: 3, timeout_s: 120 },
      { level: 2, name: 'after', command: 'echo after' },
    ]);
    const first = startWorkerProcess();
    const taskId = await stack.submit(templateId, { 1: [HOST, HOST2] }, { args: { SCRIPT: script } });
    for (const host of [HOST, HOST2]) {
      const run = await stack.waitForRun(taskId, (r) => r.host === host && r.level === 1 && r.status === 'running', 60_000);
      await waitFor(`output on ${host}`, async () => ((await stack.logText(run.id, 'stdout')).includes('started') ? true : undefined));
    }
    const journal = await journalDir(taskId);
    await killWorker(first);
    // Both commands finish on their hosts while no worker is attached.
    await waitFor('the steps to finish offline', () => Promise.resolve(fs.existsSync(`${done}-${HOST}`) && fs.existsSync(`${done}-${HOST2}`) ? true : undefined), 30_000);
    expect(fs.readdirSync(journal).filter((f) => f.endsWith('.rc'))).toHaveLength(2);
    startWorkerProcess();

    const held = await stack.waitForRun(taskId, (r) => r.host === HOST2 && r.level === 1 && r.status === 'held', 90_000);
    expect(held).toMatchObject({ exit_code: 3, attempt: 1 });
    expect(held.error).toMatch(/exit code 3/);
    const ok = await stack.waitForRun(taskId, (r) => r.host === HOST && r.level === 2 && r.status === 'succeeded', 60_000);
    expect(ok).toBeTruthy();
    for (const [host, run] of [[HOST, (await stack.runs(taskId)).find((r) => r.host === HOST && r.level === 1)!], [HOST2, held]] as const) {
      expect(fs.readFileSync(`${marker}-${host}`, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
      expect(await stack.logText(run.id, 'stdout')).toBe('started\nfinished-offline\n');
      expect(await stack.logText(run.id, 'stderr')).toBe('to-stderr\n');
    }
    expect((await stack.runs(taskId)).find((r) => r.host === HOST && r.level === 1)).toMatchObject({ status: 'succeeded', exit_code: 0 });
    // The held host's journal went with its recorded batch; the other host's with its last batch.
    await waitFor('the journals to be removed', () => Promise.resolve(fs.existsSync(journal) ? undefined : true), 10_000);
    for (const host of [HOST, HOST2]) fs.rmSync(`${marker}-${host}`, { force: true });
    for (const host of [HOST, HOST2]) fs.rmSync(`${done}-${host}`, { force: true });
  }, 150_000);

  it('removes the journals of the steps the lost try had finished before the one it was killed in', async () => {
    const marker = tmpName('marker');
    const templateId = await stack.createTemplate([
      { level: 1, name: 'quick', command: 'echo quick', retries: 3 },
      { level: 2, name: 'slow', command: 'sh -c', args: 'SCRIPT', retries: 3, timeout_s: 120 },
    ]);
    const first = startWorkerProcess();
    const taskId = await stack.submit(templateId, { 1: [HOST] }, { args: { SCRIPT: `echo x >> ${marker}; echo before-kill; sleep 4; echo after-sleep` } });
    const slow = await stack.waitForRun(taskId, (r) => r.level === 2 && r.status === 'running', 60_000);
    await waitFor('the slow step’s first output', async () => ((await stack.logText(slow.id, 'stdout')).includes('before-kill') ? true : undefined));
    const journal = await journalDir(taskId);
    const quick = (await stack.runs(taskId)).find((r) => r.level === 1)!;
    expect(quick.status).toBe('succeeded');
    // The quick step's journal stays behind with the lost try (it removes its batch's journals
    // only when its batch ends).
    expect(fs.existsSync(path.join(journal, `${quick.id}-1.rc`))).toBe(true);

    await killWorker(first);
    startWorkerProcess();

    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'], 90_000)).status).toBe('succeeded');
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    await waitFor('the journals to be removed', () => Promise.resolve(fs.existsSync(journal) ? undefined : true), 10_000);
    fs.rmSync(marker, { force: true });
  }, 150_000);

  it('runs a step an earlier try claimed but never started (no journal on the host), once', async () => {
    const marker = tmpName('marker');
    const templateId = await stack.createTemplate([{ level: 1, name: 'claimed only', command: 'sh -c', args: 'SCRIPT', retries: 3 }]);
    // No worker yet: the task waits; its row then looks as a lost try leaves it after its claim.
    const taskId = await stack.submit(templateId, { 1: [HOST] }, { args: { SCRIPT: `echo x >> ${marker}; echo ran` } });
    const run = (await stack.runs(taskId))[0]!;
    await stack.database.db.updateTable('step_runs').set({ status: 'running', attempt: 1 }).where('id', '=', run.id).execute();
    startWorkerProcess();
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'], 60_000)).status).toBe('succeeded');
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    expect(await stack.logText(run.id, 'stdout')).toBe('ran\n');
    expect(await stack.logText(run.id, 'system')).toContain('[CMD]: sh -c SCRIPT');
    expect(fs.existsSync(await journalDir(taskId))).toBe(false);
    fs.rmSync(marker, { force: true });
  }, 90_000);
});
