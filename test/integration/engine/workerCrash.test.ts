// At-most-once: the worker process (the real `opsflow worker` CLI) is SIGKILLed mid-step and a
// new one started. The step must come back `unknown` and held — never silently run again —
// and the logs written before the kill must be kept.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { intervene } from '../../../src/tasks/interventions';
import { bob, LOOPBACK_ONLY, startEngineStack, waitFor, type EngineStack } from '../../support/engine';

const HOST = '127.0.0.41';
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
  stack = await startEngineStack({ addresses: [HOST] }); // no in-process worker here
});
afterAll(async () => {
  for (const w of workers) killGroup(w, 'SIGKILL');
  await stack?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('worker killed mid-step', () => {
  it('marks the step unknown and holds it; the command does not run a second time; earlier logs are kept', async () => {
    const marker = path.join(os.tmpdir(), `opsflow-marker-${Date.now()}`);
    const script = `echo x >> ${marker}; echo before-kill; sleep 6; echo after-sleep`;
    const templateId = await stack.createTemplate([
      { level: 1, name: 'once only', command: 'sh -c', args: 'SCRIPT', retries: 3, timeout_s: 120 },
      { level: 2, name: 'next', command: 'true' },
    ]);
    const first = startWorkerProcess();
    const taskId = await stack.submit(templateId, { 1: [HOST] }, { args: { SCRIPT: script } });
    const run = await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'running', 60_000);
    await waitFor('the first output to be stored', async () => ((await stack.logText(run.id, 'stdout')).includes('before-kill') ? true : undefined));

    killGroup(first, 'SIGKILL');
    await new Promise((r) => first.once('exit', r));
    startWorkerProcess();

    const unknown = await stack.waitForRun(taskId, (r) => r.level === 1 && r.status === 'unknown', 60_000);
    expect(unknown.error).toMatch(/worker .* lost/);
    expect(unknown.attempt).toBe(1);
    // Held: the task waits for a person, the next level has not started.
    expect((await stack.task(taskId)).status).toBe('running');
    expect((await stack.runs(taskId)).find((r) => r.level === 2)?.status).toBe('pending');
    // Long enough for a rerun to have happened if anything were to rerun it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    expect(await stack.logText(run.id, 'stdout')).toContain('before-kill');
    expect(await stack.logText(run.id, 'system')).toContain('[CMD]: sh -c SCRIPT');

    // An operator decides: skip it, and the task finishes.
    await intervene(stack.temporal.client, taskId, bob, { action: 'skip', stepId: unknown.task_step_id, host: HOST });
    expect((await stack.waitForTask(taskId, ['succeeded', 'failed'], 30_000)).status).toBe('succeeded');
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    fs.rmSync(marker, { force: true });
  }, 150_000);
});
