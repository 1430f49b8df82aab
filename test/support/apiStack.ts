/* eslint-disable @typescript-eslint/no-unsafe-member-access -- parsed JSON replies */
// The API against real components: a fresh database, the run's Temporal dev server, optionally a
// real Worker (real activities, loopback-only allow-list) and OpenSSH sshd on 127.0.0.x, and
// createApp listening on an ephemeral port. Requests go over real HTTP.
import { randomInt } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createApiToken } from '../../src/accounts/apiTokens';
import { createUser } from '../../src/accounts/users';
import type { ApiDeps } from '../../src/api/app';
import { createApiServer } from '../../src/api/server';
import { execUserSecretContext } from '../../src/security/secretContexts';
import { LoginLimiter, type RateLimitSettings } from '../../src/api/rateLimit';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../src/security/secretBox';
import { currentTotp, totpStep, TOTP_PERIOD_S } from '../../src/security/totp';
import { createTestDatabase, type TestDatabase } from './db';
import { startSshd, type SshdFixture } from './sshd';
import { connectTestTemporal, type TestTemporal } from './temporal';
import { eventually } from './wait';
import { LOOPBACK_ONLY, testWorker } from './worker';

export { LOOPBACK_ONLY };
export const TEST_TZ = 'Asia/Shanghai';

export interface TestUser {
  username: string;
  password: string;
  totpSecret: string;
  role: string;
  /** An API token (created directly, so tests need not log in for every role). */
  token: string;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON (undefined when the body is not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
  /** A JS value is sent as JSON; a string is sent as-is. */
  body?: unknown;
  contentType?: string | null;
}

export interface ApiStack {
  base: string;
  /** The API's HTTP server (e.g. to follow what one request does). */
  server: http.Server;
  database: TestDatabase;
  temporal: TestTemporal;
  box: SecretBox;
  /** The master key behind `box` (hex), for CLI commands run against this stack's database. */
  masterKey: string;
  deps: ApiDeps;
  sshd: SshdFixture | null;
  /** Every line the API logged (deps.log), in order. */
  logLines: readonly string[];
  request(method: string, path: string, opts?: RequestOptions): Promise<HttpResult>;
  addUser(username: string, role: string, opts?: { displayName?: string }): Promise<TestUser>;
  /** A TOTP code for `user` that the server has not seen yet (waits for the next step if needed). */
  nextTotp(user: TestUser): Promise<string>;
  /** Logs in over HTTP (CODO login) and returns the auth_key. */
  login(user: TestUser): Promise<string>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startApiStack(
  opts: { worker?: boolean; sshdAddresses?: string[]; loginLimits?: RateLimitSettings; fourEyes?: boolean; trustedProxies?: false | string[]; shardHosts?: number; maxRunsPerTask?: number } = {},
): Promise<ApiStack> {
  const database = await createTestDatabase();
  // Workflow ids are `task-<id>` in the run's one Temporal namespace: every test database starts
  // its task ids somewhere else, so two files never address each other's workflows.
  await sql`select setval('tasks_id_seq', ${randomInt(1_000, 2_000_000) * 1000})`.execute(database.db);
  const temporal = await connectTestTemporal();
  const masterKey = generateMasterKey();
  const box = new SecretBox(parseMasterKey(masterKey));
  const { db } = database;
  const sshd = opts.sshdAddresses ? await startSshd({ addresses: opts.sshdAddresses }) : null;
  if (sshd) {
    await db
      .insertInto('exec_users')
      .values({ alias: 'root', username: sshd.username, port: sshd.port, private_key: box.seal(sshd.clientPrivateKey, execUserSecretContext.privateKey('root')) })
      .execute();
  }

  const logLines: string[] = [];
  const deps: ApiDeps = {
    db,
    temporal: temporal.connection,
    client: temporal.client,
    taskQueue: temporal.taskQueue,
    box,
    config: { OPSFLOW_TIMEZONE: TEST_TZ, OPSFLOW_FOUR_EYES: opts.fourEyes ?? true, OPSFLOW_TRUSTED_PROXIES: opts.trustedProxies ?? ['loopback'] },
    log: (line) => {
      logLines.push(line);
      console.error(`[api] ${line}`);
    },
    logPollMs: 100,
    ...(opts.shardHosts ? { shardHosts: opts.shardHosts } : {}),
    ...(opts.maxRunsPerTask ? { maxRunsPerTask: opts.maxRunsPerTask } : {}),
    loginLimiter: new LoginLimiter(opts.loginLimits ?? { maxFailures: 1000, maxAttempts: 10_000, windowMs: 600_000 }),
  };
  const api = createApiServer(deps); // the app and the CODO log WebSocket, as main.ts serves them
  const server = api.server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const worker = testWorker(temporal, { db, box });
  const lastStep = new Map<string, number>();

  const stack: ApiStack = {
    base,
    server,
    database,
    temporal,
    box,
    masterKey,
    deps,
    sshd,
    logLines,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      if (o.cookie) headers.cookie = o.cookie;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
      }
      const res = await fetch(base + path, { method, headers, body });
      const text = await res.text();
      const json = jsonOrUndefined(text);
      const h: http.IncomingHttpHeaders = {};
      res.headers.forEach((v, k) => {
        h[k] = v;
      });
      const setCookies = res.headers.getSetCookie();
      if (setCookies.length) h['set-cookie'] = setCookies;
      return { status: res.status, headers: h, text, json };
    },
    async addUser(username, role, o = {}) {
      const account = await createUser(db, box, { username, role, displayName: o.displayName, password: `pw-${username}-0123456789` });
      const { token } = await createApiToken(db, { username, name: 'test' });
      return { username, password: `pw-${username}-0123456789`, totpSecret: account.totp_secret, role, token };
    },
    async nextTotp(user) {
      for (;;) {
        const now = Date.now();
        const step = Math.max(totpStep(new Date(now)), (lastStep.get(user.username) ?? -1) + 1);
        if (step <= totpStep(new Date(now)) + 1) {
          lastStep.set(user.username, step);
          return currentTotp(user.totpSecret, new Date(step * TOTP_PERIOD_S * 1000));
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    async login(user) {
      const r = await stack.request('POST', '/api/accounts/login/', { body: { username: user.username, password: user.password, dynamic: await stack.nextTotp(user) } });
      if (r.json?.code !== 0) throw new Error(`login ${user.username} failed: ${r.text}`);
      return r.json.auth_key as string;
    },
    startWorker: () => worker.start(),
    stopWorker: () => worker.stop(),
    async close() {
      server.closeAllConnections();
      await api.close();
      await stack.stopWorker();
      await sshd?.stop();
      await temporal.close();
      await database.close();
    },
  };
  if (opts.worker) await stack.startWorker();
  return stack;
}

export { eventually };

/** A reply body as JSON, or undefined when it is not JSON (an error page, an empty body). */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The value of a Set-Cookie header's cookie `name`. */
export function cookieValue(res: HttpResult, name: string): string | undefined {
  const list = res.headers['set-cookie'];
  const all = Array.isArray(list) ? list : list ? [list] : [];
  for (const c of all) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return decodeURIComponent(m[1] as string);
  }
  return undefined;
}
