/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- tests poke at parsed JSON replies */
// Authentication on every route (enumerated from the registry and the OpenAPI document), the
// role × action matrix (from the permission table), task visibility, template submitter lists,
// four-eyes, and exec-user secrets that are never read back.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execUserSecretContext as engineContext } from '../../../src/security/secretContexts';
import { ALL_ROUTES } from '../../../src/api/routes';
import { openApiPath } from '../../../src/api/openapi';
import { ACTIONS, ROLES, roleAllows, type Action } from '../../../src/domain/permissions';
import { eventually, startApiStack, type ApiStack, type TestUser } from '../../support/apiStack';

let stack: ApiStack;
const users: Record<string, TestUser> = {};
let templateId: number;
let restrictedTemplateId: number;

function concretePath(p: string): string {
  // Ids that do not exist: an allowed caller gets 400/404 and nothing is changed.
  return p.replace(/:id\b/g, '999999').replace(/:stepId\b/g, '999999').replace(/:username\b/g, 'nobody');
}

beforeAll(async () => {
  stack = await startApiStack({ worker: true });
  for (const role of ROLES) users[role] = await stack.addUser(`${role}1`, role);
  users.sam = await stack.addUser('sam', 'submitter', { displayName: 'Sam S' });
  users.vera = await stack.addUser('vera', 'viewer');
  users.otto = await stack.addUser('otto', 'operator');
  users.tina = await stack.addUser('tina', 'viewer'); // a template approver by name
  const db = stack.database.db;
  await db.insertInto('exec_users').values({ alias: 'root', username: 'root', password: stack.box.seal('pw', engineContext.password('root')) }).execute();
  const t = await db.insertInto('templates').values({ name: 'open', approvers: JSON.stringify(['tina']) }).returning('id').executeTakeFirstOrThrow();
  const r = await db.insertInto('templates').values({ name: 'restricted', allowed_submitters: JSON.stringify(['sam']) }).returning('id').executeTakeFirstOrThrow();
  templateId = t.id;
  restrictedTemplateId = r.id;
  for (const id of [t.id, r.id]) {
    await db.insertInto('template_steps').values({ template_id: id, group_no: 1, level: 1, name: 'noop', command: 'true', exec_user: 'root' }).execute();
  }
});
afterAll(async () => {
  await stack?.close();
});

