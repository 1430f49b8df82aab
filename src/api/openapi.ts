// OpenAPI 3.1 built from the route registry: the same zod schemas that validate requests.
import { z } from 'zod';
import { ACTIONS } from '../domain/permissions';
import { withInputLimits } from './inputLimits';
import type { AnyRoute, ErrorStatus } from './routing';

type JsonSchema = Record<string, unknown>;

/** Named schemas (zod `.meta({ id })`) collected while building: they become components.schemas. */
type Components = Record<string, JsonSchema>;

/** Rewrites `#/$defs/X` (local to one generated schema) to `#/components/schemas/<rename(X)>`. */
function relink(value: unknown, rename: (name: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => relink(v, rename));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\/(.+)$/, (_m, n: string) => `#/components/schemas/${rename(n)}`) : relink(v, rename);
    }
    return out;
  }
  return value;
}

function toSchema(schema: z.ZodType, io: 'input' | 'output', components: Components): JsonSchema {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  // Inputs also obey the global limits every request is checked against (no NUL, bounded numbers).
  const out = (io === 'input' ? withInputLimits(generated) : generated) as JsonSchema;
  delete out.$schema;
  const defs = (out.$defs ?? {}) as Record<string, JsonSchema>;
  delete out.$defs;
  // Input and output shapes of one named schema may differ (defaults, transforms): `<Name>Out`.
  const identity = (n: string): string => n;
  const renamed = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    const plain = JSON.stringify(relink(def, identity));
    renamed.set(name, io === 'output' && components[name] && JSON.stringify(components[name]) !== plain ? `${name}Out` : name);
  }
  const rename = (n: string): string => renamed.get(n) ?? n;
  for (const [name, def] of Object.entries(defs)) components[rename(name)] = relink(def, rename) as JsonSchema;
  return relink(out, rename) as JsonSchema;
}

/** `/api/v1/tasks/:id` → `/api/v1/tasks/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query' | 'header', components: Components): unknown[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input', components);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Every error reply (HTTP 4xx) has this shape.',
  properties: {
    code: { type: 'integer', not: { const: 0 }, description: 'non-zero; the HTTP status on /api/v1, a CODO code (negative) on CODO routes' },
    msg: { type: 'string', description: 'what is wrong, naming the field' },
    details: { description: 'per-field problems [{field, problem}], or context, or null' },
  },
  required: ['code', 'msg', 'details'],
  additionalProperties: false,
};

/** CODO's business refusals: HTTP 200 with a non-zero code (clients read `code`). */
const CODO_REFUSAL_SCHEMA: JsonSchema = {
  type: 'object',
  description: "CODO's refusal: HTTP 200, a non-zero code and CODO's message; `details` (opsflow) names the field or reason.",
  properties: {
    code: { type: 'integer', not: { const: 0 } },
    msg: { type: 'string' },
    details: {},
  },
  required: ['code', 'msg'],
  additionalProperties: false,
};

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid request: the field is named in msg and details (also a NUL byte anywhere, a number beyond ±(2^53-1), a body that is not JSON)',
  401: 'not authenticated (WWW-Authenticate: Bearer)',
  402: 'csrf error.: a write authenticated by the auth_key cookie without a valid one-use csrf_key',
  403: 'not permitted',
  404: 'not found (or not visible to you)',
  409: 'conflict with the current state',
  413: 'body too large (over 1 MB)',
  422: 'well-formed but not usable (a private key ssh2 cannot read, an expiry in the past)',
  415: 'unsupported body charset or encoding',
  429: 'too many attempts from this address',
};

/** The error statuses a route can answer: its kind's generic set plus what its handler declares. */
export function errorStatuses(r: AnyRoute): number[] {
  const set = new Set<number>([400, 413, 415, ...(r.errors ?? ([] as readonly ErrorStatus[]))]);
  if (r.action !== 'public') {
    set.add(401);
    set.add(403);
    const csrf = r.csrf ?? (r.method === 'get' ? 'none' : 'required');
    if (csrf !== 'none') set.add(402);
  }
  if (r.params) set.add(404);
  return [...set].sort((a, b) => a - b);
}

export function operationId(r: { method: string; path: string }): string {
  return `${r.method}${openApiPath(r.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`;
}

function objectKeys(schema: z.ZodType): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape) : {};
}

