// Two limits on every request's input, whatever the route's own schema says: no NUL byte in any
// string or key (PostgreSQL refuses NUL in text; shells and logs mangle it), and no number beyond
// ±(2^53 - 1) (JSON numbers past that lose precision in JavaScript). The same module checks
// requests (findInputProblem) and writes the limits into the OpenAPI document (withInputLimits),
// so the document states exactly what is enforced.

export const MAX_INPUT_NUMBER = Number.MAX_SAFE_INTEGER;

/** A JSON Schema (ECMA-262) pattern: any string without U+0000. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

export interface InputProblem {
  /** Where the value is: `['name']`, `['steps', 0, 'command']`; keys as given (NUL shown as \0). */
  path: (string | number)[];
  problem: string;
}

function printable(key: string): string {
  return key.replace(/\0/g, '\\0').slice(0, 100);
}

/** The first NUL byte or out-of-range number in a parsed input (iterative: any nesting depth). */
export function findInputProblem(value: unknown): InputProblem | null {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length) {
    const { value: v, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (typeof v === 'string') {
      if (v.includes('\0')) return { path, problem: 'may not contain a NUL byte' };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v) || Math.abs(v) > MAX_INPUT_NUMBER) return { path, problem: `number out of range (at most ±${MAX_INPUT_NUMBER})` };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i] });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [k] of entries) if (k.includes('\0')) return { path: [...path, printable(k)], problem: 'names may not contain a NUL byte' };
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        stack.push({ value: child, path: [...path, k] });
      }
    }
  }
  return null;
}

type JsonSchema = Record<string, unknown>;

function types(schema: JsonSchema): string[] {
  const t = schema.type;
  return typeof t === 'string' ? [t] : Array.isArray(t) ? (t as string[]) : [];
}

/**
 * A copy of an input JSON Schema stating the limits: strings (record keys too, via propertyNames)
 * match NO_NUL_PATTERN unless a pattern, format or enum already decides them; numbers are bounded.
 * Undeclared properties of a non-strict object are dropped by its zod schema, so they are free.
 * Subschemas under `not` are left alone (a limit there would invert).
 */
export function withInputLimits(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withInputLimits);
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema as JsonSchema)) {
    if (k === 'not' || k === 'const' || k === 'enum' || k === 'default' || k === 'examples' || k === 'example') out[k] = v;
    else if (k === 'properties' || k === '$defs') out[k] = Object.fromEntries(Object.entries(v as JsonSchema).map(([name, s]) => [name, withInputLimits(s)]));
    else out[k] = withInputLimits(v);
  }
  const t = types(out);
  const decided = 'enum' in out || 'const' in out;
  if (t.includes('string') && !decided && out.pattern === undefined && out.format === undefined) out.pattern = NO_NUL_PATTERN;
  if ((t.includes('number') || t.includes('integer')) && !decided) {
    if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = MAX_INPUT_NUMBER;
    if (out.minimum === undefined && out.exclusiveMinimum === undefined) out.minimum = -MAX_INPUT_NUMBER;
  }
  return out;
}
