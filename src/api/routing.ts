// The route registry: every API route is declared once with its permission action and zod
// schemas. From the same declarations come the Express handlers (authenticate → role guard →
// validate → CSRF → handler → audit → reply), the OpenAPI document and the tests' route list.
// Undeclared methods on a declared path answer 405 with Allow.
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response, Router } from 'express';
import { z, ZodError } from 'zod';
import { appendAudit } from '../audit/audit';
import { consumeCsrfKey, CSRF_TTL_MS, issueCsrfKey } from '../accounts/csrfKeys';
import { resolveCredential, type AuthUser } from '../accounts/sessions';
import { ACTIONS, roleAllows, type Action } from '../domain/permissions';
import { readCookie, setCookie } from './cookies';
import type { ApiDeps } from './deps';
import { errorReply, HttpError } from './errors';
import { findInputProblem } from './inputLimits';
import { Reply, type RouteStyle } from './reply';

export { Reply, type RouteStyle } from './reply';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface AuditNote {
  /** Overrides the route's audit action (e.g. `task.approve` on a shared CODO route). */
  action?: string;
  target?: string;
  detail?: Record<string, unknown>;
}

export interface Ctx<P, Q, B> {
  req: Request;
  res: Response;
  deps: ApiDeps;
  /** The authenticated caller (routes with action 'public' get a placeholder with role ''). */
  user: AuthUser;
  params: P;
  query: Q;
  body: B;
  /** The request headers the route declares (RouteDef.headers), parsed, by their declared names. */
  headers: Record<string, unknown>;
  ip: string;
  /** How the credential arrived: cookie-authenticated writes need a CSRF key. */
  credentialSource: CredentialSource | null;
  /** The CSRF key this request carried and that was accepted (cookie or explicit). */
  csrfKey: string | null;
  /** The unused key set as the csrf_key cookie on this reply (cookie-authenticated requests). */
  freshCsrfKey: string | null;
  audit: AuditNote;
}

export type CredentialSource = 'bearer' | 'query' | 'cookie';

/** Error statuses a handler may declare (see RouteDef.errors). */
export type ErrorStatus = 404 | 409 | 422 | 429;

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Express path (`/api/v1/tasks/:id`). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The permission action (src/domain/permissions.ts), or 'public' (login, health). */
  action: Action | 'public';
  style: RouteStyle;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** Request headers the handler reads (an object keyed by header name), validated and documented. */
  headers?: z.ZodObject;
  body?: z.ZodType<B>;
  /** Documented success body. On `codo` routes the document also allows CODO's HTTP-200 refusal {code≠0, msg, details?}. */
  response: z.ZodType;
  successStatus?: number;
  /**
   * Error statuses the handler itself may answer, besides those every route of its kind can
   * (400, 413, 415; 401, 403 when authenticated; 402 when it takes a CSRF key; 404 with path
   * parameters): documented in the OpenAPI document (openapi.ts errorStatuses).
   */
  errors?: readonly ErrorStatus[];
  /** CSRF for cookie-authenticated writes: 'required' (default for writes), 'none', or
   *  'idempotent' (CODO's accept POST: a used key may come again, and the submit decides whether
   *  it is a retry of the same request; bearer callers may send one explicitly, never by cookie). */
  csrf?: 'required' | 'none' | 'idempotent';
  /** Audit action name; default: the permission action for writes; false: not audited. */
  audit?: string | false;
  /** Routes whose input comes from this route's success reply, besides those found by rule (openapi.ts). */
  links?: readonly LinkDecl[];
  /** Server-Sent Events or other self-written replies: the handler answers itself. */
  streams?: boolean;
  handler: (ctx: Ctx<P, Q, B>) => Promise<unknown>;
}

/**
 * An OpenAPI link from a route's success reply to another route: where the values of the next
 * request come from (runtime expressions such as `$response.body#/list_id`). Documented so that
 * clients and testing tools can follow a resource from the reply that made it.
 */
export interface LinkDecl {
  method: Method;
  path: string;
  /** `path.id`, `query.list_id` → expression. */
  parameters?: Record<string, string>;
  /** Body fields → expressions (merged into the rest of the body). */
  requestBody?: Record<string, string>;
}

/** Anything the registry can hold, whatever its schema types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

/** Declares a route with inferred types (params/query/body from the schemas). */
export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(def: RouteDef<P, Q, B>): RouteDef<P, Q, B> {
  return def;
}

export const NOT_LOGGED_IN = '你没有登录';
export const CSRF_ERROR = 'csrf error.';
export { CSRF_TTL_MS };

// Before authentication (and on public routes): no name, the least role; nothing is decided on it.
const ANONYMOUS: AuthUser = { id: 0, username: '', displayName: '', role: 'viewer', via: 'session', credentialId: 0 };

