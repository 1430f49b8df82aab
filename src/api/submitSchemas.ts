// The schemas of a submission's dict fields (args, hosts, associated_user), for both dialects:
// JSON objects, and CODO's Python-literal strings. The literals are described by regexes of the
// subset of Python's literal syntax CODO clients write (`{1: '10.0.0.1,10.0.0.2'}`,
// `{'HOSTNAME': 'web01'}`, `{'admin': ['alice']}`): whatever such a regex accepts, the literal
// parser and the field's rules (submitInput.ts, domain/hosts.ts) accept too, so the document
// promises nothing the server refuses. Host *addresses* inside CODO's hosts are not checked here:
// CODO answers a bad one with its own code 5 (HTTP 200).
import { z } from 'zod';
import { ARG_KEY_RE, InputError, MAX_ARG_VALUE, parseArgs, parseAssociatedUser, parseHosts } from '../tasks/input';
import { MAX_HOSTS_PER_GROUP } from '../tasks/submit';
import { decimalRange, HOST_RE, HOST_SOURCE, INT32_MAX, str, WS } from './wire';

// ---------------------------------------------------------------------------------------------
// Pieces of Python literal syntax (no comments, line continuations, prefixes or adjacent strings).

/** Python's whitespace between tokens. */
const PY_WS = `${WS}*`;
/** One character of a quoted string: anything but the quote, a backslash, a line break or NUL. */
const sq = `[^'\\\\\\n\\r\\u0000]`;
const dq = `[^"\\\\\\n\\r\\u0000]`;
/** The escapes allowed (none that yields NUL): \\ \' \" \n \r \t. */
const ESC = `\\\\[\\\\'"nrt]`;
const PY_STR = `(?:'(?:${sq}|${ESC})*'|"(?:${dq}|${ESC})*")`;
/** A string whose content matches `content` (which holds no quote, backslash or line break). */
const quoted = (content: string): string => `(?:'${content}'|"${content}")`;
const PY_INT = '-?(?:0|[1-9][0-9]{0,14})';
const PY_FLOAT = '-?(?:0|[1-9][0-9]{0,14})\\.[0-9]{1,15}';
const PY_SCALAR = `(?:${PY_STR}|${PY_FLOAT}|${PY_INT}|True|False|None|true|false|null)`;

// Counts are left to lengths: a bounded repetition of a large piece makes a regex too big for
// some engines that check documents.
//
// No pattern may match one text in more than one way: a backtracking engine (V8's, which checks
// requests; Python's, with which schemathesis filters the strings it generates) tries every way
// before it refuses, and `WS*(?:x)?WS*` repeated per comma made that exponential — 16 blank items
// and a bad end (' , , … , 1.2.3.4:') took V8 15 s (each more about three times as long), and
// schemathesis spun for minutes past its time budget. So blanks come before an optional item and after an item, never on both sides of
// an absent one: `WS*(?:x WS*)?`.

/** A list of `item`s, trailing comma allowed. */
function pyList(item: string): string {
  return `\\[${PY_WS}(?:${item}${PY_WS}(?:,${PY_WS}${item}${PY_WS})*(?:,${PY_WS})?)?\\]`;
}

/** A whole literal: blank (an empty dict), or one dict. */
function pyDict(key: string, value: string): string {
  const entry = `${key}${PY_WS}:${PY_WS}${value}${PY_WS}`;
  return `^${PY_WS}(?:\\{${PY_WS}(?:${entry}(?:,${PY_WS}${entry})*(?:,${PY_WS})?)?\\}${PY_WS})?$`;
}

/**
 * Why the field's parser refuses a literal the pattern refused (with the position, never the
 * argument text, which may be secret); undefined when the parser would take it (the pattern is
 * narrower than the parser: it keeps to what CODO clients write).
 */