/**
 * Links from a route's success reply: declared ones, and by rule on /api/v1 — a created resource's
 * `id` (201) and a list's first `items[].id` lead to the routes under `<path>/:id`.
 */
function linksOf(r: AnyRoute, routes: readonly AnyRoute[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const add = (target: { method: string; path: string }, link: { parameters?: Record<string, string>; requestBody?: Record<string, string> }): void => {
    if (!routes.some((t) => t.method === target.method && t.path === target.path)) throw new Error(`link from ${r.method} ${r.path} to unknown route ${target.method} ${target.path}`);
    out[operationId(target)] = { operationId: operationId(target), ...link };
  };
  const keys = objectKeys(r.response);
  const items = keys.items instanceof z.ZodArray ? objectKeys(keys.items.element as z.ZodType) : {};
  const idFrom = r.method === 'post' && r.successStatus === 201 && keys.id ? '$response.body#/id' : r.method === 'get' && items.id ? '$response.body#/items/0/id' : null;
  if (idFrom !== null) {
    for (const t of routes) if (t.path.startsWith(`${r.path}/:id`)) add(t, { parameters: { 'path.id': idFrom } });
  }
  for (const l of r.links ?? []) add(l, { ...(l.parameters ? { parameters: l.parameters } : {}), ...(l.requestBody ? { requestBody: l.requestBody } : {}) });
  return out;
}

/**
 * One server-sent event of a followed log (OpenAPI before 3.2: a stream's `schema` describes each
 * event, as a client parses it). `data` is JSON: a log row (`log`), `{status}` (`status`, `end`)
 * or `{msg}` (`error`); `id` is the log row's, to resume with `Last-Event-ID`.
 */
const SSE_EVENT = {
  type: 'object',
  required: ['event', 'data'],
  properties: {
    event: { type: 'string', enum: ['log', 'status', 'end', 'error'] },
    data: { type: 'string', contentMediaType: 'application/json' },
    id: { type: 'string' },
    retry: { type: 'integer', minimum: 0 },
  },
} as const;

export function buildOpenApi(routes: readonly AnyRoute[], info: { version: string }): Record<string, unknown> {
  const components: Components = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = (paths[openApiPath(r.path)] ??= {});
    const success = toSchema(r.response, 'output', components);
    const body = r.style === 'codo' ? { anyOf: [success, { $ref: '#/components/schemas/CodoRefusal' }] } : success;
    const links = linksOf(r, routes);
    const responses: Record<string, unknown> = {
      [String(r.successStatus ?? 200)]: {
        description: r.style === 'codo' ? "success (code 0), or CODO's refusal (a non-zero code)" : 'success',
        ...(Object.keys(links).length ? { links } : {}),
        content: r.streams ? { 'application/json': { schema: body }, 'text/event-stream': { schema: SSE_EVENT } } : { 'application/json': { schema: body } },
      },
    };
    for (const status of errorStatuses(r)) {
      responses[String(status)] = { description: ERROR_TEXT[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const permission = r.action === 'public' ? 'public' : `\`${r.action}\`: ${ACTIONS[r.action].description} (roles: ${ACTIONS[r.action].roles.join(', ')})`;
    p[r.method] = {
      operationId: operationId(r),
      summary: r.summary,
      description: [r.description, `Permission: ${permission}.`].filter(Boolean).join('\n\n'),
      tags: r.tags,
      parameters: [...parameters(r.params, 'path', components), ...parameters(r.query, 'query', components), ...parameters(r.headers, 'header', components)],
      // A body is required when its schema refuses the empty object (a missing body is read as {}).
      ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: toSchema(r.body, 'input', components) } } } } : {}),
      responses,
      ...(r.action === 'public' ? { security: [] } : {}),
      'x-permission': r.action,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'opsflow API',
      version: info.version,
      description:
        'Native API (/api/v1) and the CODO-compatible task API (/api/task/v2/…, /api/accounts/login/). ' +
        'Authenticate with `POST /api/accounts/login/`, then send `Authorization: Bearer <auth_key or API token>` ' +
        '(or the `auth_key` cookie, whose writes need a one-use `X-CSRF-Key` from `GET /api/task/v2/task/accept/`).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'session auth_key (ofs_…) or API token (oft_…)' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'auth_key' },
      },
      schemas: { Error: ERROR_SCHEMA, CodoRefusal: CODO_REFUSAL_SCHEMA, ...components },
    },
    paths,
  };
}
