// Turning submitted fields (CODO's Python-literal strings or JSON) into SubmitTaskInput pieces,
// for both dialects. Every problem becomes an InputError naming the field.
import { Refusal } from '../domain/errors';
import { parseHostGroups } from '../domain/hosts';
import { parsePythonDict, PythonLiteralError } from '../domain/pythonLiteral';
import { ExecTimeError, parseExecTime } from '../domain/execTime';
import { codePoints } from '../domain/codePoints';

/** A submitted field that cannot be used; the message reads `field: problem`. */
export class InputError extends Refusal {
  declare readonly field: string;

  constructor(field: string, problem: string) {
    super('invalid', field, problem);
  }
}

// How many arguments and names a submission may hold is bounded by the request schemas
// (submitSchemas.ts): by count for JSON objects, by length for literals.

/** Characters of an argument value (a CODO literal as a whole is bounded by this too). */
export const MAX_ARG_VALUE = 64 * 1024;
export const ARG_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * The parser's reason without the input text it quotes (`unexpected name 'hunter2'`): task
 * argument values may be secrets, and error replies are also written to the audit log.
 */
export function reasonWithoutInput(err: PythonLiteralError): string {
  const reason = err.reason
    .replace(/\bname '[^']*'/g, 'an unquoted word (quote string values)')
    .replace(/\bunexpected an unquoted/g, 'unexpected unquoted')
    .replace(/\b(found|unexpected) (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g, '$1 a character that does not belong there')
    .replace(/(dict keys must be str or int), found .*$/, '$1');
  return `${reason} at position ${err.position}`;
}

function dictFrom(field: string, value: unknown, secretValues = false): Record<string, unknown> {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return {};
  if (typeof value === 'string') {
    try {
      return parsePythonDict(value);
    } catch (err) {
      if (err instanceof PythonLiteralError) {
        throw new InputError(field, `not a valid Python or JSON dict literal: ${secretValues ? reasonWithoutInput(err) : err.message}`);
      }
      throw err;
    }
  }
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new InputError(field, `expected a dict (a Python-literal string like "{'KEY': 'value'}" or a JSON object), got ${Array.isArray(value) ? 'an array' : typeof value}`);
}

/** Python's str() of a scalar, as CODO put argument values into command lines. */
function pyStr(field: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null) return 'None';
  throw new InputError(field, 'must be a string, number, boolean or None');
}

/** Task arguments: names → string values. */
export function parseArgs(value: unknown, field = 'args'): Record<string, string> {
  const dict = dictFrom(field, value, true);
  const entries = Object.entries(dict);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!ARG_KEY_RE.test(k)) throw new InputError(`${field}.${k.slice(0, 40)}`, 'argument names are letters, digits and _ (not starting with a digit), at most 128');
    const text = pyStr(`${field}.${k}`, v);
    if (codePoints(text) > MAX_ARG_VALUE) throw new InputError(`${field}.${k}`, `at most ${MAX_ARG_VALUE} characters`);
    if (text.includes('\0')) throw new InputError(`${field}.${k}`, 'may not contain a NUL byte');
    out[k] = text;
  }
  return out;
}

const NAME = /^[\p{L}\p{N}._@-]+$/u;

/** associated_user: `{'admin': ['alice']}`, lists or comma-separated strings of usernames. */
export function parseAssociatedUser(value: unknown, field = 'associated_user'): Record<string, string[]> {
  const dict = dictFrom(field, value);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(dict)) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(k)) throw new InputError(`${field}.${k.slice(0, 40)}`, 'keys are 1-32 letters, digits, _ or -');
    let names: string[];
    if (typeof v === 'string') names = v.split(',').map((s) => s.trim()).filter(Boolean);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) names = (v).map((s) => s.trim()).filter(Boolean);
    else throw new InputError(`${field}.${k}`, 'must be a list of usernames or a comma-separated string');
    const bad = names.find((n) => !NAME.test(n));
    if (bad !== undefined) throw new InputError(`${field}.${k}`, `'${bad.slice(0, 40)}' is not a username`);
    out[k] = [...new Set(names)];
  }
  return out;
}

export function parseHosts(value: unknown, field = 'hosts'): Map<number, string[]> {
  const result = parseHostGroups(value);
  if (!result.ok) throw new InputError(field, result.message.replace(/^hosts: /, ''));
  return result.groups;
}

export function parseTime(value: unknown, field: string, timeZone: string, now = new Date()): Date | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InputError(field, 'must be a string such as "2019-03-22 16:09:50"');
  try {
    return parseExecTime(value, timeZone, now);
  } catch (err) {
    if (err instanceof ExecTimeError) throw new InputError(field, err.message.replace(/^invalid exec_time /, 'invalid time '));
    throw err;
  }
}
