// Host groups as CODO clients send them: `"{1: '10.0.0.1,10.0.0.2'}"` (Python literal) or a JSON
// object `{"1": ["10.0.0.1"]}`. Parsing and address checks are here; CODO's per-template-group
// validation order is in `checkHostGroups`.

import { formatPythonLiteral, parsePythonLiteral, PythonLiteralError, type PyKey } from './pythonLiteral';

/** Hosts of one group: `'a, b,,c'` → `['a', 'b', 'c']`; arrays may hold comma lists too; duplicates dropped. */
export function parseHostList(value: string | readonly string[]): string[] {
  const pieces = typeof value === 'string' ? [value] : value;
  const hosts = pieces.flatMap((piece) => piece.split(',')).map((h) => h.trim());
  // The same host twice in a group would run every step on it twice, concurrently.
  return [...new Set(hosts.filter((h) => h !== ''))];
}

/** A dotted-quad IPv4 address, each octet 0–255 written without leading zeros (`01` is ambiguous: octal to some tools). */
export function isValidIPv4(h: string): boolean {
  const octets = h.split('.');
  return octets.length === 4 && octets.every((o) => /^(?:0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255);
}

/** An IPv6 address in text form (RFC 4291 §2.2, incl. `::` and an IPv4 tail); no zone id, no brackets. */
export function isValidIPv6(h: string): boolean {
  let text = h;
  const lastColon = h.lastIndexOf(':');
  if (h.includes('.', lastColon)) {
    // `::ffff:192.0.2.1`: the last 32 bits written as IPv4 count as two groups.
    if (lastColon < 0 || !isValidIPv4(h.slice(lastColon + 1))) return false;
    text = h.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((part) => part.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)))) return false;
  const count = groups.reduce((n, part) => n + part.length, 0);
  // Without `::` there must be 8 groups; `::` stands for at least one group of zeros.
  return halves.length === 1 ? count === 8 : count <= 7;
}

/** A host name per RFC 1123: dot-separated labels of letters, digits and inner hyphens, ≤ 253 chars. */
export function isValidHostname(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.split('.');
  if (!labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  // An all-numeric last label would make `999.1.1.1` or `10.1` a "name"; such strings are meant
  // as addresses and must pass the IPv4 check instead (RFC 3696 §2).
  return !/^\d+$/.test(labels[labels.length - 1] as string);
}

/** An address or name opsflow will try to reach: strict IPv4, IPv6, or an RFC 1123 host name. */
export function isValidHost(h: string): boolean {
  return isValidIPv4(h) || isValidIPv6(h) || isValidHostname(h);
}

export type HostGroups = Map<number, string[]>;

export type HostGroupsResult =
  | { ok: true; groups: HostGroups }
  | { ok: false; reason: 'unparsable' | 'not_a_dict' | 'bad_group_key' | 'bad_group_value'; message: string };

/**
 * Read the `hosts` field: a Python-literal or JSON string, a parsed Map, or a plain object. Keys are
 * group numbers (positive ints, or strings of digits); values a comma-separated string or a list of
 * strings. Absent or empty input means no groups. Host *syntax* is checked by `checkHostGroups`,
 * so that errors come in CODO's order.
 */
export function parseHostGroups(input: unknown): HostGroupsResult {
  let value: unknown = input;
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    return { ok: true, groups: new Map() };
  }
  if (typeof input === 'string') {
    try {
      value = parsePythonLiteral(input);
    } catch (error) {
      if (!(error instanceof PythonLiteralError)) throw error;
      return { ok: false, reason: 'unparsable', message: `hosts: ${error.message}` };
    }
  }
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...(value as Map<unknown, unknown>)];
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) entries = Object.entries(value);
  else return { ok: false, reason: 'not_a_dict', message: 'hosts: expected a dict of group number → hosts, like {1: "10.0.0.1,10.0.0.2"}' };

  const groups: HostGroups = new Map();
  for (const [key, hosts] of entries) {
    const group = toGroupNumber(key);
    if (group === undefined) {
      return { ok: false, reason: 'bad_group_key', message: `hosts: group key ${describe(key)} is not a positive integer` };
    }
    // `{1: 'a', '1': 'b'}` names one group twice.
    if (groups.has(group)) return { ok: false, reason: 'bad_group_key', message: `hosts: group ${group} appears twice` };
    const list = toHostList(hosts);
    if (list === undefined) {
      return { ok: false, reason: 'bad_group_value', message: `hosts: group ${group} must be a comma-separated string or a list of strings` };
    }
    groups.set(group, list);
  }
  return { ok: true, groups };
}

export type HostGroupsProblem =
  | { kind: 'empty'; group: number } // CODO -4 "The exec host cannot be empty"
  | { kind: 'too_many'; group: number; count: number } // CODO -4 "Too many hosts, please execute in groups"
  | { kind: 'invalid_host'; group: number; host: string } // CODO 5 "ip格式有误"
  | { kind: 'mismatch'; group: number }; // opsflow -3: a group the template does not have

/**
 * The first problem in CODO's order: for each template group in ascending order — missing/empty,
 * more than `maxHostsPerGroup`, an invalid host — and only then groups the template lacks
 * (which CODO silently dropped). `undefined` when the hosts fit the template.
 */
export function checkHostGroups(
  groups: ReadonlyMap<number, readonly string[]>,
  templateGroups: Iterable<number>,
  maxHostsPerGroup: number,
): HostGroupsProblem | undefined {
  const expected = [...new Set(templateGroups)].sort((a, b) => a - b);
  for (const group of expected) {
    const hosts = groups.get(group) ?? [];
    if (hosts.length === 0) return { kind: 'empty', group };
    if (hosts.length > maxHostsPerGroup) return { kind: 'too_many', group, count: hosts.length };
    const invalid = hosts.find((h) => !isValidHost(h));
    if (invalid !== undefined) return { kind: 'invalid_host', group, host: invalid };
  }
  const extra = [...groups.keys()].sort((a, b) => a - b).find((g) => !expected.includes(g));
  return extra === undefined ? undefined : { kind: 'mismatch', group: extra };
}

function toGroupNumber(key: unknown): number | undefined {
  if (typeof key === 'number') return Number.isSafeInteger(key) && key > 0 ? key : undefined;
  if (typeof key === 'string' && /^[1-9]\d*$/.test(key)) {
    const n = Number(key);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function toHostList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return parseHostList(value);
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return parseHostList(value);
  return undefined;
}

/** Keys come from a parsed literal (str, int, float, bool, None) or from an object (strings). */
function describe(key: unknown): string {
  return formatPythonLiteral(key as PyKey);
}
