// Python-literal values as CODO clients send them (`"{1: '172.16.0.101'}"`, `"{'A': 'None'}"`).
// CODO read these with Python's `ast.literal_eval`; this is a strict, pure re-implementation of the
// subset that matters, so opsflow accepts what CODO accepted without ever evaluating code.
//
// Value model (chosen to be plain for callers):
//   str → string · int/float → number · True/False → boolean · None → null
//   list and tuple → array (Python's distinction is irrelevant to callers)
//   dict → Map (keeps Python's key types and insertion order; `{1: 'a'}` has the key 1, not '1')
// JSON documents parse too: `true`, `false` and `null` are accepted as a convenience.

export type PyKey = string | number | boolean | null;
export type PyValue = string | number | boolean | null | PyValue[] | PyDict;
export type PyDict = Map<PyKey, PyValue>;

/** What `formatPythonLiteral` accepts: parsed values, plus plain objects (their keys print as strings). */
export type PyInput =
  | string
  | number
  | boolean
  | null
  | readonly PyInput[]
  | ReadonlyMap<PyKey, PyInput>
  | { readonly [key: string]: PyInput };

/** A literal that could not be parsed; `position` is the 0-based index into the input string. */
export class PythonLiteralError extends Error {
  override readonly name = 'PythonLiteralError';
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
  }
}

/** Parse one Python literal (the `ast.literal_eval` subset described above). */
export function parsePythonLiteral(text: string): PyValue {
  const parser = new Parser(text);
  const value = parser.parseTopLevel();
  parser.expectEnd();
  return value;
}

/**
 * Parse a literal that must be a dict, with str or int keys, into a plain record keyed by strings
 * (`{1: 'x'}` → `{ '1': 'x' }`). The record has no prototype, so keys like `__proto__` are just data.
 */
export function parsePythonDict(text: string): Record<string, PyValue> {
  const parser = new Parser(text);
  const start = parser.skipSpace();
  if (text[start] !== '{') {
    throw new PythonLiteralError(`expected a dict, found ${describeAt(text, start)}`, start);
  }
  const entries = parser.parseDictEntries();
  parser.expectEnd();
  const out = Object.create(null) as Record<string, PyValue>;
  const originalKeys = new Map<string, PyKey>();
  for (const { key, value, position } of entries) {
    let name: string;
    if (typeof key === 'string') name = key;
    else if (typeof key === 'number' && Number.isInteger(key)) name = String(key);
    else throw new PythonLiteralError(`dict keys must be str or int, found ${formatPythonLiteral(key)}`, position);
    // A repeated key is fine (last wins, as in Python), but `{1: 'a', '1': 'b'}` are two Python keys
    // that would collapse into one string key and silently lose a value.
    const earlier = originalKeys.get(name);
    if (earlier !== undefined && earlier !== key) throw new PythonLiteralError(`duplicate key '${name}'`, position);
    originalKeys.set(name, key);
    out[name] = value;
  }
  return out;
}

/** Render a value the way Python's `repr` would (`{1: '127.0.0.1'}`, `None`, `['a', "it's"]`). */
export function formatPythonLiteral(value: PyInput): string {
  return format(value, 0);
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the raw string, no separate token list.

/** Deep enough for any real payload; stops `[[[[…` from overflowing the JS stack. */
const MAX_DEPTH = 100;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const PREFIXED_INT_RE = /0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)/y;
const DECIMAL_RE = /(?:(\d(?:_?\d)*)(\.(?:\d(?:_?\d)*)?)?|(\.\d(?:_?\d)*))([eE][+-]?\d(?:_?\d)*)?/y;
const ZEROS_RE = /^0(?:_?0)*$/;
const IDENT_CHAR_RE = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]/u;
const OCTAL_ESCAPE_RE = /[0-7]{1,3}/y;
const HEX_DIGITS_RE = /^[0-9a-fA-F]+$/;

/** String prefixes (lower-cased): `u''` is a plain str, `r''` raw; bytes and f-strings are refused. */
const STRING_PREFIXES: ReadonlyMap<string, 'plain' | 'raw' | 'bytes' | 'formatted'> = new Map([
  ['', 'plain'],
  ['u', 'plain'],
  ['r', 'raw'],
  ...(['b', 'br', 'rb'] as const).map((p) => [p, 'bytes'] as const),
  ...(['f', 'fr', 'rf', 't', 'tr', 'rt'] as const).map((p) => [p, 'formatted'] as const),
]);

const KEYWORDS: ReadonlyMap<string, boolean | null> = new Map<string, boolean | null>([
  ['None', null],
  ['True', true],
  ['False', false],
  // JSON spellings, accepted so that JSON documents parse as well.
  ['null', null],
  ['true', true],
  ['false', false],
]);

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