/** What a credential is read from: an Express request, or a WebSocket upgrade request. */
export interface CredentialCarrier {
  headers: IncomingHttpHeaders;
  query: Record<string, unknown>;
}

/** Where the credential came from, in precedence order: Authorization, ?auth_key=, cookie. */
export function findCredential(req: CredentialCarrier): { token: string; source: CredentialSource } | { malformed: string } | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return { malformed: 'Authorization header must be "Bearer <token>"' };
    return { token: m[1] as string, source: 'bearer' };
  }
  const q = req.query.auth_key;
  if (q !== undefined) {
    if (typeof q !== 'string' || q === '') return { malformed: 'auth_key query parameter must be one non-empty string' };
    return { token: q, source: 'query' };
  }
  const cookie = readCookie(req, 'auth_key');
  if (cookie) return { token: cookie, source: 'cookie' };
  return null;
}

/**
 * The CSRF key a request carries: header X-CSRF-Key, then body csrf_key, then (only when the
 * request is cookie-authenticated) cookie csrf_key. A bearer client may hold a stale csrf_key
 * cookie from a browser session; it must never turn that client's submissions into replays.
 */
export function findCsrfKey(req: Request, cookieCounts: boolean): string | null {
  const header = req.headers['x-csrf-key'];
  if (typeof header === 'string' && header !== '') return header;
  const body: unknown = req.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const v = (body as Record<string, unknown>).csrf_key;
    if (typeof v === 'string' && v !== '') return v;
  }
  return cookieCounts ? readCookie(req, 'csrf_key') || null : null;
}

/** The caller behind a request's credential; 401 HttpError when there is none or it is not valid. */
export async function authenticate(deps: ApiDeps, req: CredentialCarrier): Promise<{ user: AuthUser; source: CredentialSource; token: string }> {
  const found = findCredential(req);
  if (found === null) throw new HttpError(401, 401, NOT_LOGGED_IN);
  if ('malformed' in found) throw new HttpError(401, 401, `${NOT_LOGGED_IN}: ${found.malformed}`, { reason: found.malformed });
  const resolved = await resolveCredential(deps.db, found.token);
  if (!resolved.ok) throw new HttpError(401, 401, `${NOT_LOGGED_IN}: ${resolved.reason}`, { reason: resolved.reason });
  return { user: resolved.user, source: found.source, token: found.token };
}

/**
 * The key a write must carry, checked and consumed: cookie-authenticated writes need one (CODO's
 * 402 otherwise); on 'idempotent' routes a bearer caller may send one explicitly, and a used key
 * is let through for the route to decide.
 */
async function checkCsrf(deps: ApiDeps, req: Request, user: AuthUser, source: CredentialSource, mode: 'required' | 'idempotent'): Promise<string | null> {
  const viaCookie = source === 'cookie';
  const key = findCsrfKey(req, viaCookie);
  if (key === null) {
    if (viaCookie) throw new HttpError(402, 402, CSRF_ERROR);
    return null;
  }
  if (!viaCookie && mode === 'required') return null; // bearer writes need no key
  if (key.includes('\0')) throw new HttpError(402, 402, CSRF_ERROR); // a cookie may carry %00
  if (!(await consumeCsrfKey(deps.db, user.id, key, mode === 'idempotent'))) throw new HttpError(402, 402, CSRF_ERROR);
  return key;
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? '';
}

/** Every error reply is {code, msg, details}: details null when there is nothing to add. */
function withDetails(reply: Reply): unknown {
  const body = reply.body;
  if (reply.status < 400 || !body || typeof body !== 'object' || Array.isArray(body) || 'details' in body) return body;
  return { ...body, details: null };
}

function resultOf(reply: Reply): string {
  const body = reply.body as { code?: unknown; msg?: unknown } | null;
  const code = body && typeof body === 'object' ? body.code : undefined;
  const msg = body && typeof body === 'object' && typeof body.msg === 'string' ? body.msg : '';
  if (reply.status >= 500) return `error: ${msg || reply.status}`;
  if (reply.status >= 400 || (code !== undefined && code !== 0)) return `refused: ${msg || reply.status}`.slice(0, 500);
  return 'ok';
}

function isWrite(method: Method): boolean {
  return method !== 'get';
}

/** Parses with the schema; input `undefined` for a missing body is parsed as {}. */
function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value ?? {});
  if (result.success) {
    // The limits every input obeys (inputLimits.ts), on what the handler gets: keys a schema
    // does not declare were dropped by it and reach nothing.
    const bad = findInputProblem(result.data);
    if (bad) throw new ZodError([{ code: 'custom', path: where === 'body' ? bad.path : [where, ...bad.path], message: bad.problem, input: undefined }]);
    return result.data;
  }
  // Prefix paths with where the value came from, so `id` in the path and `id` in the body differ.
  const issues = result.error.issues.map((i) => ({ ...i, path: where === 'body' ? i.path : [where, ...i.path] }));
  throw new ZodError(issues);
}

