// One test file's opsflow deployment, every part a separate real process that a test can stop,
// kill and start again: embedded PostgreSQL (its own data dir), the Temporal dev server (a SQLite
// file, so a restart keeps its state), OpenSSH sshd on 127.0.0.x, and `opsflow api` and
// `opsflow worker` as two processes pointed at them (DATABASE_URL, TEMPORAL_ADDRESS), as a
// scaled-out deployment runs them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createApiToken } from '../../../src/accounts/apiTokens';
import { createUser } from '../../../src/accounts/users';
import { createDb, type Db } from '../../../src/db/database';
import { startEmbeddedPostgres, type RunningPostgres } from '../../../src/db/embedded';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../../src/security/secretBox';
import { jsonOrUndefined } from '../../support/apiStack';
import { startDevServer, type RunningDevServer } from '../../../src/temporal/devServer';
import { Opsflow, opsflowEnv, READY_LINE, sleep } from '../../support/opsflowCli';
import { freePort } from '../../support/ports';
import { startSshd, type SshdFixture } from '../../support/sshd';

export { sleep };

export interface Reply {
  status: number;
  text: string;
  json: unknown;
}

export interface StepIn {
  level: number;
  name: string;
  /** Task argument holding the shell script the step runs (`sh -c "$ARG"`). */
  script: string;
  retries?: number;
  idempotent?: boolean;
  timeout_s?: number;
}

export interface StackOptions {
  /** Hosts served by one sshd fixture each group; every fixture listens on the same port with the same client key. */
  sshdGroups: string[][];
}

export interface TaskView {
  id: number;
  status: string;
  steps: { id: number; step_id: number; host: string; level: number; name: string; status: string; attempt: number; exit_code: number | null; error: string | null }[];
}

export class Stack {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-resilience-'));
  /** Where steps leave their marker files (one directory per target address). */
  readonly markers = path.join(this.dir, 'markers');
  readonly masterKey = generateMasterKey();
  readonly box = new SecretBox(parseMasterKey(this.masterKey));
  readonly sshds: SshdFixture[] = [];
  postgres: RunningPostgres | null = null;
  temporal: RunningDevServer | null = null;
  api: Opsflow | null = null;
  worker: Opsflow | null = null;
  /** The test's own pool on the opsflow database, to read step runs and logs. */
  db!: Db;
  token = '';
  base = '';
  private readonly retired: Opsflow[] = [];
  private ports!: { pg: number; temporal: number; http: number };
  private url = '';

