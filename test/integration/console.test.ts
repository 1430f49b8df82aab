/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- tests poke at parsed JSON replies */
// The operator console (web/, served at /) in a real browser against the real stack: Debian's
// Chromium driven by playwright-core, the API with a real worker, OpenSSH sshd on 127.0.0.61
// (loopback only), PostgreSQL and Temporal from globalSetup. A person signs in with a TOTP code,
// sees a task appear in the auto-refreshing list, follows its log live over Server-Sent Events,
// releases its hand step and watches it succeed; failed sign-ins show the API's own message.
//
// OPSFLOW_CONSOLE_SCREENSHOTS=<dir> saves screenshots of the main views there; a failing test
// saves one to the OS temp dir and names it in the error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTotp } from '../../src/security/totp';
import { startApiStack, type ApiStack, type TestUser } from '../support/apiStack';

const CHROMIUM = '/usr/bin/chromium';
const SSH_HOST = '127.0.0.61';
const UI_TIMEOUT_MS = 30_000;

let stack: ApiStack;
let browser: Browser | undefined;
let olga: TestUser;
let anna: TestUser;

// Without Chromium every browser test fails with this (none is skipped).
const NO_CHROMIUM = `Chromium not found at ${CHROMIUM}: run \`apt-get install -y chromium\` (.ci/run installs it)`;

