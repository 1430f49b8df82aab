// The real CLI, as a person runs it: `opsflow start` in a fresh data dir (embedded PostgreSQL,
// Temporal dev server with its Web UI, API, worker), stopped with SIGTERM, started again;
// `migrate status` and `user list` against the same data dir; a bad setting; a database that
// goes away under a running instance. Ports are free ones, never the defaults, so a developer's
// own instance is left alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTotp } from '../../src/security/totp';
import {
  alive,
  commandLine,
  descendants,
  Opsflow,
  opsflowEnv,
  processesNaming,
  READY_LINE,
  runCli,
  waitUntil,
  type Ports,
} from '../support/opsflowCli';
import { freePort } from '../support/ports';

async function get(url: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Stops a running instance with SIGTERM and checks that it left nothing behind. */
async function stopAndCheckClean(instance: Opsflow, dataDir: string): Promise<void> {
  const tree = descendants(instance.child.pid!);
  const started = Date.now();
  instance.child.kill('SIGTERM');
  const { code, signal } = await instance.exited;
  expect({ code, signal }, instance.stderr).toEqual({ code: 0, signal: null });
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(instance.stderr).toContain('SIGTERM received: shutting down');
  // Everything we started stops before opsflow exits; allow the kernel a moment to reap.
  await waitUntil(() => tree.every((pid) => !alive(pid)), 3_000, 'child processes to exit').catch(() => undefined);
  expect(tree.filter(alive).map((pid) => `${pid} ${commandLine(pid)}`)).toEqual([]);
  expect(processesNaming(dataDir)).toEqual([]);
}

describe('opsflow start / stop / restart (the real CLI)', () => {
  let dataDir: string;
  let ports: Ports;
  let env: NodeJS.ProcessEnv;
  let instance: Opsflow | undefined;
  let firstUsers: unknown;
  let credentials: { text: string; mtimeMs: number };

  beforeAll(async () => {
    // mkdtemp makes a 0700 directory: the embedded PostgreSQL (another account when we are root)
    // must still be able to reach its cluster inside it.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-lifecycle-'));
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(await freePort());
    const [PORT, OPSFLOW_PG_PORT, OPSFLOW_TEMPORAL_PORT, TEMPORAL_UI_PORT] = [...picked] as [number, number, number, number];
    ports = { PORT, OPSFLOW_PG_PORT, OPSFLOW_TEMPORAL_PORT, TEMPORAL_UI_PORT };
    env = opsflowEnv({ ...ports, OPSFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await instance?.kill();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses PORT=abc with exit code 2 and one line on stderr naming PORT', async () => {
    const elsewhere = path.join(dataDir, 'never-created');
    const result = await runCli(['start'], { ...env, PORT: 'abc', OPSFLOW_DATA_DIR: elsewhere });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('opsflow: PORT="abc" is invalid: expected a TCP port 1-65535 for the HTTP API');
    expect(fs.existsSync(elsewhere)).toBe(false); // nothing was started or written
  });

  it('first start prints the admin login (password, TOTP URI) and the URLs', async () => {
    instance = new Opsflow(['start'], env);
    await instance.waitForStdout(READY_LINE, 50_000);
    const out = instance.stdout;
    const base = `http://127.0.0.1:${ports.PORT}`;
    expect(out).toContain(`API:              ${base}/api/`);
    expect(out).toContain(`API docs:         ${base}/api/docs`);
    expect(out).toContain(`Console:          ${base}/`);
    expect(out).toContain(`Temporal Web UI:  http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
    expect(out).toContain(`Temporal:         127.0.0.1:${ports.OPSFLOW_TEMPORAL_PORT}`);
    expect(out).toContain(`PostgreSQL:       embedded, 127.0.0.1:${ports.OPSFLOW_PG_PORT}`);
    expect(out).toMatch(/username:\s+admin\n/);
    const password = /password:\s+(\S+)/.exec(out)?.[1];
    expect(password).toMatch(/^\S{12,}$/);
    const uri = /otpauth:\/\/totp\/\S+/.exec(out)?.[0];
    expect(uri).toMatch(/^otpauth:\/\/totp\/opsflow:admin\?secret=[A-Z2-7]{16,}&issuer=opsflow$/);

    const file = path.join(dataDir, 'admin-credentials.txt');
    const stat = fs.statSync(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(password);
    expect(text).toContain(uri);
    credentials = { text, mtimeMs: stat.mtimeMs };
  });

  it('answers /healthz and /readyz with 200, and the Temporal Web UI on its port', async () => {
    const base = `http://127.0.0.1:${ports.PORT}`;
    const health = await get(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ code: 0 });
    const ready = await get(`${base}/readyz`);
    expect(ready.status, ready.body).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ code: 0, msg: 'ready', postgres: 'ok', temporal: 'ok' });
    const ui = await get(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`);
    expect(ui.status).toBe(200);
    expect(ui.type).toContain('text/html');
  });

  it('runs PostgreSQL and Temporal as its own children, and SIGTERM stops them all (exit 0)', async () => {
    const children = descendants(instance!.child.pid!).map(commandLine);
    expect(children.some((cmd) => /\/postgres -D \S+\/pg\b/.test(cmd) && cmd.includes(dataDir)), children.join('\n')).toBe(true);
    expect(children.some((cmd) => cmd.includes('temporal server start-dev') && cmd.includes(dataDir)), children.join('\n')).toBe(true);
    await stopAndCheckClean(instance!, dataDir);
    expect(instance!.stderr).toMatch(/stopped HTTP[\s\S]*stopped worker[\s\S]*stopped Temporal[\s\S]*stopped PostgreSQL/);
  });

  it('`migrate status` and `user list` work against the stopped instance’s data', async () => {
    const migrate = await runCli(['migrate', 'status'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    const lines = migrate.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^\d{4}_\S+ {2}applied \d{4}-\d\d-\d\dT/);

    const list = await runCli(['user', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const users = JSON.parse(list.stdout) as { username: string; role: string; disabled: boolean }[];
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ username: 'admin', role: 'admin', disabled: false });
    firstUsers = users;
    // Both started PostgreSQL briefly and stopped it again.
    expect(processesNaming(dataDir)).toEqual([]);
  });

  it('a second start keeps the admin: no new credentials', async () => {
    // This time exactly as the README says, `npm start`: its SIGTERM (below) must reach opsflow too.
    instance = new Opsflow([], env, { program: ['npm', 'start'] });
    await instance.waitForStdout(READY_LINE, 50_000);
    expect(instance.stdout).not.toContain('First start');
    expect(instance.stdout).not.toMatch(/password:|otpauth:/);
    expect(instance.stdout).toContain(`first-start credentials: ${dataDir}/admin-credentials.txt`);
    const file = path.join(dataDir, 'admin-credentials.txt');
    expect(fs.readFileSync(file, 'utf8')).toBe(credentials.text);
    expect(fs.statSync(file).mtimeMs).toBe(credentials.mtimeMs);
    const ready = await get(`http://127.0.0.1:${ports.PORT}/readyz`);
    expect(ready.status, ready.body).toBe(200);
  });

  it('`user add --json` works while opsflow runs, and the new user logs in with password and TOTP', async () => {
    const added = await runCli(['user', 'add', 'carol', '--role', 'operator', '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    const account = JSON.parse(added.stdout) as { username: string; password: string; totp_secret: string; otpauth_url: string };
    expect(account.username).toBe('carol');
    expect(account.otpauth_url).toBe(`otpauth://totp/opsflow:carol?secret=${account.totp_secret}&issuer=opsflow`);
    const res = await fetch(`http://127.0.0.1:${ports.PORT}/api/accounts/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'carol', password: account.password, dynamic: currentTotp(account.totp_secret) }),
    });
    expect(await res.json()).toMatchObject({ code: 0, msg: '登录成功', username: 'carol' });
  });

  it('/readyz answers 503 naming postgres when the database goes away; /healthz stays 200', async () => {
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(descendants(instance!.child.pid!)).toContain(postmaster);
    process.kill(postmaster, 'SIGINT'); // PostgreSQL's fast shutdown, as an operator or OOM would end it
    await waitUntil(() => !alive(postmaster), 15_000, 'PostgreSQL to stop');

    const base = `http://127.0.0.1:${ports.PORT}`;
    let ready = await get(`${base}/readyz`);
    await waitUntil(async () => (ready = await get(`${base}/readyz`)).status === 503, 10_000, '/readyz to answer 503');
    const body = JSON.parse(ready.body) as { code: number; msg: string; details: Record<string, string> };
    expect(body.code).toBe(503);
    expect(body.msg).toBe('not ready: postgres unreachable');
    expect(Object.keys(body.details)).toEqual(['postgres']);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect(instance!.running).toBe(true); // a lost database connection does not crash the process
  });

  it('SIGTERM to npm still shuts everything down cleanly after that', async () => {
    await stopAndCheckClean(instance!, dataDir);
  });

  it('the second start created no second admin (only the user added by the CLI is new)', async () => {
    const list = await runCli(['user', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const users = JSON.parse(list.stdout) as { username: string }[];
    expect(users.filter((u) => u.username !== 'carol')).toEqual(firstUsers);
  });

  it('`user add --password-stdin` works while opsflow is stopped and prints no password', async () => {
    const added = await runCli(['user', 'add', 'dave', '--role', 'viewer', '--password-stdin', '--json'], env, 'correct horse battery staple\n');
    expect(added.code, added.stderr).toBe(0);
    const account = JSON.parse(added.stdout) as Record<string, string>;
    expect(Object.keys(account).sort()).toEqual(['otpauth_url', 'totp_secret', 'username']);
    const list = JSON.parse((await runCli(['user', 'list', '--json'], env)).stdout) as { username: string; role: string }[];
    expect(list.find((u) => u.username === 'dave')).toMatchObject({ role: 'viewer' });
    expect(processesNaming(dataDir)).toEqual([]);
  });
});
