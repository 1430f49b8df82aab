// CODO's log WebSocket (/api/task/ws/v1/task/log/, codo-task biz/handlers/task_log_handler.py):
// the client sends `<list_id>_<group>_<level>_<ip>`, the server sends that step's whole log every
// 500 ms, lines joined by '----'. The lines are the order view's (taskViews.stepLogLines), so the
// socket shows nothing GET check/ does not. Authentication is the routes' own (routing.authenticate);
// a task the caller may not see is answered like one that does not exist; the credential is checked
// again every second while following. Unlike CODO, sending stops once the step has finished and its
// final log was sent (send the key again to follow a rerun).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { sql } from 'kysely';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { resolveCredential, type AuthUser } from '../../accounts/sessions';
import { TERMINAL_STEP_STATUSES, TERMINAL_TASK_STATUSES } from '../../domain/statuses';
import type { ApiDeps } from '../deps';
import { errorReply } from '../errors';
import { authenticate, Reply } from '../routing';
import { accessTask } from '../taskAccess';
import { stepLogLines } from '../taskViews';

export const LOG_SOCKET_PATH = '/api/task/ws/v1/task/log/';
export const LOG_SOCKET_INTERVAL_MS = 500; // CODO's PeriodicCallback(tail_data, 500)
const SEPARATOR = '----';
const CREDENTIAL_RECHECK_MS = 1000;
// A client that stops reading is skipped rather than buffered for: each send is the whole log.
const MAX_BUFFERED_BYTES = 1024 * 1024;
const KEY = /^(\d{1,10})_(\d{1,4})_(\d{1,7})_(\S{1,253})$/;

interface LogKey {
  listId: number;
  group: number;
  level: number;
  host: string;
}

export function parseLogKey(message: string): LogKey | null {
  const m = KEY.exec(message.trim());
  if (!m) return null;
  const listId = Number(m[1]);
  if (listId <= 0 || listId > 2_147_483_647) return null;
  return { listId, group: Number(m[2]), level: Number(m[3]), host: m[4] as string };
}