function whyNot(input: unknown, parse: (value: unknown) => unknown): string | undefined {
  try {
    parse(input);
    return undefined;
  } catch (err) {
    // `args.KEY: problem` keeps the key: the reply says `args: KEY: problem`.
    if (err instanceof InputError) return err.field.includes('.') ? err.message.slice(err.field.indexOf('.') + 1) : err.message.slice(err.field.length + 2);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// args: argument name → str, int, float, bool or None (sent as Python's str() of it).

/** Arguments of a JSON object (a literal is bounded by its length). */
export const MAX_ARGS = 200;
const ARG_KEY = '[A-Za-z_][A-Za-z0-9_]{0,127}';

const ARGS_LITERAL_RE = new RegExp(pyDict(quoted(ARG_KEY), PY_SCALAR));

const ArgsObject = z
  .record(z.string().regex(ARG_KEY_RE, 'argument names are letters, digits and _ (not starting with a digit), at most 128'), z.union([str(MAX_ARG_VALUE), z.number(), z.boolean(), z.null()]))
  .refine((o) => Object.keys(o).length <= MAX_ARGS, `at most ${MAX_ARGS} arguments`)
  .meta({ maxProperties: MAX_ARGS });

const ArgsLiteral = str(MAX_ARG_VALUE).regex(ARGS_LITERAL_RE, {
  error: (issue) =>
    whyNot(issue.input, parseArgs) ??
    `a Python or JSON dict literal like "{'HOSTNAME': 'web01', 'COUNT': 3}" (names: letters, digits and _; values: quoted strings with no escapes but \\\\ \\' \\" \\n \\r \\t, numbers, True, False, None)`,
});

// ---------------------------------------------------------------------------------------------
// hosts: group number → hosts (a comma-separated string or a list of strings).

const GROUP = decimalRange(1, INT32_MAX);
export const GROUP_KEY_RE = new RegExp(`^${GROUP}$`);
const HOSTS_VALUE = `(?:${PY_STR}|${pyList(PY_STR)})`;
/** Group keys all ints or all strings: `{1: …, '1': …}` would name one group twice. */
const HOSTS_LITERAL_RE = new RegExp(`(?:${pyDict(GROUP, HOSTS_VALUE)})|(?:${pyDict(quoted(GROUP), HOSTS_VALUE)})`);

/** One piece of a group's hosts as v1 takes it: addresses or names, comma-separated, blanks ignored. */
const HOST_ITEM = `${WS}*(?:${HOST_SOURCE}${WS}*)?`;
const HOST_LIST_RE = new RegExp(`^${HOST_ITEM}(?:,${HOST_ITEM})*$`);

/** The refusal of a host list, naming its first bad host. */
function badHostMessage(input: unknown): string {
  const bad = typeof input === 'string' ? input.split(',').map((h) => h.trim()).find((h) => h !== '' && !HOST_RE.test(h)) : undefined;
  return bad === undefined ? 'IP addresses or host names, comma-separated' : `'${bad.slice(0, 100)}' is not an IP address or host name`;
}

function hostList(max: number) {
  return str(max).regex(HOST_LIST_RE, { error: (issue) => badHostMessage(issue.input) });
}

// ---------------------------------------------------------------------------------------------
// associated_user: role → usernames (a comma-separated string or a list).

const ROLE_KEY = '[A-Za-z0-9_-]{1,32}';
const NAME = '[\\p{L}\\p{N}._@-]+';
const SPACE = '[ \\t]*';
const NAME_ITEM = `${SPACE}(?:${NAME}${SPACE})?`;
const NAME_LIST = `${NAME_ITEM}(?:,${NAME_ITEM})*`;
const ASSOC_LITERAL_RE = new RegExp(pyDict(quoted(ROLE_KEY), `(?:${quoted(NAME_LIST)}|${pyList(quoted(NAME_ITEM))})`), 'u');

const AssocObject = z.record(
  z.string().regex(new RegExp(`^${ROLE_KEY}$`), 'keys are 1-32 letters, digits, _ or -'),
  z.union([
    str(10_000).regex(new RegExp(`^${NAME_LIST}$`, 'u'), 'a comma-separated list of usernames'),
    z.array(str(100).regex(new RegExp(`^${NAME_ITEM}$`, 'u'), 'a username')).max(100),
  ]),
);

const AssocLiteral = str(10_000).regex(ASSOC_LITERAL_RE, {
  error: (issue) => whyNot(issue.input, parseAssociatedUser) ?? `a Python or JSON dict literal like "{'admin': ['alice', 'bob']}" or "{'admin': 'alice,bob'}"`,
});

// ---------------------------------------------------------------------------------------------
// The fields as each dialect takes them.

/** v1: JSON objects; hosts are checked as addresses or names here. */
export const v1Fields = {
  args: ArgsObject,
  hosts: z
    .record(
      z.string().regex(GROUP_KEY_RE, 'a group number'),
      z.union([z.array(hostList(300)).max(MAX_HOSTS_PER_GROUP), hostList(1_000_000)], {
        error: (issue) => (Array.isArray(issue.input) && issue.input.length > MAX_HOSTS_PER_GROUP ? `${issue.input.length} hosts, more than ${MAX_HOSTS_PER_GROUP} per group` : undefined),
      }),
    )
    .describe(`group number → hosts, e.g. {"1": ["127.0.0.1"]}; at most ${MAX_HOSTS_PER_GROUP} hosts per group`),
  associated_user: AssocObject,
};

/** CODO: a Python-literal (or JSON) string, or a JSON object; null or blank is an empty dict. */
export const codoFields = {
  args: z
    .union([ArgsLiteral, ArgsObject])
    .nullable()
    .optional()
    .describe("Python-literal dict string or JSON object, e.g. \"{'HOSTNAME': 'web01'}\""),
  hosts: z
    .union([
      str(1_000_000).regex(HOSTS_LITERAL_RE, {
        error: (issue) =>
          whyNot(issue.input, parseHosts) ??
          "a Python or JSON dict literal of group number → hosts, like \"{1: '10.0.0.1,10.0.0.2'}\" (group keys all numbers or all quoted; strings with no escapes but \\\\ \\' \\\" \\n \\r \\t)",
      }),
      z.record(z.string().regex(GROUP_KEY_RE, 'a group number'), z.union([str(1_000_000), z.array(str(300)).max(10_000)])),
    ])
    .nullable()
    .optional()
    .describe("Python-literal dict string {1: '10.0.0.1,10.0.0.2'} or JSON {\"1\": [\"10.0.0.1\"]}"),
  associated_user: z
    .union([AssocLiteral, AssocObject])
    .nullable()
    .optional()
    .describe("Python-literal dict, e.g. \"{'admin': ['alice']}\""),
};
