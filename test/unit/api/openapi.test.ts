/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call -- walking a JSON document */
// Properties of the generated OpenAPI document that keep it the truth as routes are added: every
// input value is typed and bounded as the server checks it, every operation lists the statuses
// its kind can answer, and every link leads to a real operation. (schemathesis checks the rest
// against the running server: test/integration/schemathesis.test.ts.)
import { describe, expect, it } from 'vitest';
import { MAX_INPUT_NUMBER, NO_NUL_PATTERN } from '../../../src/api/inputLimits';
import { buildOpenApi } from '../../../src/api/openapi';
import { ALL_ROUTES } from '../../../src/api/routes';

const doc = buildOpenApi(ALL_ROUTES, { version: 'test' }) as any;
const components = doc.components.schemas as Record<string, any>;

function resolve(s: any): any {
  return s && typeof s.$ref === 'string' ? components[s.$ref.replace('#/components/schemas/', '')] : s;
}

/** Every leaf of an input schema, with where it is. */
function leaves(schema: any, at: string, out: { at: string; s: any }[] = [], seen = new Set<any>()): { at: string; s: any }[] {
  const s = resolve(schema);
  if (seen.has(s)) return out;
  seen.add(s);
  // An object's own anyOf/not only say which properties go together (e.g. a key or a password).
  const branches = s.type === 'object' ? undefined : (s.anyOf ?? s.oneOf);
  if (branches) branches.forEach((b: any, i: number) => leaves(b, `${at}|${i}`, out, seen));
  else if (s.type === 'object' || s.properties) {
    for (const [k, v] of Object.entries(s.properties ?? {})) leaves(v, `${at}.${k}`, out, seen);
    if (s.propertyNames) leaves(s.propertyNames, `${at}.<key>`, out, seen);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') leaves(s.additionalProperties, `${at}.*`, out, seen);
  } else if (s.type === 'array') leaves(s.items, `${at}[]`, out, seen);
  else out.push({ at, s });
  return out;
}

function inputs(): { at: string; s: any }[] {
  const out: { at: string; s: any }[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const p of op.parameters) leaves(p.schema, `${method} ${path} ${p.in}.${p.name}`, out);
      const body = op.requestBody?.content['application/json'].schema;
      if (body) leaves(body, `${method} ${path} body`, out);
    }
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('types every input value, and bounds it as the server does (no NUL, numbers within ±(2^53-1))', () => {
    const problems: string[] = [];
    for (const { at, s } of inputs()) {
      if (s.enum || s.const !== undefined || s.type === 'boolean' || s.type === 'null') continue;
      if (s.type === 'string') {
        if (s.pattern === undefined && s.format === undefined) problems.push(`${at}: a string without pattern`);
        if (s.pattern !== undefined && new RegExp(s.pattern as string, 'u').test('a\u0000') && new RegExp(s.pattern as string, 'u').test('\u0000')) {
          problems.push(`${at}: its pattern lets NUL through`);
        }
      } else if (s.type === 'number' || s.type === 'integer') {
        if (!(Math.abs(s.maximum ?? Infinity) <= MAX_INPUT_NUMBER && Math.abs(s.minimum ?? Infinity) <= MAX_INPUT_NUMBER)) problems.push(`${at}: an unbounded number`);
      } else problems.push(`${at}: untyped (${JSON.stringify(s).slice(0, 80)})`);
    }
    expect(problems).toEqual([]);
    expect(NO_NUL_PATTERN).toBe('^[^\\u0000]*$');
  });

  it('lists, for every operation, the statuses its kind can answer, with the error shape', () => {
    expect(components.Error.required).toEqual(['code', 'msg', 'details']);
    expect(components.Error.additionalProperties).toBe(false);
    for (const r of ALL_ROUTES) {
      const op = doc.paths[r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')][r.method];
      const statuses = Object.keys(op.responses);
      expect(statuses, `${r.method} ${r.path}`).toEqual(expect.arrayContaining(['400', '413', '415', String(r.successStatus ?? 200)]));
      if (r.action !== 'public') expect(statuses).toEqual(expect.arrayContaining(['401', '403']));
      if (r.params) expect(statuses).toContain('404');
      if (r.style === 'codo') expect(JSON.stringify(op.responses[String(r.successStatus ?? 200)])).toContain('#/components/schemas/CodoRefusal');
    }
  });

  it('links only to operations it has', () => {
    const ids = new Set(Object.values(doc.paths as Record<string, Record<string, any>>).flatMap((ops) => Object.values(ops).map((op) => op.operationId as string)));
    let links = 0;
    for (const ops of Object.values(doc.paths as Record<string, Record<string, any>>)) {
      for (const op of Object.values(ops)) {
        for (const response of Object.values(op.responses as Record<string, any>)) {
          for (const link of Object.values((response.links ?? {}) as Record<string, any>)) {
            links++;
            expect(ids.has(link.operationId as string), link.operationId).toBe(true);
          }
        }
      }
    }
    expect(links).toBeGreaterThan(20);
  });
});