  static async start(opts: StackOptions): Promise<Stack> {
    const stack = new Stack();
    try {
      await stack.boot(opts);
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  private async boot(opts: StackOptions): Promise<void> {
    fs.chmodSync(this.dir, 0o755); // PostgreSQL runs as another account when we are root
    fs.mkdirSync(this.markers, { mode: 0o777 });
    const picked = new Set<number>();
    while (picked.size < 3) picked.add(await freePort());
    const [pgPort, temporalPort, httpPort] = [...picked] as [number, number, number];
    this.ports = { pg: pgPort, temporal: temporalPort, http: httpPort };
    this.base = `http://127.0.0.1:${httpPort}`;
    const [first, ...rest] = opts.sshdGroups as [string[], ...string[][]];
    const sshdFirst = startSshd({ addresses: first, dir: path.join(this.dir, 'sshd-0') });
    await Promise.all([this.startPostgres(), this.startTemporal(), sshdFirst.then((s) => this.sshds.push(s))]);
    for (const [i, addresses] of rest.entries()) {
      const lead = this.sshds[0]!;
      this.sshds.push(await startSshd({ addresses, port: lead.port, clientKey: lead.clientPrivateKey, dir: path.join(this.dir, `sshd-${i + 1}`) }));
    }
    const admin = new pg.Client(this.postgres!.adminUrl);
    await admin.connect();
    await admin.query('CREATE DATABASE opsflow');
    await admin.end();
    this.url = this.postgres!.urlFor('opsflow');
    this.db = createDb(this.url, 4);

    await Promise.all([this.startApi(), this.startWorker()]); // both migrate the database (one at a time, under a lock)
    await createUser(this.db, this.box, { username: 'resilience', role: 'admin' });
    this.token = (await createApiToken(this.db, { username: 'resilience', name: 'resilience suite' })).token;
    const lead = this.sshds[0]!;
    await this.call('POST', '/api/v1/exec-users', { alias: 'root', username: lead.username, port: lead.port, private_key: lead.clientPrivateKey });
  }

  /** What `opsflow api` and `opsflow worker` are started with. */
  get env(): NodeJS.ProcessEnv {
    return opsflowEnv({
      DATABASE_URL: this.url,
      TEMPORAL_ADDRESS: `127.0.0.1:${this.ports.temporal}`,
      PORT: this.ports.http,
      OPSFLOW_DATA_DIR: path.join(this.dir, 'data'),
      OPSFLOW_MASTER_KEY: this.masterKey,
      OPSFLOW_ALLOWED_TARGETS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
    });
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startEmbeddedPostgres({ dataDir: path.join(this.dir, 'pg'), port: this.ports.pg, onNotice: () => undefined });
  }

  /** Fast shutdown (SIGINT): PostgreSQL rolls back open transactions and exits. */
  async stopPostgres(): Promise<void> {
    await this.postgres?.stop();
    this.postgres = null;
  }

  async startTemporal(): Promise<void> {
    this.temporal = await startDevServer({
      cliPath: inject('temporalCli'),
      port: this.ports.temporal,
      uiPort: null,
      dbFile: path.join(this.dir, 'temporal.db'),
      pidFile: path.join(this.dir, 'temporal.pid'),
      namespace: 'default',
      onNotice: () => undefined,
    });
  }

  async stopTemporal(): Promise<void> {
    await this.temporal?.stop();
    this.temporal = null;
  }

  async startApi(): Promise<void> {
    this.api = await this.launch('api');
  }

  async startWorker(): Promise<void> {
    this.worker = await this.launch('worker');
  }

  /** `kill -9` of the worker process: no shutdown, in-flight activities are simply lost. */
  async killWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    process.kill(worker.child.pid!, 'SIGKILL');
    await worker.exited;
  }

  private async launch(command: 'api' | 'worker'): Promise<Opsflow> {
    const proc = new Opsflow([command], this.env);
    this.retired.push(proc);
    await proc.waitForStdout(READY_LINE, 90_000);
    return proc;
  }

  /** Restarts sshd of fixture `index` (stopped with its stop()), same port, host key and client key. */
  async restartSshd(index: number): Promise<void> {
    const old = this.sshds[index]!;
    this.sshds[index] = await startSshd({
      addresses: [...old.addresses],
      port: old.port,
      dir: old.dir,
      hostKey: old.hostPrivateKey,
      clientKey: old.clientPrivateKey,
    });
  }

  async request(method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    const json = jsonOrUndefined(text);
    return { status: res.status, text, json };
  }

  /** A request that must succeed (2xx); its JSON body. */
  async call<T>(method: string, url: string, body?: unknown): Promise<T> {
    const r = await this.request(method, url, { body });
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
    return r.json as T;
  }

  async createTemplate(steps: StepIn[], opts: { maxParallel?: number } = {}): Promise<number> {
    const template = await this.call<{ id: number }>('POST', '/api/v1/templates', {
      name: `resilience-${Math.random().toString(36).slice(2)}`,
      max_parallel: opts.maxParallel ?? 50,
      steps: steps.map((s) => ({
        group: 1,
        level: s.level,
        name: s.name,
        command: 'sh -c',
        args: s.script,
        exec_user: 'root',
        timeout_s: s.timeout_s ?? 120,
        retries: s.retries ?? 2,
        idempotent: s.idempotent ?? false,
      })),
    });
    return template.id;
  }

  async submit(templateId: number, hosts: string[], args: Record<string, string>): Promise<number> {
    const task = await this.call<{ id: number }>('POST', '/api/v1/tasks', {
      template_id: templateId,
      task_name: 'resilience',
      schedule: 'ready',
      args,
      hosts: { '1': hosts },
    });
    return task.id;
  }

  task(taskId: number): Promise<TaskView> {
    return this.call<TaskView>('GET', `/api/v1/tasks/${taskId}`);
  }

  /**
   * A step script that leaves one line in `<markers>/<target address>/<name>` each time it runs
   * (sshd sets SSH_CONNECTION, whose third field is the address the client connected to), then
   * does `body`.
   */
  markerScript(name: string, body: string): string {
    return `d=${this.markers}/$(echo "$SSH_CONNECTION" | cut -d' ' -f3); mkdir -p "$d"; echo ran >> "$d/${name}"; ${body}`;
  }

  /** How often each step ran on each host: host → step name → runs. */
  markerCounts(): Map<string, Map<string, number>> {
    const counts = new Map<string, Map<string, number>>();
    for (const host of fs.readdirSync(this.markers)) {
      const perStep = new Map<string, number>();
      for (const step of fs.readdirSync(path.join(this.markers, host))) {
        perStep.set(step, fs.readFileSync(path.join(this.markers, host, step), 'utf8').split('\n').filter(Boolean).length);
      }
      counts.set(host, perStep);
    }
    return counts;
  }

  async close(): Promise<void> {
    for (const proc of this.retired) await proc.kill();
    await this.db?.destroy().catch(() => undefined);
    for (const sshd of this.sshds) await sshd.stop().catch(() => undefined);
    await this.temporal?.stop().catch(() => undefined);
    await this.postgres?.stop().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls until probe returns a value; errors thrown by the probe (a service down) count as not yet. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(250);
  }
}
