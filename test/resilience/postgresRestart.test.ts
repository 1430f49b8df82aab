// PostgreSQL stopped and started again while tasks run. Meanwhile the API answers 503 with a
// message naming the database (not a 500, not a hang); afterwards every accepted task is there
// and finishes, and each step's output is stored complete and in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, Stack, until, type TaskView } from './support/stack';

const HOSTS = ['127.0.11.1', '127.0.11.2', '127.0.11.3'];
const LINES = 60;

describe('PostgreSQL restarted mid-run', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ sshdGroups: [HOSTS] });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('the API answers 503 meanwhile; no accepted task is lost; the output resumes and is complete', async () => {
    // Prints a numbered line every 0.1 s for six seconds, across the outage.
    const script = stack.markerScript('count', `i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); sleep 0.1; done`);
    const templateId = await stack.createTemplate([
      { level: 1, name: 'count', script: 'COUNT' },
      { level: 2, name: 'after', script: 'AFTER' },
    ]);
    const args = { COUNT: script, AFTER: stack.markerScript('after', 'echo after') };
    const tasks = [await stack.submit(templateId, HOSTS, args), await stack.submit(templateId, HOSTS, args)];
    await until('output to flow', async () => {
      const logs = await stack.call<{ items: { chunk: string }[] }>('GET', `/api/v1/tasks/${tasks[0]}/logs`);
      return logs.items.some((l) => l.chunk.includes('line 5\n')) ? true : undefined;
    }, 60_000);

    await stack.stopPostgres();
    const down = Date.now();
    const answers = [];
    for (const [method, url, body] of [
      ['GET', `/api/v1/tasks/${tasks[0]}`, undefined],
      ['GET', '/api/v1/tasks', undefined],
      ['POST', '/api/v1/tasks', { template_id: templateId, task_name: 'during outage', schedule: 'ready', args, hosts: { '1': HOSTS } }],
      ['GET', `/api/task/v2/task/check/?list_id=${tasks[0]}`, undefined],
    ] as const) {
      const started = Date.now();
      const r = await stack.request(method, url, { body, timeoutMs: 15_000 });
      answers.push({ url: `${method} ${url}`, status: r.status, msg: (r.json as { msg?: string } | undefined)?.msg, ms: Date.now() - started });
    }
    await sleep(Math.max(0, 3000 - (Date.now() - down)));
    await stack.startPostgres();

    for (const a of answers) {
      expect(a.status, JSON.stringify(a)).toBe(503);
      expect(a.msg, JSON.stringify(a)).toMatch(/^database unavailable: PostgreSQL is not answering/);
      expect(a.ms, JSON.stringify(a)).toBeLessThan(10_000);
    }

    const views: TaskView[] = [];
    for (const id of tasks) {
      views.push(
        await until(`task ${id} to end`, async () => {
          const v = await stack.task(id);
          return ['succeeded', 'failed', 'cancelled'].includes(v.status) ? v : undefined;
        }, 60_000).catch(async (err: unknown) => {
          console.log(JSON.stringify(await stack.task(id), null, 1), stack.worker?.stderr, stack.api?.stderr);
          throw err;
        }),
      );
    }
    for (const v of views) {
      expect(v.steps.filter((s) => s.status !== 'succeeded').map((s) => `${s.host} ${s.name}: ${s.status} ${s.error ?? ''}`)).toEqual([]);
      expect(v.status).toBe('succeeded');
      for (const step of v.steps.filter((s) => s.name === 'count')) {
        const logs = await stack.call<{ items: { chunk: string; stream: string }[] }>('GET', `/api/v1/tasks/${v.id}/logs?step_run_id=${step.id}`);
        const stdout = logs.items.filter((l) => l.stream === 'stdout').map((l) => l.chunk).join('');
        const expected = Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`).join('');
        expect(stdout.replace(/^opsflow-pgid:\d+\n/, ''), `task ${v.id} ${step.host}`).toBe(expected);
      }
    }
    const counts = stack.markerCounts();
    for (const host of HOSTS) expect(Object.fromEntries(counts.get(host) ?? [])).toEqual({ count: 2, after: 2 }); // once per task
  });
});