interface DictEntry {
  key: PyKey;
  value: PyValue;
  position: number;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  /** Skip whitespace and `#` comments; returns the new position. */
  skipSpace(): number {
    const { text } = this;
    while (this.pos < text.length) {
      const ch = text[this.pos];
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') {
        this.pos++;
      } else if (ch === '\\' && (text[this.pos + 1] === '\n' || text[this.pos + 1] === '\r')) {
        this.pos += 2; // explicit line continuation
      } else if (ch === '#') {
        while (this.pos < text.length && text[this.pos] !== '\n' && text[this.pos] !== '\r') this.pos++;
      } else {
        break;
      }
    }
    return this.pos;
  }

  /** A whole input may be a bare tuple (`1, 2`), as in `literal_eval`. */
  parseTopLevel(): PyValue {
    const first = this.parseValue();
    this.skipSpace();
    if (this.text[this.pos] !== ',') return first;
    const items = [first];
    while (this.text[this.pos] === ',') {
      this.pos++;
      this.skipSpace();
      if (this.pos >= this.text.length) break;
      items.push(this.parseValue());
      this.skipSpace();
    }
    return items;
  }

  expectEnd(): void {
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`expected end of input, found ${this.describe()}`);
  }

  parseValue(): PyValue {
    this.skipSpace();
    const { text } = this;
    const start = this.pos;
    const ch = text[start];
    if (ch === undefined) this.fail('unexpected end of input');
    if (ch === '{') return this.parseDict();
    if (ch === '[') return this.nested(() => this.parseItems(']'));
    if (ch === '(') return this.nested(() => this.parseParen());
    if (ch === "'" || ch === '"') return this.parseStrings();
    if (ch === '-' || ch === '+') return this.parseSigned();
    if (isDigit(ch) || (ch === '.' && isDigit(text[start + 1]))) return this.parseNumber(false);
    const name = this.matchName();
    if (name !== undefined) {
      if (isQuote(text[start + name.length])) return this.parseStrings();
      const keyword = KEYWORDS.get(name);
      if (keyword !== undefined) {
        this.pos += name.length;
        return keyword;
      }
      this.fail(`unexpected name '${name}'`);
    }
    this.fail(`unexpected ${this.describe()}`);
  }

  /** Entries of the dict at the current position, with each key's position (for callers' errors). */
  parseDictEntries(): DictEntry[] {
    const open = this.skipSpace();
    return this.nested(() => {
      const entries: DictEntry[] = [];
      for (;;) {
        const keyPos = this.skipSpace();
        if (this.text[keyPos] === '}') break;
        const key = this.parseValue();
        this.skipSpace();
        // `{1, 2}` is a set: literal_eval allows it, but CODO never sent one and JSON has no sets.
        const after = this.text[this.pos];
        if (entries.length === 0 && (after === ',' || after === '}')) this.fail('sets are not supported', open);
        if (!isHashable(key)) this.fail(`unhashable dict key (${Array.isArray(key) ? 'list' : 'dict'})`, keyPos);
        this.expect(':', "':'");
        entries.push({ key, value: this.parseValue(), position: keyPos });
        this.skipSpace();
        if (this.text[this.pos] === ',') {
          this.pos++;
          continue;
        }
        if (this.text[this.pos] === '}') break;
        this.fail(`expected ',' or '}', found ${this.describe()}`);
      }
      this.pos++; // '}'
      return entries;
    });
  }

  private parseDict(): PyDict {
    const dict: PyDict = new Map();
    for (const { key, value } of this.parseDictEntries()) dictSet(dict, key, value);
    return dict;
  }

  /** `()` empty tuple, `(x)` just x, `(x,)` and `(x, y)` tuples. */
  private parseParen(): PyValue {
    this.skipSpace();
    if (this.text[this.pos] === ')') {
      this.pos++;
      return [];
    }
    const first = this.parseValue();
    this.skipSpace();
    if (this.text[this.pos] === ')') {
      this.pos++;
      return first;
    }
    if (this.text[this.pos] !== ',') this.fail(`expected ',' or ')', found ${this.describe()}`);
    this.pos++;
    return [first, ...this.parseItems(')')];
  }

  /** Comma-separated values up to `close`, trailing comma allowed. */
  private parseItems(close: ']' | ')'): PyValue[] {
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) break;
      items.push(this.parseValue());
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] === close) break;
      this.fail(`expected ',' or '${close}', found ${this.describe()}`);
    }
    this.pos++;
    return items;
  }

  /** Consume the opening bracket and bound the nesting depth around `inner`. */
  private nested<T>(inner: () => T): T {
    const open = this.pos;
    this.pos++;
    this.depth++;
    if (this.depth > MAX_DEPTH) this.fail('nesting too deep', open);
    const value = inner();
    this.depth--;
    return value;
  }

  /** One or more adjacent string literals, concatenated as Python does (`'a' 'b'` → 'ab'). */
  private parseStrings(): string {
    let result = this.parseString();
    for (;;) {
      const save = this.pos;
      this.skipSpace();
      const name = this.matchName();
      const quoteAt = this.pos + (name?.length ?? 0);
      if (isQuote(this.text[quoteAt]) && (name === undefined || name.length <= 2)) {
        result += this.parseString();
      } else {
        this.pos = save;
        return result;
      }
    }
  }

  private parseString(): string {
    const { text } = this;
    const start = this.pos;
    const prefix = this.matchName() ?? '';
    const kind = STRING_PREFIXES.get(prefix.toLowerCase());
    if (kind === 'bytes') this.fail('bytes literals are not supported', start);
    if (kind === 'formatted') this.fail('f-strings are not supported', start);
    if (kind === undefined) this.fail(`unexpected name '${prefix}'`, start);
    const raw = kind === 'raw';
    this.pos += prefix.length;
    const quote = text[this.pos] as "'" | '"';
    const triple = text.startsWith(quote.repeat(3), this.pos);
    this.pos += triple ? 3 : 1;
    let out = '';
    for (;;) {
      const ch = text[this.pos];
      if (ch === undefined) this.fail('unterminated string literal', start);
      if (ch === quote && (!triple || text.startsWith(quote.repeat(3), this.pos))) {
        this.pos += triple ? 3 : 1;
        return out;
      }
      if (!triple && (ch === '\n' || ch === '\r')) this.fail('unterminated string literal', start);
      if (ch === '\\') {
        out += raw ? this.rawEscape(start) : this.escape(start);
        continue;
      }
      // Copy whole code points so that astral characters stay intact.
      const cp = text.codePointAt(this.pos) as number;
      const piece = String.fromCodePoint(cp);
      // A lone surrogate has codePointAt = the unit itself; fromCodePoint reproduces it.
      out += piece;
      this.pos += piece.length;
    }
  }

  /** In raw strings a backslash escapes nothing, but still keeps the next character in the string. */
  private rawEscape(stringStart: number): string {
    const next = this.text[this.pos + 1];
    if (next === undefined) this.fail('unterminated string literal', stringStart);
    this.pos += 2;
    return '\\' + next;
  }

  private escape(stringStart: number): string {
    const { text } = this;
    const at = this.pos;
    const next = text[at + 1];
    if (next === undefined) this.fail('unterminated string literal', stringStart);
    if (next === '\n') {
      this.pos += 2;
      return '';
    }
    if (next === '\r') {
      this.pos += text[at + 2] === '\n' ? 3 : 2;
      return '';
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    OCTAL_ESCAPE_RE.lastIndex = at + 1;
    const octal = OCTAL_ESCAPE_RE.exec(text)?.[0];
    if (octal !== undefined) {
      this.pos = at + 1 + octal.length;
      return String.fromCharCode(parseInt(octal, 8));
    }
    const hexLength = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const digits = text.slice(at + 2, at + 2 + hexLength);
      if (digits.length !== hexLength || !HEX_DIGITS_RE.test(digits)) {
        this.fail(`truncated \\${next} escape (expected ${hexLength} hex digits)`, at);
      }
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff) this.fail(`\\U escape beyond U+10FFFF`, at);
      this.pos = at + 2 + hexLength;
      return cp <= 0xffff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    if (next === 'N') this.fail('\\N{name} escapes are not supported', at);
    // Unknown escapes keep the backslash, as in Python.
    this.pos += 1;
    return '\\';
  }

  /** literal_eval allows one sign directly on a number: `-1`, `+2.5`, `- 3`. */
  private parseSigned(): number {
    const signPos = this.pos;
    const negative = this.text[signPos] === '-';
    this.pos++;
    this.skipSpace();
    const ch = this.text[this.pos];
    if (!(isDigit(ch) || (ch === '.' && isDigit(this.text[this.pos + 1])))) {
      this.fail(`expected a number after '${negative ? '-' : '+'}', found ${this.describe()}`);
    }
    return this.parseNumber(negative);
  }

  private parseNumber(negative: boolean): number {
    const { text } = this;
    const start = this.pos;
    PREFIXED_INT_RE.lastIndex = start;
    const prefixed = PREFIXED_INT_RE.exec(text);
    let value: number;
    if (prefixed) {
      this.pos = start + prefixed[0].length;
      value = this.toSafeInt(prefixed[0], negative, start);
    } else {
      DECIMAL_RE.lastIndex = start;
      const m = DECIMAL_RE.exec(text) as RegExpExecArray; // caller saw a digit or '.digit'
      const [literal, intPart, fraction, leadingFraction, exponent] = m;
      this.pos = start + literal.length;
      if (fraction === undefined && leadingFraction === undefined && exponent === undefined) {
        if (intPart !== undefined && intPart.length > 1 && intPart.startsWith('0') && !ZEROS_RE.test(intPart)) {
          this.fail('leading zeros in decimal integer literals are not permitted', start);
        }
        value = this.toSafeInt(literal, negative, start);
      } else {
        const magnitude = Number(literal.replaceAll('_', ''));
        if (!Number.isFinite(magnitude)) this.fail('float literal out of range', start);
        value = negative ? -magnitude : magnitude;
      }
    }
    const after = text[this.pos];
    if (after === 'j' || after === 'J') this.fail('complex numbers are not supported', start);
    if (after !== undefined && IDENT_CHAR_RE.test(after)) this.fail('invalid number literal', start);
    return value;
  }

  /** Ints beyond ±(2^53−1) would silently lose digits as JS numbers, so they are refused. */
  private toSafeInt(literal: string, negative: boolean, start: number): number {
    const magnitude = BigInt(literal.replaceAll('_', ''));
    if (magnitude > MAX_SAFE) this.fail('integer out of range (beyond ±9007199254740991)', start);
    // Python has no negative zero int: `-0` is 0.
    return negative && magnitude !== 0n ? -Number(magnitude) : Number(magnitude);
  }

  private matchName(): string | undefined {
    NAME_RE.lastIndex = this.pos;
    return NAME_RE.exec(this.text)?.[0];
  }

  private expect(ch: string, label: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected ${label}, found ${this.describe()}`);
    this.pos++;
  }

  private describe(): string {
    return describeAt(this.text, this.pos);
  }

  private fail(reason: string, position: number = this.pos): never {
    throw new PythonLiteralError(reason, position);
  }
}

function describeAt(text: string, pos: number): string {
  if (pos >= text.length) return 'end of input';
  NAME_RE.lastIndex = pos;
  const name = NAME_RE.exec(text)?.[0];
  if (name !== undefined) return `name '${name}'`;
  return formatString(String.fromCodePoint(text.codePointAt(pos) as number));
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isQuote(ch: string | undefined): boolean {
  return ch === "'" || ch === '"';
}

function isHashable(value: PyValue): value is PyKey {
  return !Array.isArray(value) && !(value instanceof Map);
}

/** Insert with Python's key equality, where True == 1 and False == 0: the first key stays, the last value wins. */
function dictSet(dict: PyDict, key: PyKey, value: PyValue): void {
  let existing: PyKey = key;
  if (!dict.has(key)) {
    if (key === true && dict.has(1)) existing = 1;
    else if (key === false && dict.has(0)) existing = 0;
    else if (key === 1 && dict.has(true)) existing = true;
    else if (key === 0 && dict.has(false)) existing = false;
  }
  dict.set(existing, value);
}

// ---------------------------------------------------------------------------------------------
// Formatter: Python's repr.

/** Characters Python's `str.isprintable()` rejects (space excepted) are written as escapes. */
const NON_PRINTABLE_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function format(value: PyInput, depth: number): string {
  if (depth > MAX_DEPTH) throw new TypeError('value nested too deeply (or cyclic) to format');
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return formatString(value);
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map((v: PyInput) => format(v, depth + 1)).join(', ')}]`;
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value as ReadonlyMap<PyKey, PyInput>) parts.push(`${format(k, depth + 1)}: ${format(v, depth + 1)}`);
    return `{${parts.join(', ')}}`;
  }
  if (typeof value === 'object') {
    const record = value as { readonly [key: string]: PyInput };
    const parts = Object.entries(record).map(([k, v]) => `${formatString(k)}: ${format(v, depth + 1)}`);
    return `{${parts.join(', ')}}`;
  }
  throw new TypeError(`cannot format ${typeof value} as a Python literal`);
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`cannot format ${n} as a Python literal`);
  if (Object.is(n, -0)) return '-0.0';
  if (Number.isSafeInteger(n)) return String(n);
  // Integral floats past 2^53 must stay floats (`1e+16`), or parsing them back would fail as huge ints.
  if (Number.isInteger(n)) return n.toExponential();
  return String(n);
}

function formatString(s: string): string {
  // Python prefers single quotes and switches to double quotes only to avoid escaping a '.
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE_RE.test(ch)) out += hexEscape(ch.codePointAt(0) as number);
    else out += ch;
  }
  return out + quote;
}

function hexEscape(cp: number): string {
  if (cp <= 0xff) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}
