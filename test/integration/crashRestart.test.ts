// opsflow after it died without its orderly shutdown: `kill -9` mid-step (also of its watchdog,
// so PostgreSQL and Temporal are left orphaned) and `npm start` again on the same data dir; the
// watchdog stopping the services when only opsflow is killed; SIGHUP (the terminal closed) as an
// orderly shutdown; and a foreign program on a service port, which is never taken for ours.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WATCHDOG_NAME } from '../../src/supervise/watchdog';
import {
  alive,
  commandLine,
  descendants,
  Opsflow,
  opsflowEnv,
  pidsNaming,
  processesNaming,
  READY_LINE,
  runCli,
  sleep,
  waitUntil,
} from '../support/opsflowCli';
import { freePort } from '../support/ports';
import { startSshd, type SshdFixture } from '../support/sshd';

const HOST = '127.0.0.61';

interface TaskView {
  id: number;
  task_name: string;
  steps: { level: number; status: string; attempt: number; error: string | null }[];
}

describe('opsflow after a crash', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let base: string;
  let sshd: SshdFixture;
  let marker: string;
  let token: string;
  let taskId: number;
  const instances: Opsflow[] = [];
  const others: ChildProcess[] = [];

  const start = (program?: string[]): Opsflow => {
    const instance = new Opsflow(program ? [] : ['start'], env, { program, detached: true });
    instances.push(instance);
    return instance;
  };

  async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  const firstStep = async (): Promise<TaskView['steps'][number] | undefined> =>
    (await api<TaskView>('GET', `/api/v1/tasks/${taskId}`)).steps.find((s) => s.level === 1);

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-crash-restart-'));
    // Outside the data dir: the remote command naming it must not count as a process of the data dir.
    marker = path.join(os.tmpdir(), `opsflow-crash-marker-${process.pid}-${Date.now()}`);
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(await freePort());
    const [PORT, OPSFLOW_PG_PORT, OPSFLOW_TEMPORAL_PORT, TEMPORAL_UI_PORT] = [...picked] as [number, number, number, number];
    base = `http://127.0.0.1:${PORT}`;
    env = opsflowEnv({
      PORT,
      OPSFLOW_PG_PORT,
      OPSFLOW_TEMPORAL_PORT,
      TEMPORAL_UI_PORT,
      OPSFLOW_DATA_DIR: dataDir,
      OPSFLOW_ALLOWED_TARGETS: '127.0.0.0/8',
      LOG_LEVEL: 'info',
    });
    sshd = await startSshd({ addresses: [HOST] });
  });

  afterAll(async () => {
    for (const instance of instances) await instance.kill();
    for (const child of others) child.kill('SIGKILL');
    // Whatever a failed test left behind on this data dir.
    for (const pid of pidsNaming(dataDir)) process.kill(pid, 'SIGKILL');
    await sshd?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (marker) fs.rmSync(marker, { force: true });
  });

  it('kill -9 of opsflow and its watchdog mid-step: `npm start` replaces the orphans, the task is kept, its command ran once', async () => {
    const first = start();
    await first.waitForStdout(READY_LINE, 90_000);
    const created = await runCli(['token', 'create', 'admin', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    token = (JSON.parse(created.stdout) as { token: string }).token;

    await api('POST', '/api/v1/exec-users', { alias: 'root', username: sshd.username, port: sshd.port, private_key: sshd.clientPrivateKey });
    const template = await api<{ id: number }>('POST', '/api/v1/templates', {
      name: 'once only',
      steps: [
        { group: 1, level: 1, name: 'append once', command: 'sh -c', args: 'SCRIPT', exec_user: 'root', timeout_s: 120, retries: 3 },
        { group: 1, level: 2, name: 'next', command: 'true', exec_user: 'root' },
      ],
    });
    const script = `echo x >> ${marker}; sleep 8; echo done`;
    const task = await api<{ id: number }>('POST', '/api/v1/tasks', {
      template_id: template.id,
      task_name: 'crash mid-step',
      schedule: 'ready',
      args: { SCRIPT: script },
      hosts: { '1': [HOST] },
    });
    taskId = task.id;
    await waitUntil(async () => (await firstStep())?.status === 'running' && fs.existsSync(marker), 60_000, 'the step to run');

    // Kill its watchdog, then opsflow: nothing stops PostgreSQL and Temporal now.
    const tree = descendants(first.child.pid!);
    const watchdog = tree.filter((pid) => commandLine(pid).includes(WATCHDOG_NAME));
    expect(watchdog).toHaveLength(1);
    const services = pidsNaming(dataDir);
    expect(services).toHaveLength(2);
    expect(services.map(commandLine).join('\n')).toContain('postgres -D');
    expect(services.map(commandLine).join('\n')).toContain('start-dev');
    process.kill(watchdog[0]!, 'SIGKILL');
    await waitUntil(() => !alive(watchdog[0]!), 5_000, 'the watchdog to die');
    process.kill(first.child.pid!, 'SIGKILL');
    await first.exited;
    await sleep(500);
    expect(services.filter(alive)).toEqual(services); // orphaned, still running

    const second = start(['npm', 'start']);
    await second.waitForStdout(READY_LINE, 60_000);
    expect(second.stderr).toMatch(/PostgreSQL of \S+ \(pid \d+\) was left running by an opsflow process that is gone/);
    expect(second.stderr).toMatch(/Temporal dev server of \S+ \(pid \d+\) was left running by an opsflow process that is gone/);
    expect(services.filter(alive)).toEqual([]);

    const kept = await api<TaskView>('GET', `/api/v1/tasks/${taskId}`);
    expect(kept.task_name).toBe('crash mid-step');
    // The new worker follows the step's journal on the host: its real outcome, without a rerun.
    await waitUntil(async () => (await firstStep())?.status === 'succeeded', 90_000, 'the interrupted step to be recorded from its journal');
    expect(await firstStep()).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
  }, 240_000);

  it('kill -9 of opsflow alone: its watchdog stops PostgreSQL and Temporal', async () => {
    const npm = instances.at(-1)!;
    const node = descendants(npm.child.pid!).find((pid) => commandLine(pid).includes('src/main.ts start'));
    expect(node).toBeDefined();
    const watchdog = descendants(node!).filter((pid) => commandLine(pid).includes(WATCHDOG_NAME));
    expect(watchdog).toHaveLength(1);
    expect(pidsNaming(dataDir)).toHaveLength(2);
    process.kill(node!, 'SIGKILL');
    await waitUntil(() => pidsNaming(dataDir).length === 0 && !alive(watchdog[0]!), 30_000, 'PostgreSQL, Temporal and the watchdog to exit');
    await npm.exited;
  }, 60_000);

  it('SIGHUP (the terminal closed) is an orderly shutdown: exit 0, nothing left running', async () => {
    const third = start();
    await third.waitForStdout(READY_LINE, 60_000);
    expect(await firstStep()).toMatchObject({ status: 'succeeded' }); // the task survived that too
    const tree = descendants(third.child.pid!);
    process.kill(-third.child.pid!, 'SIGHUP'); // to its process group, as a terminal hangup does
    const { code, signal } = await third.exited;
    expect({ code, signal }, third.stderr).toEqual({ code: 0, signal: null });
    expect(third.stderr).toContain('SIGHUP received: shutting down');
    expect(third.stderr).toMatch(/stopped HTTP[\s\S]*stopped worker[\s\S]*stopped Temporal[\s\S]*stopped PostgreSQL/);
    await waitUntil(() => tree.every((pid) => !alive(pid)), 3_000, 'child processes to exit').catch(() => undefined);
    expect(tree.filter(alive).map((pid) => `${pid} ${commandLine(pid)}`)).toEqual([]);
    expect(processesNaming(dataDir)).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, 'temporal.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'pg.pid'))).toBe(false);
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
  }, 90_000);

  it('a foreign program on the Temporal or PostgreSQL port is named, and left alone', async () => {
    const port = await freePort();
    const foreign = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    others.push(foreign);
    await new Promise((resolve) => foreign.stdout.once('data', resolve));
    // Even a pid file naming it (a reused pid) does not make it ours: its command line does not match.
    const started = (pid: number): string => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    };
    const record = { service: { pid: foreign.pid, started: started(foreign.pid!) }, owner: { pid: 999_999_999, started: '1' } };
    fs.writeFileSync(path.join(dataDir, 'temporal.pid'), JSON.stringify(record));

    const temporal = await runCli(['start'], { ...env, OPSFLOW_TEMPORAL_PORT: String(port) });
    expect(temporal.code).toBe(1);
    expect(temporal.stderr.trimEnd().split('\n').at(-1)).toBe(
      `opsflow: port ${port} is already in use: stop the other Temporal server or set TEMPORAL_ADDRESS to use it`,
    );
    expect(alive(foreign.pid!)).toBe(true);
    expect(processesNaming(dataDir)).toEqual([]); // the PostgreSQL it had started is stopped again

    const postgres = await runCli(['start'], { ...env, OPSFLOW_PG_PORT: String(port) });
    expect(postgres.code).toBe(1);
    expect(postgres.stderr.trimEnd().split('\n').at(-1)).toBe(
      `opsflow: port ${port} is already in use by another program: stop it, or set OPSFLOW_PG_PORT to a free port (or DATABASE_URL)`,
    );
    expect(alive(foreign.pid!)).toBe(true);
    expect(processesNaming(dataDir)).toEqual([]);
  }, 90_000);
});