beforeAll(async () => {
  stack = await startApiStack({ worker: true, sshdAddresses: [SSH_HOST] });
  olga = await stack.addUser('olga', 'operator', { displayName: 'Olga Ops' });
  anna = await stack.addUser('anna', 'approver');
  if (!fs.existsSync(CHROMIUM)) return;
  // launch() gives every run a fresh temporary profile (its own --user-data-dir), removed on close.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--no-proxy-server'],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Session {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and CSP violations seen by the page. */
  problems: string[];
}

async function openConsole(): Promise<Session> {
  if (!browser) throw new Error(NO_CHROMIUM);
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${stack.base}/`);
  return { context, page, problems };
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.OPSFLOW_CONSOLE_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** Runs `body`; on failure saves a screenshot to the OS temp dir and names it in the error. */
async function withFailureShot(page: Page, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const file = path.join(os.tmpdir(), `opsflow-console-${name}-${Date.now()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    // What the API says about the tasks, to tell a console bug from an engine one.
    const tasks = await stack.request('GET', '/api/v1/tasks', { token: olga.token }).catch(() => null);
    const items = (tasks?.json?.items ?? []) as { id: number; status: string }[];
    const states = items.map((t) => `#${t.id} ${t.status}`).join(', ');
    if (err instanceof Error) err.message += `\n(screenshot of the page: ${file}; tasks per the API: ${states || 'none'})`;
    throw err;
  }
}

async function signIn(page: Page, user: TestUser, password: string, code: string): Promise<void> {
  const form = page.locator('#login-form');
  await form.getByLabel('Username').fill(user.username);
  await form.getByLabel('Password').fill(password);
  await form.getByLabel('TOTP code').fill(code);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

describe('the operator console', () => {
  it('serves the static files with revalidating cache headers and a CSP that allows only its own scripts', async () => {
    const index = await stack.request('GET', '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers.etag).toBeTruthy();
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const js = await stack.request('GET', '/app.js');
    expect(js.headers['content-type']).toMatch(/javascript/);
    // (cache-control as a browser revalidates: fetch() would add `no-cache`, which forces a 200)
    const again = await stack.request('GET', '/app.js', { headers: { 'if-none-match': String(js.headers.etag), 'cache-control': 'max-age=0' } });
    expect(again.status).toBe(304);
    // Unknown paths stay the API's JSON 404s, under /api and beside the console's files alike.
    expect((await stack.request('GET', '/api/index.html')).json).toMatchObject({ code: 404, msg: 'no route GET /api/index.html' });
    expect((await stack.request('GET', '/nope.js')).json).toMatchObject({ code: 404, msg: 'no route GET /nope.js' });
  });

  it("shows the API's message when signing in fails", async () => {
    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'login', async () => {
      await page.locator('#login-form').waitFor({ state: 'visible' });

      await signIn(page, olga, 'not-the-password', await stack.nextTotp(olga));
      const error = page.locator('#login-error');
      await error.waitFor({ state: 'visible' });
      expect(await error.locator('.msg').textContent()).toBe('账号密码错误');
      expect(await error.textContent()).toBe('账号密码错误 — wrong username or password, or the account is disabled');

      await signIn(page, olga, olga.password, '000000');
      await error.locator('.msg', { hasText: 'MFA错误' }).waitFor();
      expect(await error.textContent()).toBe('MFA错误 — wrong or already used TOTP code');
      await screenshot(page, 'login-failed');
      expect(await page.locator('#list-view').isVisible()).toBe(false);
      expect(await page.locator('#who').textContent()).toBe('');
      expect(problems).toEqual([]);
    });
    await context.close();
  });

  it('signs in, lists the task, follows its log live, releases the hand step and sees it succeed; signs out', async () => {
    const created = await stack.request('POST', '/api/v1/templates', {
      token: olga.token,
      body: {
        name: 'console demo',
        steps: [
          { group: 1, level: 1, name: 'prepare', command: 'echo step-one starting; sleep 2; echo step-one:', args: 'GREETING', exec_user: 'root', timeout_s: 60 },
          { group: 1, level: 2, name: 'confirm', command: 'echo released-by-hand', trigger: 'hand', exec_user: 'root', timeout_s: 60 },
        ],
      },
    });
    expect(created.status).toBe(201);
    const templateId = created.json.id as number;

    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'task', async () => {
      // Sign in with password and a fresh TOTP code.
      await signIn(page, olga, olga.password, await stack.nextTotp(olga));
      await page.locator('#list-view').waitFor({ state: 'visible' });
      expect(await page.locator('#who').textContent()).toBe('Olga Ops (olga) · operator');
      // The page never sees the session key: the cookie is HttpOnly and nothing puts it in the DOM.
      const cookies = await context.cookies();
      const authKey = cookies.find((c) => c.name === 'auth_key');
      expect(authKey?.httpOnly).toBe(true);
      expect(await page.evaluate<string>('document.cookie')).not.toContain('auth_key');
      expect(await page.content()).not.toContain(authKey?.value ?? '<none>');

      // Submitted while the list is open, to start 8 s from now (the list refreshes every 5 s, so
      // the task page is open before the first output): auto-refresh shows it.
      const submitted = await stack.request('POST', '/api/v1/tasks', {
        token: olga.token,
        body: {
          template_id: templateId,
          task_name: 'console e2e',
          submitter: 'Olga Ops',
          schedule: 'ready',
          exec_time: new Date(Date.now() + 8000).toISOString(),
          args: { GREETING: 'hello console' },
          hosts: { '1': [SSH_HOST] },
        },
      });
      expect(submitted.status).toBe(201);
      const id = submitted.json.id as number;
      const row = page.locator(`#task-rows tr[data-task-id="${id}"]`);
      await row.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await row.locator('td').allTextContents()).toEqual([
        `#${id}`,
        'console e2e',
        expect.stringMatching(/^(scheduled|running)$/),
        'Olga Ops',
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/),
      ]);
      await screenshot(page, 'list');

      // Open it: parameters, hosts, and the log followed through an EventSource.
      const streams: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes(`/api/v1/tasks/${id}/logs`)) streams.push(`${r.resourceType()} ${new URL(r.url()).search}`);
      });
      await row.getByRole('link', { name: 'console e2e' }).click();
      await page.locator('#task-view').waitFor({ state: 'visible' });
      await expect.poll(() => page.locator('#task-title').textContent()).toBe(`#${id} console e2e`);
      expect(await page.locator('#task-args').textContent()).toBe('GREETINGhello console');
      expect(await page.locator('#task-hosts').textContent()).toBe(`group 1${SSH_HOST}`);
      // Opened before the task starts: the output arrives through the stream, not a page load.
      expect(await page.locator('#log').textContent()).not.toContain('step-one:');

      const log = page.locator('#log');
      await page.locator('#log', { hasText: 'step-one: hello console' }).waitFor();
      expect(streams).toEqual(['eventsource ?follow=1']);
      expect(await log.textContent()).toContain(`── group 1 · ${SSH_HOST} · level 1 · prepare`);
      expect(await log.textContent()).toMatch(/step-one starting\n[\s\S]*step-one: hello console\n/);

      // The hand step waits for a person: release it from its row.
      const hand = page.locator(`#step-rows tr[data-step-name="confirm"][data-host="${SSH_HOST}"]`);
      await page.locator('#step-rows tr[data-step-name="prepare"][data-status="succeeded"]').waitFor();
      expect(await hand.getAttribute('data-status')).toBe('waiting_hand');
      expect(await page.locator('#task-status').getAttribute('data-status')).toBe('running');
      expect(await page.locator('#task-actions button').allTextContents()).toEqual(['Pause', 'Cancel task']);
      await screenshot(page, 'task-waiting-hand');
      await hand.getByRole('button', { name: 'Release' }).click();
      await page.locator('#flash', { hasText: `Release step "confirm" on ${SSH_HOST}: accepted` }).waitFor();

      await page.locator('#task-status[data-status="succeeded"]').waitFor();
      await page.locator('#log', { hasText: 'released-by-hand' }).waitFor();
      await page.locator('#log-state', { hasText: /^ended — task succeeded$/ }).waitFor();
      expect(await hand.getAttribute('data-status')).toBe('succeeded');
      expect(await page.locator('#task-actions button').count()).toBe(0);
      expect(await hand.locator('button').count()).toBe(0);
      await screenshot(page, 'task-succeeded');

      // The API agrees, and the release is recorded as olga's.
      const task = await stack.request('GET', `/api/v1/tasks/${id}`, { token: olga.token });
      expect(task.json.status).toBe('succeeded');
      const audit = await stack.database.db.selectFrom('audit_log').select(['actor', 'result']).where('action', '=', 'task.step.release').where('target', '=', `task:${id}`).execute();
      expect(audit).toEqual([{ actor: 'olga', result: 'ok' }]);

      // Back to the list: the status filter narrows it.
      await page.getByRole('link', { name: '← Tasks' }).click();
      await row.waitFor({ state: 'visible' });
      await page.locator('#status-filter').selectOption('running');
      await page.locator('#list-empty').waitFor({ state: 'visible' });
      expect(await page.locator('#task-rows tr').count()).toBe(0);
      expect(page.url()).toMatch(/#\/\?status=running$/);
      await page.locator('#status-filter').selectOption('succeeded');
      await row.waitFor({ state: 'visible' });

      // Sign out: the session ends on the server too.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('#login-form').waitFor({ state: 'visible' });
      expect(await page.evaluate(async () => (await fetch('/api/v1/me')).status)).toBe(401);
      expect(problems).toEqual([]);
    });
    await context.close();
  }, 120_000);
  it('lets an approver approve a task, then skip its failed step from the step table', async () => {
    const created = await stack.request('POST', '/api/v1/templates', {
      token: olga.token,
      body: {
        name: 'console approvals',
        steps: [
          { group: 1, level: 1, name: 'check', command: 'echo checking; exit 3', exec_user: 'root', timeout_s: 60 },
          { group: 1, level: 2, name: 'after', command: 'echo after-skip', exec_user: 'root', timeout_s: 60 },
        ],
      },
    });
    const submitted = await stack.request('POST', '/api/v1/tasks', {
      token: olga.token,
      body: { template_id: created.json.id, task_name: 'needs approval', schedule: 'new', hosts: { '1': [SSH_HOST] } },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.json.id as number;

    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'approve', async () => {
      // A deep link survives the sign-in.
      await page.goto(`${stack.base}/#/tasks/${id}`);
      await signIn(page, anna, anna.password, await stack.nextTotp(anna));
      await page.locator('#task-status[data-status="pending_approval"]').waitFor();
      expect(await page.locator('#who').textContent()).toBe('anna · approver');
      expect(await page.locator('#task-actions button').allTextContents()).toEqual(['Approve', 'Reject', 'Cancel task']);
      await screenshot(page, 'task-pending-approval');
      await page.getByRole('button', { name: 'Approve' }).click();

      // It runs at once; the first step exits 3 and is held for a decision.
      const check = page.locator('#step-rows tr[data-step-name="check"]');
      await page.locator('#step-rows tr[data-step-name="check"][data-status="held"]').waitFor();
      expect(await check.locator('button').allTextContents()).toEqual(['Retry', 'Skip', 'Abort host']);
      expect(await check.locator('td').nth(6).textContent()).toBe('3');
      expect(await page.locator('#task-details').textContent()).toContain('Approveranna');
      await screenshot(page, 'task-held');

      // Skip asks first; a dismissed question does nothing.
      page.once('dialog', (d) => void d.dismiss());
      await check.getByRole('button', { name: 'Skip' }).click();
      await page.waitForTimeout(500);
      expect(await check.getAttribute('data-status')).toBe('held');
      let question = '';
      page.once('dialog', (d) => {
        question = d.message();
        void d.accept();
      });
      await check.getByRole('button', { name: 'Skip' }).click();
      await page.locator('#task-status[data-status="succeeded"]').waitFor();
      expect(question).toBe(`Skip step "check" on ${SSH_HOST} and go on?`);
      expect(await check.getAttribute('data-status')).toBe('skipped');
      await page.locator('#log', { hasText: 'after-skip' }).waitFor();
      expect(await page.locator('#log').textContent()).toContain('checking');
      expect(problems).toEqual([]);
    });
    await context.close();
  }, 120_000);

  it('reruns a held host from an earlier step with "Rerun from here"', async () => {
    const flag = `/tmp/opsflow-console-rerun-${process.pid}-${Date.now()}`;
    const created = await stack.request('POST', '/api/v1/templates', {
      token: olga.token,
      body: {
        name: 'console rerun',
        steps: [
          { group: 1, level: 1, name: 'prepare', command: 'echo preparing', exec_user: 'root', timeout_s: 60 },
          { group: 1, level: 2, name: 'flaky', command: `test -f ${flag} || { touch ${flag}; exit 4; }`, exec_user: 'root', timeout_s: 60 },
        ],
      },
    });
    const submitted = await stack.request('POST', '/api/v1/tasks', {
      token: olga.token,
      body: { template_id: created.json.id, task_name: 'rerun me', schedule: 'ready', hosts: { '1': [SSH_HOST] } },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.json.id as number;

    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'rerun', async () => {
      await page.goto(`${stack.base}/#/tasks/${id}`);
      await signIn(page, anna, anna.password, await stack.nextTotp(anna));
      await page.locator('#step-rows tr[data-step-name="flaky"][data-status="held"]').waitFor();
      const prepare = page.locator('#step-rows tr[data-step-name="prepare"]');
      expect(await prepare.locator('button').allTextContents()).toEqual(['Rerun from here']);
      let question = '';
      page.once('dialog', (d) => {
        question = d.message();
        void d.accept();
      });
      await prepare.getByRole('button', { name: 'Rerun from here' }).click();
      await page.locator('#task-status[data-status="succeeded"]').waitFor();
      expect(question).toBe(`Run step "prepare" on ${SSH_HOST} and every later step on ${SSH_HOST} again?`);
      // Attempt column: both steps ran a second time.
      await page.locator('#step-rows tr[data-step-name="prepare"][data-status="succeeded"]').waitFor();
      expect(await prepare.locator('td').nth(7).textContent()).toBe('2');
      expect(await page.locator('#step-rows tr[data-step-name="flaky"] td').nth(7).textContent()).toBe('2');
      expect(problems).toEqual([]);
    });
    await context.close();
    fs.rmSync(flag, { force: true });
  }, 120_000);

  it('submits a task from a template: hosts per group and arguments as data; a bad host is refused naming the field', async () => {
    const created = await stack.request('POST', '/api/v1/templates', {
      token: olga.token,
      body: {
        name: 'console submit',
        steps: [{ group: 1, level: 1, name: 'greet', command: 'echo', args: 'WHO FLOW_ID', exec_user: 'root', timeout_s: 60 }],
      },
    });
    expect(created.status).toBe(201);
    const before = (await stack.request('GET', '/api/v1/tasks', { token: olga.token })).json.items.length as number;

    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'submit', async () => {
      await page.goto(`${stack.base}/#/new`);
      await signIn(page, olga, olga.password, await stack.nextTotp(olga));
      await page.locator('#new-task-view').waitFor();
      await page.locator('#nt-template').selectOption({ label: `#${created.json.id} console submit` });
      const form = page.locator('#new-task-form');
      expect(await form.getByLabel('Task name').inputValue()).toBe('console submit');
      // FLOW_ID is opsflow's own: only WHO is asked for.
      expect(await page.locator('#nt-args input').count()).toBe(1);
      expect(await page.locator('#nt-args input').getAttribute('data-arg')).toBe('WHO');

      // A bad address: the API's message names the field, nothing is created.
      await form.getByLabel('Group 1 (greet)').fill('999.1.1.1');
      await form.getByLabel('WHO').fill("it's $(id)");
      await form.getByLabel('ready: run at the start time').check();
      await form.getByRole('button', { name: 'Submit task' }).click();
      await page.locator('#nt-error:not([hidden])').waitFor();
      expect(await page.locator('#nt-error').textContent()).toMatch(/^hosts/);
      expect((await stack.request('GET', '/api/v1/tasks', { token: olga.token })).json.items).toHaveLength(before);

      await form.getByLabel('Group 1 (greet)').fill(SSH_HOST);
      await form.getByRole('button', { name: 'Submit task' }).click();
      await page.waitForURL(/#\/tasks\/\d+$/);
      const id = Number(/#\/tasks\/(\d+)$/.exec(page.url())![1]);
      await page.locator('#task-status[data-status="succeeded"]').waitFor();
      // The argument arrived as data: printed literally, with the task id after it.
      await page.locator('#log', { hasText: `it's $(id) ${id}` }).waitFor();
      const task = (await stack.request('GET', `/api/v1/tasks/${id}`, { token: olga.token })).json;
      expect(task).toMatchObject({ task_name: 'console submit', schedule: 'ready', creator: 'olga', args: { WHO: "it's $(id)" }, hosts: { '1': [SSH_HOST] } });
      expect(problems).toEqual([]);
    });
    await context.close();
  }, 120_000);

  it('builds what a task needs in the browser: an exec user from a pasted key, a template with steps, then runs it; the key is never shown back; the audit page names who did it', async () => {
    const ada = await stack.addUser('ada', 'admin');
    const sshd = stack.sshd!;
    const { context, page, problems } = await openConsole();
    await withFailureShot(page, 'admin', async () => {
      await signIn(page, ada, ada.password, await stack.nextTotp(ada));
      await page.locator('#list-view').waitFor();

      // Exec user: the key goes in once; the table shows its fingerprint, the page never the key.
      await page.getByRole('link', { name: 'Exec users' }).click();
      const userForm = page.locator('#exec-user-form');
      await userForm.getByLabel('Alias').fill('deploy');
      await userForm.getByLabel('Username').fill(sshd.username);
      await userForm.getByLabel('Port').fill(String(sshd.port));
      await userForm.getByLabel('Private key (OpenSSH or PEM, unencrypted)').fill(sshd.clientPrivateKey);
      await userForm.getByRole('button', { name: 'Create exec user' }).click();
      const row = page.locator('#exec-user-rows tr[data-alias="deploy"]');
      await row.waitFor();
      const users = (await stack.request('GET', '/api/v1/exec-users', { token: ada.token })).json as { items: { alias: string; key_fingerprint: string }[] };
      const stored = users.items.find((u) => u.alias === 'deploy')!;
      expect(stored.key_fingerprint).toMatch(/^SHA256:/);
      expect(await row.textContent()).toContain(stored.key_fingerprint);
      const keyBody = sshd.clientPrivateKey.split('\n')[1]!;
      expect(await page.content()).not.toContain(keyBody);
      await screenshot(page, 'exec-users');

      // Template: a bad step is refused naming the field; then two steps saved.
      await page.getByRole('link', { name: 'Templates' }).click();
      await page.getByRole('link', { name: 'New template' }).click();
      const tForm = page.locator('#template-form');
      await tForm.getByLabel('Name', { exact: true }).fill('made in the console');
      const first = page.locator('#template-steps tr').nth(0);
      await first.getByLabel('Step name').fill('greet');
      await tForm.getByRole('button', { name: 'Save template' }).click();
      await page.locator('#template-error:not([hidden])').waitFor();
      expect(await page.locator('#template-error').textContent()).toMatch(/^steps\.0\.command: /);
      await first.getByLabel('Command').fill('echo');
      await first.getByLabel('Arguments').fill('WHO');
      await first.locator('select[data-field="exec_user"]').selectOption('deploy');
      await tForm.getByRole('button', { name: 'Add step' }).click();
      const second = page.locator('#template-steps tr').nth(1);
      await second.getByLabel('Step name').fill('done');
      await second.getByLabel('Command').fill('echo done');
      await tForm.getByRole('button', { name: 'Save template' }).click();
      await page.waitForURL(/#\/templates\/\d+$/);
      await screenshot(page, 'template');
      const templateId = Number(/#\/templates\/(\d+)$/.exec(page.url())![1]);
      const template = (await stack.request('GET', `/api/v1/templates/${templateId}`, { token: ada.token })).json as {
        steps: { level: number; name: string; command: string; args: string; exec_user: string }[];
      };
      expect(template.steps.map((st) => [st.level, st.name, st.command, st.args, st.exec_user])).toEqual([
        [1, 'greet', 'echo', 'WHO', 'deploy'],
        [2, 'done', 'echo done', '', 'deploy'],
      ]);

      // Submit it and watch it run; the host key is then pinned and shown.
      await page.getByRole('link', { name: 'New task' }).click();
      await page.locator('#nt-template').selectOption({ label: `#${templateId} made in the console` });
      const nt = page.locator('#new-task-form');
      await nt.getByLabel('Group 1 (greet, done)').fill(SSH_HOST);
      await nt.getByLabel('WHO').fill('from the browser');
      await nt.getByLabel('ready: run at the start time').check();
      await nt.getByRole('button', { name: 'Submit task' }).click();
      await page.locator('#task-status[data-status="succeeded"]').waitFor();
      await page.locator('#log', { hasText: 'from the browser' }).waitFor();
      await page.getByRole('link', { name: 'Exec users' }).click();
      const pinned = page.locator(`#known-host-rows tr[data-host="${SSH_HOST}"]`);
      await pinned.waitFor();
      expect(await pinned.textContent()).toContain(sshd.hostFingerprint);
      await page.getByRole('link', { name: 'Templates' }).click();
      await page.locator(`#template-rows tr[data-template-id="${templateId}"]`).waitFor();
      await screenshot(page, 'templates');

      // The audit trail names who did it; the chain verifies, and an edited row is found.
      await page.getByRole('link', { name: 'Audit' }).click();
      const filter = page.locator('#audit-filter');
      await filter.getByLabel('Target').fill('exec_user:deploy');
      await filter.getByRole('button', { name: 'Filter' }).click();
      const created = page.locator('#audit-rows tr[data-audit-id]').filter({ hasText: 'exec_user.write' });
      await expect.poll(() => page.locator('#audit-rows tr[data-audit-id]').count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
      expect(await created.first().textContent()).toMatch(/ada.*exec_user\.write.*exec_user:deploy.*ok/);
      await page.getByRole('button', { name: 'Verify the chain' }).click();
      await page.locator('#audit-verdict', { hasText: 'chain intact' }).waitFor();
      const auditId = Number(await created.first().getAttribute('data-audit-id'));
      await stack.database.db.updateTable('audit_log').set({ actor: 'someone-else' }).where('id', '=', String(auditId)).execute();
      await page.getByRole('button', { name: 'Verify the chain' }).click();
      await page.locator('#audit-verdict', { hasText: `TAMPERED at entry ${auditId}` }).waitFor();
      await screenshot(page, 'audit');
      expect(problems).toEqual([]);
    });
    await context.close();
  }, 120_000);

  it('lets an admin create a user whose one-time password and TOTP (with a QR code) work at once, unlock it after a lockout, then disable it', async () => {
    const root = await stack.addUser('rosa', 'admin');
    const admin = await openConsole();
    await withFailureShot(admin.page, 'users', async () => {
      const page = admin.page;
      await signIn(page, root, root.password, await stack.nextTotp(root));
      await page.locator('#list-view').waitFor();
      await page.getByRole('link', { name: 'Users', exact: true }).click();
      const form = page.locator('#user-form');
      await form.getByLabel('Username').fill('nina');
      await form.getByLabel('Display name').fill('Nina Viewer');
      await form.getByLabel('Role').selectOption('viewer');
      await form.getByRole('button', { name: 'Create user' }).click();
      await page.locator('#user-secret:not([hidden])').waitFor();
      const password = (await page.locator('[data-secret="Password"]').textContent())!;
      const secret = (await page.locator('[data-secret="TOTP secret"]').textContent())!;
      expect(password.length).toBeGreaterThanOrEqual(16);
      // The QR code is a real image the browser decoded (an SVG from the API, no external fetch).
      expect(await page.locator('#user-secret-qr').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      await screenshot(page, 'users');
      expect(await page.locator('#user-rows tr[data-username="nina"]').textContent()).toContain('viewer');

      // The new user signs in with exactly what was shown.
      const nina = await openConsole();
      await signIn(nina.page, { username: 'nina' } as TestUser, password, currentTotp(secret));
      await nina.page.locator('#who', { hasText: 'Nina Viewer (nina) · viewer' }).waitFor();
      expect(await nina.page.locator('#nav-users').isHidden()).toBe(true); // a viewer manages no users
      expect(nina.problems).toEqual([]);
      await nina.context.close();

      // Locked for one address by wrong passwords from there: the page says so, and Unlock lifts it.
      for (let i = 1; i <= 5; i++) {
        await stack.request('POST', '/api/accounts/login/', { body: { username: 'nina', password: `wrong-password-${i}` }, headers: { 'x-forwarded-for': '203.0.113.77' } });
      }
      await page.getByRole('link', { name: 'Tasks', exact: true }).click(); // away and back: the users page loads again
      await page.locator('#list-view').waitFor();
      await page.getByRole('link', { name: 'Users', exact: true }).click();
      const ninaRow = page.locator('#user-rows tr[data-username="nina"]');
      await ninaRow.filter({ hasText: 'locked for 203.0.113.77 until' }).waitFor();
      await ninaRow.getByRole('button', { name: 'Unlock' }).click();
      await ninaRow.filter({ hasText: 'active' }).waitFor();
      expect(await ninaRow.getByRole('button', { name: 'Unlock' }).count()).toBe(0);
      expect((await stack.request('GET', '/api/v1/users/nina', { token: root.token })).json).toMatchObject({ locked_until: null, locked_addresses: [] });

      // Disabled: the next request of the session is refused, and signing in fails.
      page.once('dialog', (d) => void d.accept());
      await page.locator('#user-rows tr[data-username="nina"]').getByRole('button', { name: 'Disable' }).click();
      await page.locator('#user-rows tr[data-username="nina"]', { hasText: 'disabled' }).waitFor();
      const refused = await stack.request('POST', '/api/accounts/login/', { body: { username: 'nina', password, dynamic: currentTotp(secret, new Date(Date.now() + 30_000)) } });
      expect(refused.json.code).not.toBe(0);
      expect(admin.problems).toEqual([]);
    });
    await admin.context.close();
  }, 120_000);
});
