/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- newman's JSON report */
// The repository's Postman collection (postman/codo-flow.postman_collection.json), run by newman
// as an ops team's Postman would run it, against a started opsflow with the real engine and sshd:
// TOTP login, one GET of the csrf_key, two different submissions on cookies alone, order view,
// list, approval by a second person, terminate, hand-step release, history.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack, type TestUser } from '../support/apiStack';

const ROOT = path.resolve(__dirname, '../..');
const COLLECTION = path.join(ROOT, 'postman/codo-flow.postman_collection.json');
const NEWMAN = path.join(ROOT, 'node_modules/.bin/newman');
const HOST = '127.0.0.61';
const TEMPLATE_ID = 61;

let stack: ApiStack;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: [HOST] });
  const db = stack.database.db;
  await db.insertInto('templates').values({ id: TEMPLATE_ID, name: 'Postman flow' }).execute();
  await db
    .insertInto('template_steps')
    .values([
      { template_id: TEMPLATE_ID, group_no: 1, level: 1, name: 'prepare', command: 'echo prepared', exec_user: 'root', timeout_s: 60 },
      { template_id: TEMPLATE_ID, group_no: 1, level: 2, name: '人工确认', command: 'echo released', trigger: 'hand', exec_user: 'root', timeout_s: 60 },
    ])
    .execute();
  alice = await stack.addUser('alice', 'submitter', { displayName: 'Alice' });
  bob = await stack.addUser('bob', 'approver', { displayName: 'Bob' });
});
afterAll(async () => {
  await stack?.close();
});

function runNewman(vars: Record<string, string>, reportFile: string): Promise<{ code: number; output: string }> {
  const args = ['run', COLLECTION, '--reporters', 'cli,json', '--reporter-json-export', reportFile, '--timeout-request', '15000', '--color', 'off'];
  for (const [k, v] of Object.entries(vars)) args.push('--env-var', `${k}=${v}`);
  return new Promise((resolve) => {
    execFile(NEWMAN, args, { cwd: ROOT, timeout: 150_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('the Postman collection of the CODO flow, run by newman', () => {
  it('passes every assertion, and both submissions exist as different tasks', async () => {
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-newman-')), 'report.json');
    const { code, output } = await runNewman(
      {
        baseUrl: stack.base,
        submitter: alice.username,
        submitter_password: alice.password,
        submitter_totp_secret: alice.totpSecret,
        approver: bob.username,
        approver_password: bob.password,
        approver_totp_secret: bob.totpSecret,
        temp_id: String(TEMPLATE_ID),
        host: HOST,
      },
      report,
    );
    const run = JSON.parse(fs.readFileSync(report, 'utf8')).run;
    const failures = (run.failures as { error: { test?: string; message: string }; source: { name: string } }[]).map((f) => `${f.source.name}: ${f.error.test ?? ''} ${f.error.message}`);
    expect(failures, output).toEqual([]);
    expect(code, output).toBe(0);
    // Every request ran and asserted something (a collection that silently skips would pass too).
    expect(run.stats.assertions.total).toBeGreaterThanOrEqual(20);
    expect(run.stats.assertions.failed).toBe(0);

    const tasks = await stack.database.db.selectFrom('tasks').select(['id', 'task_name', 'status']).where('template_id', '=', TEMPLATE_ID).orderBy('id').execute();
    expect(tasks).toHaveLength(2);
    expect(tasks[0]?.task_name).toMatch(/^postman A \d+$/);
    expect(tasks[1]?.task_name).toMatch(/^postman B \d+$/);
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'cancelled']);
  }, 180_000);
});
