/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- parsed JSON replies */
// The OpenAPI document is the truth: schemathesis (an outside tool, pinned) generates requests
// from /api/v1/openapi.json for every operation, in every phase (examples, coverage, fuzzing,
// stateful) with every check, against the real API (PostgreSQL, Temporal, a worker) holding seed
// data, and must find nothing: no 5xx, no undocumented status or field, no valid request refused,
// no invalid one accepted, 405 with Allow for undeclared methods. Config: test/schemathesis.toml.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiStack, type ApiStack, type TestUser } from '../support/apiStack';
import { hashToken } from '../../src/security/tokens';
import { ensureSchemathesis } from '../support/schemathesis';

const CONFIG = path.resolve(__dirname, '../schemathesis.toml');
/** A hang guard only: test/schemathesis.toml's max-time (180 s) bounds the run itself. */
const RUN_TIMEOUT_MS = 8 * 60_000;

let stack: ApiStack;
let admin: TestUser;
let reportDir: string;
let seeded: { taskIds: number[]; stepIds: number[] };
/** A private key for the fuzzer to send where one is asked for (see test/schemathesis.toml). */
let privateKey: string;

/** Seed data, so operations meet real ids: an exec user, a template, a command, an argument label, a pinned host, tasks. */
async function seed(): Promise<{ taskIds: number[]; stepIds: number[] }> {
  const op = await stack.addUser('st-operator', 'operator');
  const call = async (method: string, p: string, body: unknown, token = admin.token): Promise<any> => {
    const r = await stack.request(method, p, { token, body });
    if (r.status >= 300 || (r.json?.code !== undefined && r.json.code !== 0)) throw new Error(`seed ${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
  await call('POST', '/api/v1/exec-users', { alias: 'root', username: 'root', password: 'not-a-real-password' });
  const template = await call('POST', '/api/v1/templates', {
    name: 'seeded',
    description: 'seed data for schemathesis',
    steps: [
      { group: 1, level: 1, name: 'hello', command: 'echo hello', args: 'WHO', exec_user: 'root' },
      { group: 1, level: 2, name: 'wait', command: 'true', trigger: 'hand', exec_user: 'root' },
    ],
  });
  const noArgs = await call('POST', '/api/v1/templates', {
    name: 'seeded without arguments',
    description: 'seed data for schemathesis: any submission of it names its arguments right',
    steps: [
      { group: 1, level: 1, name: 'hello', command: 'echo hello', exec_user: 'root' },
      { group: 1, level: 2, name: 'wait', command: 'true', trigger: 'hand', exec_user: 'root' },
    ],
  });
  // test/schemathesis.toml names these templates by their ids.
  expect([template.id, noArgs.id]).toEqual([1, 2]);
  await call('POST', '/api/v1/commands', { name: 'disk', command: 'df -h' });
  await call('POST', '/api/task/v2/task_layout/args/', { args_name: '主机名', args_self: 'WHO' });
  await call('POST', '/api/v1/known-hosts', { host: '127.0.0.1', port: 22, key_type: 'ssh-ed25519', fingerprint: `SHA256:${'A'.repeat(43)}` });
  // Submitted by the operator, so the admin may approve them (four-eyes).
  const taskIds: number[] = [];
  const stepIds = new Set<number>();
  for (const name of ['waiting one', 'waiting two']) {
    const task = await call('POST', '/api/v1/tasks', { template_id: template.id, task_name: name, hosts: { '1': ['127.0.0.1'] }, args: { WHO: 'x' } }, op.token);
    taskIds.push(Number(task.id));
    for (const step of (await call('GET', `/api/v1/tasks/${task.id}`, undefined)).steps) stepIds.add(Number(step.step_id));
  }
  return { taskIds, stepIds: [...stepIds] };
}

/**
 * test/schemathesis.toml, plus what only a run knows: the seeded tasks' ids and step ids (as the
 * decimal text the path's schema describes), which
 * the routes under /api/v1/tasks/{id} then meet half the time (random ids only ever find 404).
 */
function runConfig(dir: string, seeded: { taskIds: number[]; stepIds: number[] }): string {
  const file = path.join(dir, 'schemathesis.toml');
  const extra = [
    '',
    '# Added by test/integration/schemathesis.test.ts for this run.',
    '[dictionaries.seeded_task]',
    `values = [${seeded.taskIds.map((id) => `"${id}"`).join(', ')}]`,
    '[dictionaries.seeded_step]',
    `values = [${seeded.stepIds.map((id) => `"${id}"`).join(', ')}]`,
    '[[operations]]',
    "include-path-regex = '^/api/v1/tasks/\\{id\\}'",
    'parameters = { "path.id" = { dictionary = "seeded_task", probability = 0.5 }, "path.stepId" = { dictionary = "seeded_step", probability = 0.5 } }',
    '',
  ];
  fs.writeFileSync(file, fs.readFileSync(CONFIG, 'utf8') + extra.join('\n'));
  return file;
}

/**
 * The fuzzer uses the admin's own token and may, legitimately, revoke it, disable or demote its
 * user (every admin operation is fair game): undo that at once, so the rest of the run is not
 * a run of 401s. The API is not involved; this is the harness keeping its credential.
 */
function keepAdminAlive(): () => Promise<void> {
  const db = stack.database.db;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await db.updateTable('api_tokens').set({ revoked_at: null }).where('token_hash', '=', hashToken(admin.token)).where('revoked_at', 'is not', null).execute();
      await db.updateTable('users').set({ disabled: false, role: 'admin' }).where('username', '=', admin.username).where((eb) => eb.or([eb('disabled', '=', true), eb('role', '!=', 'admin')])).execute();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

function runSchemathesis(exe: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run in the report's temporary directory: schemathesis keeps a cache (.schemathesis/) in its cwd.
    const child = spawn(exe, args, { env, cwd: reportDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  // The product's own cap (100,000 runs per task): fuzzing creates, views, approves and rejects
  // tasks of tens of thousands of runs (docs/api.md).
  stack = await startApiStack({ worker: true });
  admin = await stack.addUser('st-admin', 'admin');
  seeded = await seed();
  reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-schemathesis-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'schemathesis', '-f', path.join(reportDir, 'key')]);
  privateKey = fs.readFileSync(path.join(reportDir, 'key'), 'utf8');
});
afterAll(async () => {
  await stack?.close();
  if (reportDir) fs.rmSync(reportDir, { recursive: true, force: true });
});

it('schemathesis finds 0 failures over every operation, check and phase', async () => {
  const exe = await ensureSchemathesis((line) => console.log(`[schemathesis setup] ${line}`));
  const report = path.join(reportDir, 'report.json');
  const args = ['--no-color', '--config-file', runConfig(reportDir, seeded), 'run', `${stack.base}/api/v1/openapi.json`, '--report', 'json', '--report-json-path', report, ...(process.env.OPSFLOW_ST_ARGS?.split(/\s+/).filter(Boolean) ?? [])];
  console.log(`[schemathesis] ${exe} ${args.join(' ')}`);
  const stopKeeping = keepAdminAlive();
  const { code, output } = await runSchemathesis(exe, args, { ...process.env, OPSFLOW_ST_TOKEN: admin.token, OPSFLOW_ST_PRIVATE_KEY: privateKey }).finally(stopKeeping);
  // The summary (and every failure with its reproduction) is schemathesis's own output.
  console.log(output);
  if (process.env.OPSFLOW_ST_DEBUG) {
    const rows = await stack.database.db.selectFrom('audit_log').select(['id', 'actor', 'action', 'target', 'result', 'detail']).where((eb) => eb.or([eb('target', 'like', 'user:st-admin%'), eb('target', 'like', 'token:%')])).orderBy('id').execute();
    console.log(JSON.stringify(rows.filter((r) => r.result === 'ok'), null, 1));
  }
  expect(fs.existsSync(report), `schemathesis wrote no report (exit ${code})`).toBe(true);
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  expect(result.operations.selected).toBeGreaterThan(60);
  console.log(`[schemathesis] phases: ${JSON.stringify(result.phases)}`);
  for (const phase of ['examples', 'coverage', 'fuzzing', 'stateful']) expect(result.phases[phase]?.status, phase).toBe('success');
  expect(result.errors).toEqual([]);
  expect(result.failures).toEqual([]);
  expect(result.test_cases.unique_failures).toBe(0);
  expect(code).toBe(0);
  // The admin's token still works: the run did not silently turn into a run of 401s.
  expect((await stack.request('GET', '/api/v1/me', { token: admin.token })).status).toBe(200);
}, RUN_TIMEOUT_MS + 120_000);
