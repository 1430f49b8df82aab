// The worker process `kill -9`ed five times while a 50-host, five-step task runs. Each step leaves
// a marker line on its target every time it runs, so the test counts real executions: every step
// must have run exactly once, none may be left `unknown` for a person, and the task succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { taskJournalDir } from '../support/journal';
import { pidsNaming } from '../support/opsflowCli';
import { sleep, Stack, until, type TaskView } from './support/stack';

const HOSTS = Array.from({ length: 50 }, (_, i) => `127.0.9.${i + 1}`);
const STEPS = ['s1', 's2', 's3', 's4', 's5'];
const KILLS = 5;

const running = (t: TaskView): number => t.steps.filter((s) => s.status === 'running').length;

/**
 * Waits until the task ends, or until nothing has changed for `quietMs` with no step running
 * (a task waiting for a person), and returns its last view.
 */
async function settled(stack: Stack, taskId: number, quietMs: number, timeoutMs: number): Promise<TaskView> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  for (;;) {
    const view = await stack.task(taskId);
    if (['succeeded', 'failed', 'cancelled'].includes(view.status)) return view;
    const snapshot = JSON.stringify(view.steps.map((s) => [s.id, s.status, s.attempt]));
    if (snapshot !== last) [last, since] = [snapshot, Date.now()];
    else if (running(view) === 0 && Date.now() - since > quietMs) return view;
    if (Date.now() > deadline) return view;
    await sleep(500);
  }
}

describe('worker killed mid-run', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ sshdGroups: [HOSTS] });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it(`kill -9 of the worker ${KILLS} times during a ${HOSTS.length}-host run: every step ran exactly once and the task succeeds`, async () => {
    const args = Object.fromEntries(STEPS.map((name, i) => [`S${i + 1}`, stack.markerScript(name, 'sleep 2; echo done')]));
    const templateId = await stack.createTemplate(STEPS.map((name, i) => ({ level: i + 1, name, script: `S${i + 1}` })));
    const taskId = await stack.submit(templateId, HOSTS, args);

    // Each kill lands while step commands execute on the targets (when any still do), then a
    // fresh worker process takes over. A command executing is a process on this machine whose
    // command line names the marker directory (sshd runs the step's shell with it).
    const executing = (): boolean => pidsNaming(stack.markers).length > 0;
    let killsMidStep = 0;
    for (let k = 0; k < KILLS; k++) {
      await until('a step command to execute', () => Promise.resolve(executing() ? true : undefined), 15_000).catch(() => undefined);
      await sleep(700);
      if (executing()) killsMidStep++;
      await stack.killWorker();
      await stack.startWorker();
    }

    const view = await settled(stack, taskId, 25_000, 150_000);
    const counts = stack.markerCounts();
    const ranTimes = (host: string, step: string): number => counts.get(host)?.get(step) ?? 0;
    const pairs = HOSTS.flatMap((host) => STEPS.map((step) => ({ host, step })));

    // Never twice: an interrupted step is not blindly run again.
    expect(pairs.filter((p) => ranTimes(p.host, p.step) > 1)).toEqual([]);
    // Nothing left for a person: the engine found out how every interrupted step ended.
    expect(view.steps.filter((s) => s.status === 'unknown').map((s) => `${s.host} ${s.name}: ${s.error ?? ''}`)).toEqual([]);
    // Every step ran, exactly once, and the task succeeded.
    expect(pairs.filter((p) => ranTimes(p.host, p.step) !== 1)).toEqual([]);
    expect(view.steps.filter((s) => s.status !== 'succeeded')).toEqual([]);
    expect(view.status).toBe('succeeded');
    expect(killsMidStep).toBe(KILLS);
    // And the journals are gone from the targets, those of steps a lost try had finished too.
    const journal = await taskJournalDir(stack.db, taskId);
    await until('the journals to be removed', () => Promise.resolve(fs.existsSync(journal) ? undefined : true), 15_000).catch(() => undefined);
    expect(fs.existsSync(journal) ? fs.readdirSync(journal) : []).toEqual([]);
  }, 300_000);
});