/** The methods declared on each path, for 405 replies' Allow header (HEAD is served with GET). */
export function allowedMethods(routes: readonly AnyRoute[]): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.method.toUpperCase()]);
  for (const [p, methods] of byPath) byPath.set(p, [...new Set(methods.includes('GET') ? [...methods, 'HEAD'] : methods)].sort());
  return byPath;
}

export function mountRoutes(router: Router, deps: ApiDeps, routes: readonly AnyRoute[]): void {
  mountHandlers(router, deps, routes);
  // A known path with a method it does not declare: 405 naming the allowed ones (RFC 9110).
  for (const [p, methods] of allowedMethods(routes)) {
    router.all(p, (req: Request, res: Response) => {
      const allow = methods.join(', ');
      res.setHeader('Allow', allow);
      res.status(405).json({ code: 405, msg: `method ${req.method} not allowed on ${req.path}; allowed: ${allow}`, details: { allow: methods } });
    });
  }
}

function mountHandlers(router: Router, deps: ApiDeps, routes: readonly AnyRoute[]): void {
  for (const def of routes) {
    router[def.method](def.path, async (req: Request, res: Response) => {
      const ctx: Ctx<unknown, unknown, unknown> = {
        req,
        res,
        deps,
        user: ANONYMOUS,
        params: undefined,
        query: undefined,
        body: undefined,
        headers: {},
        ip: clientIp(req),
        credentialSource: null,
        csrfKey: null,
        freshCsrfKey: null,
        audit: {},
      };
      let reply: Reply | undefined;
      let authenticated = def.action === 'public';
      try {
        if (def.action !== 'public') {
          const { user, source } = await authenticate(deps, req);
          ctx.user = user;
          ctx.credentialSource = source;
          authenticated = true;
          // Like CODO, every reply to a cookie-authenticated request carries a fresh unused key,
          // so browsers and Postman (which send the newest cookie) can write again and again.
          if (source === 'cookie') {
            ctx.freshCsrfKey = await issueCsrfKey(deps.db, user.id);
            setCookie(req, res, 'csrf_key', ctx.freshCsrfKey, { maxAgeMs: CSRF_TTL_MS, httpOnly: false });
          }
          // Task-scoped actions are decided per task (decideTask); the rest by role here.
          const rule = ACTIONS[def.action];
          if (rule.scope === 'global' && !roleAllows(user, def.action)) {
            throw new HttpError(403, def.style === 'codo' ? -2 : 403, `permission denied: ${def.action} (${rule.description}) needs role ${rule.roles.join(' or ')}`, {
              action: def.action,
              role: user.role,
            });
          }
        }
        // The input is checked before anything reads it (the CSRF key may come in the body).
        ctx.params = parse(def.params, req.params, 'path');
        ctx.query = parse(def.query, req.query, 'query');
        if (def.headers) ctx.headers = parse(def.headers, Object.fromEntries(Object.keys(def.headers.shape).map((h) => [h, req.headers[h.toLowerCase()]])), 'header');
        ctx.body = parse(def.body, req.body, 'body');
        if (ctx.credentialSource !== null) {
          const csrf = def.csrf ?? (isWrite(def.method) ? 'required' : 'none');
          if (csrf !== 'none') ctx.csrfKey = await checkCsrf(deps, req, ctx.user, ctx.credentialSource, csrf);
        }
        const out = await def.handler(ctx);
        if (def.streams && out === undefined) reply = undefined;
        else reply = out instanceof Reply ? out : new Reply(def.successStatus ?? 200, out);
      } catch (err) {
        reply = errorReply(err, def.style, deps.log);
      }
      const auditAction = ctx.audit.action ?? (def.audit === false ? undefined : (def.audit ?? (isWrite(def.method) ? def.action : undefined)));
      // Unauthenticated requests have no actor to record; they are refused before doing anything.
      if (auditAction && authenticated && reply) {
        try {
          await appendAudit(deps.db, deps.box, {
            actor: ctx.user.username || (typeof ctx.audit.detail?.username === 'string' ? ctx.audit.detail.username : '-'),
            action: auditAction,
            target: ctx.audit.target ?? '',
            detail: { method: req.method, path: req.path, status: reply.status, ...(ctx.audit.detail ?? {}) },
            ip: ctx.ip,
            result: resultOf(reply),
          });
        } catch (err) {
          deps.log(`audit append failed: ${String(err)}`);
          if (reply.status < 400) reply = new Reply(500, { code: 500, msg: 'internal error: could not write the audit log', details: null });
        }
      }
      if (reply && !res.headersSent) {
        if (reply.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="opsflow"');
        res.status(reply.status).json(withDetails(reply));
      }
    });
  }
}
