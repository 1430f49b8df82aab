/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// The audit trail: state-changing requests appear with the right actor, action, target, IP and
// result; GET /api/v1/audit filters; the hash chain verifies, and `opsflow audit verify` fails
// (non-zero, naming the row) after a row is edited or removed.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, sealAuditBatch, verifyAuditChain } from '../../../src/audit/audit';
import { startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
let stack: ApiStack;
let admin: TestUser;
let approver: TestUser;
let viewer: TestUser;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      // The stack's master key: the audit chain is keyed by it.
      env: { ...process.env, DATABASE_URL: stack.database.url, OPSFLOW_MASTER_KEY: stack.masterKey, OPSFLOW_DATA_DIR: path.join(os.tmpdir(), 'opsflow-cli-test'), LOG_LEVEL: 'error' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  stack = await startApiStack();
  admin = await stack.addUser('ada', 'admin');
  approver = await stack.addUser('abe', 'approver');
  viewer = await stack.addUser('val', 'viewer');
});
afterAll(async () => {
  await stack?.close();
});

describe('audit trail', () => {
  it('records state-changing requests, successes and refusals, with actor, action, target, IP and result', async () => {
    const key = await stack.login(viewer);
    const created = await stack.request('POST', '/api/v1/commands', { token: admin.token, body: { name: 'uptime', command: 'uptime' } });
    expect(created.status).toBe(201);
    expect((await stack.request('POST', '/api/v1/commands', { token: viewer.token, body: { name: 'x', command: 'id' } })).status).toBe(403);
    expect((await stack.request('DELETE', `/api/v1/commands/${created.json.id}`, { token: admin.token })).status).toBe(200);
    // Reads are not audited.
    await stack.request('GET', '/api/v1/commands', { token: admin.token });

    const rows = await stack.database.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    const brief = rows.map((r) => [r.actor, r.action, r.target, r.result]);
    expect(brief).toEqual([
      ['val', 'account.login', 'user:val', 'ok'],
      ['ada', 'template.write', `command:${created.json.id}`, 'ok'],
      ['val', 'template.write', '', expect.stringMatching(/^refused: permission denied: template.write/)],
      ['ada', 'template.write', `command:${created.json.id}`, 'ok'],
    ]);
    expect(rows.every((r) => r.ip === '127.0.0.1' || r.ip === '::ffff:127.0.0.1')).toBe(true);
    expect(rows[1]!.detail).toMatchObject({ method: 'POST', path: '/api/v1/commands', status: 201, name: 'uptime' });
    expect(key).toMatch(/^ofs_/);
  });

  it('GET /api/v1/audit filters by actor, action prefix, target and result, newest first with a cursor', async () => {
    for (let i = 0; i < 3; i++) await stack.request('POST', '/api/v1/commands', { token: admin.token, body: { name: `c${i}`, command: 'true' } });
    const byActor = await stack.request('GET', '/api/v1/audit?actor=ada&limit=2', { token: approver.token });
    expect(byActor.status).toBe(200);
    expect(byActor.json.items).toHaveLength(2);
    expect(byActor.json.items[0].id).toBeGreaterThan(byActor.json.items[1].id);
    expect(byActor.json.items.every((r: any) => r.actor === 'ada')).toBe(true);
    const next = await stack.request('GET', `/api/v1/audit?actor=ada&limit=2&cursor=${byActor.json.next_cursor}`, { token: approver.token });
    expect(next.json.items[0].id).toBeLessThan(byActor.json.items[1].id);
    const refused = await stack.request('GET', '/api/v1/audit?result=refused', { token: approver.token });
    expect(refused.json.items.map((r: any) => r.actor)).toEqual(['val']);
    const prefix = await stack.request('GET', '/api/v1/audit?action=account.*', { token: admin.token });
    expect(prefix.json.items.map((r: any) => r.action)).toEqual(['account.login']);
    const target = await stack.request('GET', '/api/v1/audit?target=user:val', { token: admin.token });
    expect(target.json.items).toHaveLength(1);
    expect((await stack.request('GET', '/api/v1/audit', { token: viewer.token })).status).toBe(403);
    expect((await stack.request('GET', '/api/v1/audit/verify', { token: admin.token })).json).toMatchObject({ ok: true });
  });

  it('keeps one unbroken chain under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendAudit(stack.database.db, stack.box, { actor: 'load', action: 'test.concurrent', target: `n:${i}`, result: 'ok' })));
    const v = await verifyAuditChain(stack.database.db, stack.box);
    expect(v.ok).toBe(true);
  });

  it('keeps a row whose text carries NUL bytes (PostgreSQL text refuses them), shown as ␀', async () => {
    const id = await appendAudit(stack.database.db, stack.box, { actor: 'n\u0000ul', action: 'test.nul', target: 'user:a\u0000b', detail: { name: 'x\u0000', nested: ['\u0000'] }, result: 'refused: bad\u0000' });
    const row = await stack.database.db.selectFrom('audit_log').selectAll().where('id', '=', String(id)).executeTakeFirstOrThrow();
    expect([row.actor, row.target, row.result, row.detail]).toEqual(['n␀ul', 'user:a␀b', 'refused: bad␀', { name: 'x␀', nested: ['␀'] }]);
    await sealAuditBatch(stack.database.db, stack.box);
    expect((await verifyAuditChain(stack.database.db, stack.box)).ok).toBe(true);
  });

  it('chains rows written without a lock in seal order: a row committed late is chained after the others', async () => {
    const db = stack.database.db;
    // The stack's own sealer runs too: seal until a row is chained, whoever does it.
    const sealed = async (id: number) => {
      for (let i = 0; i < 200; i++) {
        await sealAuditBatch(db, stack.box);
        const row = await db.selectFrom('audit_log').select('seal_seq').where('id', '=', String(id)).executeTakeFirstOrThrow();
        if (row.seal_seq !== null) return Number(row.seal_seq);
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`audit row ${id} was never sealed`);
    };
    // A writer whose transaction commits after a later row was sealed.
    let late = 0;
    let earlySeq = 0;
    await db.transaction().execute(async (trx) => {
      late = await appendAudit(trx, stack.box, { actor: 'late', action: 'test.late', result: 'ok' });
      const early = await appendAudit(db, stack.box, { actor: 'early', action: 'test.late', result: 'ok' });
      expect(early).toBeGreaterThan(late);
      earlySeq = await sealed(early);
    });
    expect(await sealed(late)).toBeGreaterThan(earlySeq);
    expect((await verifyAuditChain(db, stack.box)).ok).toBe(true);
  });

  it('a row edited, or forged without the master key, before the sealer chains it fails verification', async () => {
    const db = stack.database.db;
    await verifyAuditChain(db, stack.box);
    const id = await appendAudit(db, stack.box, { actor: 'val', action: 'test.pending', result: 'refused: nope' });
    await sql`update audit_log set result = 'ok' where id = ${id}`.execute(db);
    expect(await verifyAuditChain(db, stack.box)).toMatchObject({ ok: false, firstBadId: id, reason: expect.stringContaining('edited') });
    await sql`update audit_log set result = 'refused: nope' where id = ${id}`.execute(db);
    expect((await verifyAuditChain(db, stack.box)).ok).toBe(true);
    // A database writer inserts a row of their own with a MAC they cannot compute correctly.
    const forged = await db
      .insertInto('audit_log')
      .values({ at: new Date(), actor: 'ada', action: 'test.forged', target: '', detail: '{}', ip: '', result: 'ok', row_mac: 'f'.repeat(64) })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(await verifyAuditChain(db, stack.box)).toMatchObject({ ok: false, firstBadId: Number(forged.id) });
    await sql`delete from audit_log where id = ${forged.id}`.execute(db);
  });

  it('`opsflow audit verify` passes, then fails naming the first tampered row (edited, then deleted)', async () => {
    const good = await cli('audit', 'verify');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^audit log intact: \d+ rows, hash chain verified/);

    const rows = await stack.database.db.selectFrom('audit_log').select(['id', 'result']).where('actor', '=', 'val').where('result', 'like', 'refused%').execute();
    const victim = rows[0]!.id;
    // Someone erases the trace of a refused attempt.
    await sql`update audit_log set result = 'ok' where id = ${victim}`.execute(stack.database.db);
    const edited = await cli('audit', 'verify', '--json');
    expect(edited.code).toBe(3);
    expect(JSON.parse(edited.stdout)).toMatchObject({ ok: false, firstBadId: Number(victim), reason: expect.stringContaining('edited') });
    const human = await cli('audit', 'verify');
    expect(human.code).toBe(3);
    expect(human.stdout).toContain(`row ${victim} is the first that does not check out`);
    expect((await stack.request('GET', '/api/v1/audit/verify', { token: admin.token })).json).toMatchObject({ ok: false, first_bad_id: Number(victim) });

    // Put it back; then delete a row in the middle instead.
    await sql`update audit_log set result = ${rows[0]!.result} where id = ${victim}`.execute(stack.database.db);
    expect((await cli('audit', 'verify')).code).toBe(0);
    await sql`delete from audit_log where id = ${victim}`.execute(stack.database.db);
    const deleted = await cli('audit', 'verify', '--json');
    expect(deleted.code).toBe(3);
    expect(JSON.parse(deleted.stdout).firstBadId).toBeGreaterThan(Number(victim));
  }, 60_000);

  it('`opsflow token create|revoke` work without a running API and are audited', async () => {
    const created = await cli('token', 'create', 'abe', '--name', 'nightly', '--expires-in-days', '7', '--json');
    expect(created.code, created.stderr).toBe(0);
    const t = JSON.parse(created.stdout);
    expect(t).toMatchObject({ username: 'abe', name: 'nightly', token: expect.stringMatching(/^oft_/) });
    expect((await stack.request('GET', '/api/v1/me', { token: t.token })).json.username).toBe('abe');
    const revoked = await cli('token', 'revoke', String(t.id));
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await stack.request('GET', '/api/v1/me', { token: t.token })).status).toBe(401);
    const trail = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'target']).where('action', 'like', 'token.%').orderBy('id').execute();
    expect(trail.map((r) => r.action)).toEqual(['token.create', 'token.revoke']);
    expect(trail[0]!.actor).toMatch(/^cli:/);
  }, 60_000);
});