describe('authentication on every route', () => {
  it('the OpenAPI document lists exactly the registered routes', async () => {
    const doc = (await stack.request('GET', '/api/v1/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([p, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort();
    expect(documented).toEqual(ALL_ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`).sort());
    expect(documented.length).toBeGreaterThan(50);
    // Every $ref points into the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(ref.startsWith('#/components/schemas/') && ref.split('/').pop()! in doc.components.schemas, ref).toBe(true);
    const docs = await stack.request('GET', '/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('/api/v1/openapi.json');
    expect(docs.text).not.toMatch(/https?:\/\/(?!127\.)/); // nothing from a CDN
    expect((await stack.request('GET', '/api/docs/docs.js')).status).toBe(200);
  });

  it('every route except login answers 401 {code:401,msg:"你没有登录"} without credentials, before looking at the body', async () => {
    const doc = (await stack.request('GET', '/api/v1/openapi.json')).json;
    const checked: string[] = [];
    for (const [p, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const url = p.replace(/\{id\}/g, '1').replace(/\{stepId\}/g, '1').replace(/\{username\}/g, 'nobody');
        const r = await stack.request(method.toUpperCase(), url, method === 'get' ? {} : { body: { junk: true } });
        if (op['x-permission'] === 'public') {
          expect(r.status, `${method} ${p}`).not.toBe(401);
          continue;
        }
        expect(r.status, `${method} ${p}`).toBe(401);
        expect(r.json, `${method} ${p}`).toEqual({ code: 401, msg: '你没有登录', details: null });
        checked.push(`${method} ${p}`);
      }
    }
    const publicRoutes = ALL_ROUTES.filter((r) => r.action === 'public').map((r) => r.path);
    expect(publicRoutes).toEqual(['/api/accounts/login/']);
    expect(checked.length).toBe(ALL_ROUTES.length - 1);
    // Health stays open.
    expect((await stack.request('GET', '/healthz')).status).toBe(200);
  });
});

describe('role × action matrix (from the permission table)', () => {
  it('each role reaches exactly the global actions its row allows (others: 403 naming the action)', async () => {
    const globalRoutes = ALL_ROUTES.filter((r) => r.action !== 'public' && ACTIONS[r.action].scope === 'global');
    expect(globalRoutes.length).toBeGreaterThan(25);
    const matrix: Record<string, Record<string, boolean>> = {};
    for (const role of ROLES) {
      const u = users[role]!;
      matrix[role] = {};
      for (const r of globalRoutes) {
        // An empty/invalid body: an allowed caller gets past the guard to validation (or 404), a refused one gets 403.
        const res = await stack.request(r.method.toUpperCase(), concretePath(r.path), { token: u.token, ...(r.method === 'get' ? {} : { body: { __invalid: 1 } }) });
        const allowed = roleAllows({ username: u.username, displayName: u.username, role }, r.action as Action);
        matrix[role][`${r.method} ${r.path}`] = res.status !== 403;
        if (allowed) expect(res.status, `${role} ${r.method} ${r.path}`).not.toBe(403);
        else {
          expect(res.status, `${role} ${r.method} ${r.path}`).toBe(403);
          expect(res.json.msg).toContain(`permission denied: ${r.action}`);
        }
        expect(res.status, `${role} ${r.method} ${r.path}`).toBeLessThan(500);
      }
    }
    // Spot checks of the table itself.
    expect(matrix.viewer!['post /api/v1/templates']).toBe(false);
    expect(matrix.operator!['post /api/v1/templates']).toBe(true);
    expect(matrix.operator!['post /api/v1/exec-users']).toBe(false);
    expect(matrix.admin!['post /api/v1/exec-users']).toBe(true);
    expect(matrix.approver!['get /api/v1/audit']).toBe(true);
    expect(matrix.submitter!['get /api/v1/audit']).toBe(false);
    expect(matrix.viewer!['post /api/task/v2/task/accept/']).toBe(false);
    expect(matrix.submitter!['post /api/task/v2/task/accept/']).toBe(true);
    // Refusals are in the audit trail with the actor.
    const refused = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'result']).where('actor', '=', 'viewer1').where('action', '=', 'template.write').execute();
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.result.startsWith('refused: permission denied'))).toBe(true);
  });

  it('task visibility and task actions: creator, submitter, associated users, template approvers, approvers and admins', async () => {
    const sam = users.sam!;
    const submit = await stack.request('POST', '/api/v1/tasks', {
      token: sam.token,
      body: { template_id: templateId, task_name: 'sams task', schedule: 'new', hosts: { '1': ['127.0.0.1'] }, associated_user: { watchers: ['vera'] } },
    });
    expect(submit.status).toBe(201);
    const id = submit.json.id as number;
    const read = async (u: TestUser) => (await stack.request('GET', `/api/v1/tasks/${id}`, { token: u.token })).status;
    const listed = async (u: TestUser) => (await stack.request('GET', '/api/v1/tasks', { token: u.token })).json.items.some((t: any) => t.id === id);
    const codoListed = async (u: TestUser) => (await stack.request('GET', '/api/task/v2/task/list/', { token: u.token })).json.data.some((t: any) => t.list_id === id);
    const expectations: [TestUser, boolean][] = [
      [sam, true], // creator
      [users.vera!, true], // associated user
      [users.tina!, true], // template approver
      [users.approver!, true],
      [users.admin!, true],
      [users.viewer!, false], // a viewer cannot read another's task
      [users.operator!, false],
      [users.submitter!, false],
    ];
    for (const [u, sees] of expectations) {
      expect(await read(u), u.username).toBe(sees ? 200 : 404);
      expect(await listed(u), u.username).toBe(sees);
      expect(await codoListed(u), u.username).toBe(sees);
      const check = await stack.request('GET', `/api/task/v2/task/check/?list_id=${id}`, { token: u.token });
      expect(check.json.code === 0, u.username).toBe(sees);
      const logs = await stack.request('GET', `/api/v1/tasks/${id}/logs`, { token: u.token });
      expect(logs.status, u.username).toBe(sees ? 200 : 404);
    }
    const invisible = await stack.request('GET', `/api/v1/tasks/${id}`, { token: users.viewer!.token });
    expect(invisible.json).toEqual({ code: 404, msg: `task ${id} not found`, details: null });

    // Approve: the creator may not (role and four-eyes), a viewer who can see it may not, the template approver may.
    expect((await stack.request('POST', `/api/v1/tasks/${id}/approve`, { token: sam.token, body: {} })).status).toBe(403);
    expect((await stack.request('POST', `/api/v1/tasks/${id}/approve`, { token: users.vera!.token, body: {} })).status).toBe(403);
    expect((await stack.request('POST', `/api/v1/tasks/${id}/pause`, { token: users.vera!.token, body: {} })).status).toBe(403);
    expect((await stack.request('POST', `/api/v1/tasks/${id}/approve`, { token: users.viewer!.token, body: {} })).status).toBe(404);
    const far = new Date(Date.now() + 3600_000).toISOString();
    const approved = await stack.request('POST', `/api/v1/tasks/${id}/approve`, { token: users.tina!.token, body: { start_at: far } });
    expect(approved.status).toBe(200);
    expect(approved.json.accepted).toBe(true);
    await eventually('scheduled', async () => ((await stack.request('GET', `/api/v1/tasks/${id}`, { token: sam.token })).json.status === 'scheduled' ? true : undefined));
    // The creator may cancel her own task.
    const cancelled = await stack.request('POST', `/api/v1/tasks/${id}/cancel`, { token: sam.token, body: { reason: 'not needed' } });
    expect(cancelled.status).toBe(200);
    await eventually('cancelled', async () => ((await stack.request('GET', `/api/v1/tasks/${id}`, { token: sam.token })).json.status === 'cancelled' ? true : undefined));
    // After the end, interventions are refused by the engine (409).
    const late = await stack.request('POST', `/api/v1/tasks/${id}/pause`, { token: users.admin!.token, body: {} });
    expect(late.status).toBe(409);

    const trail = await stack.database.db.selectFrom('audit_log').select(['actor', 'action', 'result']).where('target', '=', `task:${id}`).orderBy('id').execute();
    expect(trail.map((a) => `${a.actor} ${a.action} ${a.result.split(':')[0]}`)).toEqual([
      'sam task.submit ok',
      'sam task.approve refused',
      'vera task.approve refused',
      'vera task.pause refused',
      'viewer1 task.approve refused', // answered 404: the viewer does not learn the task exists
      'tina task.approve ok',
      'sam task.cancel ok',
      'admin1 task.pause refused',
    ]);
  });

  it('four-eyes: an admin may not approve a task she created', async () => {
    const admin = users.admin!;
    const r = await stack.request('POST', '/api/v1/tasks', { token: admin.token, body: { template_id: templateId, task_name: 'admin task', hosts: { '1': ['127.0.0.1'] } } });
    const self = await stack.request('POST', `/api/v1/tasks/${r.json.id}/approve`, { token: admin.token, body: {} });
    expect(self.status).toBe(403);
    expect(self.json.msg).toContain('four-eyes');
    expect((await stack.request('POST', `/api/v1/tasks/${r.json.id}/reject`, { token: users.approver!.token, body: { reason: 'no' } })).json.accepted).toBe(true);
    await eventually('rejected', async () => ((await stack.request('GET', `/api/v1/tasks/${r.json.id}`, { token: admin.token })).json.status === 'rejected' ? true : undefined));
  });

  it('template submitter lists: only listed users (and admins) may submit with a restricted template', async () => {
    const body = { template_id: restrictedTemplateId, task_name: 'restricted', hosts: { '1': ['127.0.0.1'] } };
    const refused = await stack.request('POST', '/api/v1/tasks', { token: users.submitter!.token, body });
    expect(refused.status).toBe(403);
    expect(refused.json.msg).toContain('does not allow submitter1');
    const codo = await stack.request('POST', '/api/task/v2/task/accept/', { token: users.operator!.token, body: { temp_id: restrictedTemplateId, hosts: "{1: '127.0.0.1'}" } });
    expect(codo.status).toBe(403);
    expect(codo.json.code).toBe(-2);
    expect((await stack.request('POST', '/api/v1/tasks', { token: users.sam!.token, body })).status).toBe(201);
    expect((await stack.request('POST', '/api/v1/tasks', { token: users.admin!.token, body })).status).toBe(201);
  });
});

describe('exec users: secrets are write-only', () => {
  it('stores the key sealed (the engine can open it), and reads show only the SHA256 fingerprint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
    const privateKey = fs.readFileSync(path.join(dir, 'k'), 'utf8');
    const expected = execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
    fs.rmSync(dir, { recursive: true, force: true });

    const admin = users.admin!;
    const created = await stack.request('POST', '/api/v1/exec-users', { token: admin.token, body: { alias: 'deploy', username: 'deploy', private_key: privateKey, password: 'sudo-password-1' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ alias: 'deploy', auth: 'key+password', key_fingerprint: expected, has_password: true, host_key_policy: 'tofu', port: 22 });
    const all = JSON.stringify((await stack.request('GET', '/api/v1/exec-users', { token: users.operator!.token })).json);
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toContain('sudo-password-1');
    expect(all).toContain(expected);

    const row = await stack.database.db.selectFrom('exec_users').selectAll().where('alias', '=', 'deploy').executeTakeFirstOrThrow();
    expect(row.private_key).not.toContain('PRIVATE KEY');
    expect(stack.box.open(row.private_key!, engineContext.privateKey('deploy'))).toBe(privateKey);
    expect(stack.box.open(row.password!, engineContext.password('deploy'))).toBe('sudo-password-1');
    // The audit detail names what changed, never the secret.
    const audit = await stack.database.db.selectFrom('audit_log').selectAll().where('target', '=', 'exec_user:deploy').execute();
    expect(JSON.stringify(audit)).not.toContain('sudo-password-1');
    expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');

    const removed = await stack.request('PATCH', `/api/v1/exec-users/${created.json.id}`, { token: admin.token, body: { password: null } });
    expect(removed.json).toMatchObject({ auth: 'key', has_password: false });
    expect((await stack.request('PATCH', `/api/v1/exec-users/${created.json.id}`, { token: admin.token, body: { private_key: null } })).status).toBe(409); // it would be left without a secret
  });

  it('known hosts: pin from a public key line (fingerprint as ssh-keygen prints it), list, forget', async () => {
    const admin = users.admin!;
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]);
    const line = `ssh-ed25519 ${blob.toString('base64')} test`;
    const fp = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
    const pinned = await stack.request('POST', '/api/v1/known-hosts', { token: admin.token, body: { host: '127.0.0.9', public_key: line } });
    expect(pinned.status).toBe(201);
    expect(pinned.json).toMatchObject({ host: '127.0.0.9', port: 22, key_type: 'ssh-ed25519', fingerprint: fp, pinned_by: 'user:admin1' });
    expect((await stack.request('GET', '/api/v1/known-hosts?host=127.0.0.9', { token: users.operator!.token })).json.items).toHaveLength(1);
    expect((await stack.request('DELETE', `/api/v1/known-hosts/${pinned.json.id}`, { token: admin.token })).status).toBe(200);
    expect((await stack.request('GET', '/api/v1/known-hosts?host=127.0.0.9', { token: admin.token })).json.items).toHaveLength(0);
  });
});
