// Wire formats shared by the route schemas, written as zod regexes so that the OpenAPI document
// (whose patterns are ECMA-262, like these) states exactly what the server accepts: a check kept
// in a handler instead would refuse requests the document calls valid. Character classes are
// spelled out (no \s, \d, \w), so every regex engine reads them alike.
import { z } from 'zod';
import { codePoints } from '../domain/codePoints';

export { codePoints };

/** ASCII whitespace, as CODO's clients pad values (no Unicode spaces). */
export const WS = '[\\t\\n\\v\\f\\r ]';

/** What String.prototype.trim() removes: ECMAScript WhiteSpace and LineTerminator. */
const JS_SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

export const INT32_MAX = 2_147_483_647;

function digitClass(lo: string, hi: string): string {
  return lo === hi ? lo : lo === '0' && hi === '9' ? '[0-9]' : `[${lo}-${hi}]`;
}

/** Alternatives matching the digit strings lo..hi (same length, lo ≤ hi). */
function sameLength(lo: string, hi: string): string[] {
  const n = lo.length;
  if (lo === '0'.repeat(n) && hi === '9'.repeat(n)) return [n === 1 ? '[0-9]' : `[0-9]{${n}}`];
  if (n === 1) return [digitClass(lo, hi)];
  const [l0, h0] = [lo[0] as string, hi[0] as string];
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (l0 === h0) return sameLength(restLo, restHi).map((r) => l0 + r);
  const out = sameLength(restLo, '9'.repeat(n - 1)).map((r) => l0 + r);
  if (Number(h0) - Number(l0) > 1) out.push(digitClass(String(Number(l0) + 1), String(Number(h0) - 1)) + `[0-9]{${n - 1}}`);
  out.push(...sameLength('0'.repeat(n - 1), restHi).map((r) => h0 + r));
  return out;
}

/** A regex source (no anchors) for the decimal integers min..max, without sign or leading zeros. */
export function decimalRange(min: number, max: number): string {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max) throw new RangeError(`bad range ${min}..${max}`);
  const parts: string[] = [];
  for (let len = String(min).length; len <= String(max).length; len++) {
    const lo = Math.max(min, len === 1 ? 0 : 10 ** (len - 1));
    const hi = Math.min(max, 10 ** len - 1);
    if (lo <= hi) parts.push(...sameLength(String(lo), String(hi)));
  }
  return parts.length === 1 ? (parts[0] as string) : `(?:${parts.join('|')})`;
}

/** A regex source for the integers min..max (negative ones with a leading '-'). */
export function integerRange(min: number, max: number): string {
  if (min >= 0) return decimalRange(min, max);
  const negative = `-${decimalRange(Math.max(1, max < 0 ? -max : 1), -min)}`;
  return max < 0 ? negative : `(?:${negative}|${decimalRange(0, max)})`;
}

/** A whole-number query or path value min..max, written in decimal: `1e3`, `0x1`, ` 5` are refused. */
export function intParam(min: number, max: number, what = 'an integer') {
  return intText(min, max, what).transform(Number);
}

/** A query value min..max with a default when absent. */
export function intParamOr(min: number, max: number, dflt: number, what = 'an integer') {
  return intText(min, max, what).default(String(dflt)).transform(Number);
}

function intText(min: number, max: number, what: string) {
  return z.string().regex(new RegExp(`^${integerRange(min, max)}$`), `${what} from ${min} to ${max}, in decimal digits`);
}

/**
 * Some character besides whitespace (as trim() sees it), and no NUL. Blanks, then the first other
 * character, then anything: one way to match any text (src/api/submitSchemas.ts says why that matters).
 */
export const NOT_BLANK_RE = new RegExp(`^[${JS_SPACE}]*[^\\u0000${JS_SPACE}][^\\u0000]*$`);

/** Text with something besides whitespace in it, stored trimmed; at most `max` characters as sent. */
export function nonBlank(max: number) {
  return str(max)
    .regex(NOT_BLANK_RE, 'must not be empty (or only spaces)')
    .transform((s) => s.trim());
}


/** A string of min..max characters counted as the document counts them (code points). */
export function str(max: number, min = 0) {
  return z
    .string()
    // abort: a text of the wrong length is refused before any pattern runs on it, so no pattern
    // ever scans more than `max` characters of a (up to 1 MB) body.
    .refine((s) => {
      const n = codePoints(s);
      return n >= min && n <= max;
    }, { message: min > 0 ? `${min} to ${max} characters` : `at most ${max} characters`, abort: true })
    .meta({ maxLength: max, ...(min > 0 ? { minLength: min } : {}) });
}

/** One argument token: no whitespace (as String.prototype.split(/\s+/) sees it). */
export const TOKEN_RE = new RegExp(`^[^\\u0000${JS_SPACE}]+$`);

const HEX = '[0-9A-Fa-f]{1,4}';
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;