/** A reply to a refused upgrade, written on the raw socket (no WebSocket exists yet). */
function refuse(socket: Duplex, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  const head = [
    `HTTP/1.1 ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...(reply.status === 401 ? ['WWW-Authenticate: Bearer realm="opsflow"'] : []),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Browsers send the auth_key cookie on cross-site upgrades too; only the page's own origin may use it. */
function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function queryOf(url: URL): Record<string, unknown> {
  const keys = url.searchParams.getAll('auth_key');
  return keys.length === 0 ? {} : { auth_key: keys.length === 1 ? keys[0] : keys };
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** One socket's subscription: re-subscribing replaces it; closing the socket ends it. */
class LogFollower {
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private credentialCheckedAt = 0;
  private cache: { marker: string; text: string } | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ApiDeps,
    private readonly token: string,
  ) {}

  stop(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.cache = null;
  }

  async subscribe(message: string): Promise<void> {
    this.stop();
    const generation = this.generation;
    const key = parseLogKey(message);
    if (!key) {
      this.send({ code: -1, msg: `message: expected "<list_id>_<group>_<level>_<ip>", e.g. "291_1_2_10.0.0.1"; got ${JSON.stringify(message.slice(0, 80))}` });
      return;
    }
    // The session may have ended since the upgrade: check the credential on every subscription.
    const user = await this.stillLoggedIn();
    if (!user) return;
    if (!(await this.visible(user, key.listId))) {
      this.send({ code: -1, msg: `订单不存在 (list_id ${key.listId})` });
      this.ws.close(4404, 'task not found');
      return;
    }
    if (generation !== this.generation) return;
    await this.tick(generation, key);
  }

  /** The socket's user while its credential is valid; otherwise says so and closes the socket. */
  private async stillLoggedIn(): Promise<AuthUser | null> {
    const auth = await resolveCredential(this.deps.db, this.token);
    this.credentialCheckedAt = Date.now();
    if (auth.ok) return auth.user;
    this.stop();
    this.send({ code: 401, msg: `你没有登录: ${auth.reason}` });
    this.ws.close(4401, 'not logged in');
    return null;
  }

  private async visible(user: AuthUser, listId: number): Promise<boolean> {
    return (await accessTask(this.deps, user, listId, 'task.read')).kind === 'ok';
  }

  /** Sends the log now and schedules the next send until the step has finished. */
  private async tick(generation: number, key: LogKey): Promise<void> {
    if (generation !== this.generation || this.ws.readyState !== WebSocket.OPEN) return;
    // A long follow ends with the session (logout, expiry, revocation), like the SSE log stream.
    if (Date.now() - this.credentialCheckedAt >= CREDENTIAL_RECHECK_MS && !(await this.stillLoggedIn())) return;
    if (generation !== this.generation) return;
    const runs = await this.deps.db
      .selectFrom('step_runs as r')
      .innerJoin('tasks as t', 't.id', 'r.task_id')
      .select(['r.id', 'r.status', 't.status as task_status'])
      .select((eb) =>
        eb
          .selectFrom('step_logs as l')
          .select(sql<string>`l.attempt || ':' || l.seq`.as('m'))
          .whereRef('l.step_run_id', '=', 'r.id')
          .orderBy('l.attempt', 'desc')
          .orderBy('l.seq', 'desc')
          .limit(1)
          .as('last_log'),
      )
      .where('r.task_id', '=', key.listId)
      .where('r.group_no', '=', key.group)
      .where('r.level', '=', key.level)
      .where('r.host', '=', key.host)
      .orderBy('r.id')
      .execute();
    if (generation !== this.generation) return;
    if (runs.length === 0) {
      this.send({ code: -1, msg: `no step at group ${key.group} level ${key.level} on ${key.host} in order ${key.listId}` });
      return;
    }
    // Statuses are read before the logs, so a finished step's final log is in what is sent.
    const finished = runs.every((r) => (TERMINAL_STEP_STATUSES as readonly string[]).includes(r.status)) || (TERMINAL_TASK_STATUSES as readonly string[]).includes(runs[0]?.task_status ?? '');
    const marker = runs.map((r) => `${r.id}=${r.status}@${r.last_log ?? ''}`).join(',');
    if (this.cache?.marker !== marker) {
      const lines = await stepLogLines(this.deps.db, runs.map((r) => r.id), this.deps.config.OPSFLOW_TIMEZONE);
      this.cache = { marker, text: runs.flatMap((r) => lines.get(r.id) ?? []).join(SEPARATOR) };
    }
    if (generation !== this.generation || this.ws.readyState !== WebSocket.OPEN) return;
    const sent = this.ws.bufferedAmount < MAX_BUFFERED_BYTES;
    if (sent) this.ws.send(this.cache.text);
    if (finished && sent) return;
    this.timer = setTimeout(() => void this.run(generation, key), LOG_SOCKET_INTERVAL_MS);
  }

  /** A tick that fails tells the client and stops; it never takes the process down. */
  async run(generation: number, key: LogKey): Promise<void> {
    try {
      await this.tick(generation, key);
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    this.deps.log(`log socket: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    this.stop();
    this.send({ code: 500, msg: 'internal error' });
  }

  private send(body: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(body));
  }
}

export interface LogSocket {
  /** Ends every open log socket (for shutdown). */
  close(): void;
}

/** Serves the log WebSocket on `server`'s upgrade requests; other upgrade paths get 404. */
export function attachLogSocket(server: http.Server, deps: ApiDeps): LogSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  const accept = (ws: WebSocket, token: string): void => {
    const follower = new LogFollower(ws, deps, token);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.send(JSON.stringify({ code: -1, msg: 'message: send the key as text, "<list_id>_<group>_<level>_<ip>"' }));
        return;
      }
      follower.subscribe(textOf(data)).catch((err: unknown) => follower.fail(err));
    });
    ws.on('close', () => follower.stop());
    ws.on('error', () => follower.stop());
  };

  const upgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LOG_SOCKET_PATH) {
      refuse(socket, new Reply(404, { code: 404, msg: `no WebSocket at ${url.pathname}`, details: null }));
      return;
    }
    let auth;
    try {
      auth = await authenticate(deps, { headers: req.headers, query: queryOf(url) });
    } catch (err) {
      refuse(socket, errorReply(err, 'codo', deps.log));
      return;
    }
    if (auth.source === 'cookie' && !sameOrigin(req)) {
      refuse(socket, new Reply(403, { code: -2, msg: 'Origin: the auth_key cookie is accepted from this server\'s own pages only', details: { origin: req.headers.origin } }));
      return;
    }
    const token = auth.token;
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, token));
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      deps.log(`log socket upgrade: ${String(err)}`);
      socket.destroy();
    });
  });

  return {
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