/** IPv6 text forms (RFC 4291 §2.2): eight groups, `::` for one or more zero groups, an IPv4 tail. */
function ipv6(): string {
  const groups = (n: number): string => (n === 0 ? '' : n === 1 ? HEX : `${HEX}(?::${HEX}){${n - 1}}`);
  const alts = [`${groups(8)}`, `(?:${HEX}:){6}${IPV4}`];
  for (let a = 0; a <= 7; a++) {
    const left = groups(a);
    alts.push(a === 7 ? `${left}::` : `${left}::(?:${HEX}(?::${HEX}){0,${6 - a}})?`);
    if (a <= 5) alts.push(`${left}::(?:${HEX}:){0,${5 - a}}${IPV4}`);
  }
  return `(?:${alts.join('|')})`;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** RFC 1123 names whose last label is not all digits (`999.1.1.1` is a bad address, not a name). */
const HOSTNAME = `(?:${LABEL}\\.)*(?![0-9]+(?:[^A-Za-z0-9.-]|$))${LABEL}`;

/**
 * What domain/hosts.ts isValidHost accepts, as a regex source without anchors (its 253-character
 * limit is kept by lengths): strict IPv4 (no leading zeros), IPv6, or a host name. Ends at a
 * character no host has (`,`, space, end).
 */
export const HOST_SOURCE = `(?:${IPV4}|${ipv6()}|${HOSTNAME})(?![A-Za-z0-9.:-])`;

export const HOST_RE = new RegExp(`^${HOST_SOURCE}$`);

/** A host to run on or pin: an address or a host name, at most 253 characters. */
export function host() {
  return str(253, 1).regex(HOST_RE, 'not a valid IP address or host name');
}

/** Base64 characters in index order. */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function charClass(chars: string[]): string {
  return chars.length === 1 ? (chars[0] as string).replace(/[+/]/g, '\\$&') : `[${chars.join('').replace(/[+/\\-]/g, '\\$&')}]`;
}

/**
 * A regex source for base64 text whose decoded bytes begin with `prefix`: the characters that
 * prefix decides exactly, then (when it ends inside a character) the characters whose leading
 * bits agree, then any base64.
 */
export function base64StartingWith(prefix: Buffer): string {
  const bits = [...prefix].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 6) {
    const known = bits.slice(i, i + 6);
    out += charClass([...B64].filter((_c, index) => index.toString(2).padStart(6, '0').startsWith(known)));
  }
  return `${out}[A-Za-z0-9+/]*={0,2}`;
}

/** SSH public key types opsflow pins. */
export const SSH_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'] as const;

/**
 * An OpenSSH public key line, `<type> <base64 blob> [comment]`, whose blob starts with its type
 * (SSH wire format: a 4-byte length, then the type name), as known-host pinning checks it.
 */
export const PUBLIC_KEY_LINE_RE = new RegExp(
  `^[${JS_SPACE}]*(?:${SSH_KEY_TYPES.map((t) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(t.length);
    return `${t.replace(/[.]/g, '\\.')}[${JS_SPACE}]+${base64StartingWith(Buffer.concat([len, Buffer.from(t, 'ascii')]))}`;
  }).join('|')})(?:[${JS_SPACE}][^\\u0000]*)?$`,
);

const YEAR = '[1-9][0-9]{3}';
const LEAP_YEAR = '(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)';

/** Calendar dates, years 1000-9999, days checked against their month; `loose`: 1-digit month and day allowed. */
function date(loose: boolean): string {
  const z = loose ? '0?' : '0';
  const m31 = `(?:${z}[13578]|1[02])`;
  const m30 = `(?:${z}[469]|11)`;
  const d = (last: string): string => `(?:${z}[1-9]|${last})`;
  return `(?:${YEAR}-(?:${m31}-${d('[12][0-9]|3[01]')}|${m30}-${d('[12][0-9]|30')}|${z}2-${d('1[0-9]|2[0-8]')})|${LEAP_YEAR}-${z}2-29)`;
}

const MINSEC = '[0-5][0-9]';
const FRACTION = '(?:\\.[0-9]{1,9})?';
const ISO_TIME = `${date(false)}[ T](?:[01][0-9]|2[0-3]):${MINSEC}(?::${MINSEC}${FRACTION})?[${JS_SPACE}]?(?:Z|z|[+-](?:[01][0-9]|2[0-3])(?::?${MINSEC})?)`;
const LOCAL_TIME = `${date(true)}[ T](?:[01]?[0-9]|2[0-3]):${MINSEC}(?::${MINSEC}${FRACTION})?`;
const TIME_OF_DAY = `(?:[01]?[0-9]|2[0-3]):${MINSEC}(?::${MINSEC})?`;

/**
 * A start time as domain/execTime.ts parseExecTime reads it: 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM[:SS]'
 * (today) in OPSFLOW_TIMEZONE, or ISO 8601 with an offset; years 1000-9999; blank means now.
 */
export const EXEC_TIME_RE = new RegExp(`^[${JS_SPACE}]*(?:(?:${ISO_TIME}|${LOCAL_TIME}|${TIME_OF_DAY})[${JS_SPACE}]*)?$`);

export function execTime(max = 64) {
  return str(max).regex(EXEC_TIME_RE, "expected 'YYYY-MM-DD HH:MM:SS' (also 'YYYY-MM-DD HH:MM' or 'HH:MM') in OPSFLOW_TIMEZONE, or ISO 8601 with an offset such as '2019-03-22T16:09:50+08:00'");
}
