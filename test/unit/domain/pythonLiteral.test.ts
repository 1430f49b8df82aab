import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatPythonLiteral,
  parsePythonDict,
  parsePythonLiteral,
  PythonLiteralError,
  type PyDict,
  type PyInput,
  type PyKey,
  type PyValue,
} from '../../../src/domain/pythonLiteral';

const dict = (...entries: [PyKey, PyValue][]): PyDict => new Map(entries);

function errorOf(text: string): PythonLiteralError {
  try {
    parsePythonLiteral(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PythonLiteralError);
    return error as PythonLiteralError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parsePythonLiteral: what CODO clients send', () => {
  it('reads the host groups and args of the CODO example', () => {
    expect(parsePythonLiteral("{1: '172.16.0.101'}")).toEqual(dict([1, '172.16.0.101']));
    expect(
      parsePythonLiteral(
        "{'HOSTNAME': 'FT-VA-01-web01,FT-VA-01-web02', 'INSTANCE_TYPE': 'c5.2xlarge', 'RDS_TYPE': 'None', 'END_TIME': ''}",
      ),
    ).toEqual(
      dict(
        ['HOSTNAME', 'FT-VA-01-web01,FT-VA-01-web02'],
        ['INSTANCE_TYPE', 'c5.2xlarge'],
        ['RDS_TYPE', 'None'],
        ['END_TIME', ''],
      ),
    );
  });

  it('keeps int keys as numbers and str keys as strings', () => {
    const value = parsePythonLiteral("{1: 'a', '1': 'b'}") as PyDict;
    expect(value.get(1)).toBe('a');
    expect(value.get('1')).toBe('b');
  });

  it('reads associated_user style nesting', () => {
    expect(parsePythonLiteral("{'admin': ['alice', 'bob'], 'ops': []}")).toEqual(
      dict(['admin', ['alice', 'bob']], ['ops', []]),
    );
  });

  it('keeps non-ASCII text as written', () => {
    expect(parsePythonLiteral("{'任务': '这是任务名字 😀'}")).toEqual(dict(['任务', '这是任务名字 😀']));
  });
});

describe('parsePythonLiteral: strings', () => {
  it.each([
    ["'abc'", 'abc'],
    ['"abc"', 'abc'],
    ["''", ''],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ["'a\\nb\\tc\\rd'", 'a\nb\tc\rd'],
    ["'back\\\\slash'", 'back\\slash'],
    ["'\\'q\\''", "'q'"],
    ['"\\"q\\""', '"q"'],
    ["'\\x41\\x7e'", 'A~'],
    ["'\\u4e2d\\u6587'", '中文'],
    ["'\\U0001F600'", '😀'],
    ["'\\0'", '\0'],
    ["'\\101\\1012'", 'AA2'],
    ["'\\a\\b\\f\\v'", '\x07\b\f\v'],
    ["'\\d\\w'", '\\d\\w'], // unknown escapes keep the backslash
    ["'a\\\nb'", 'ab'], // backslash-newline continues the line
    ["'a' 'b' \"c\"", 'abc'],
    ["('a'\n 'b')", 'ab'],
    ["u'x'", 'x'],
    ["U'x'", 'x'],
    ["r'\\n\\x'", '\\n\\x'],
    ["R'a\\'b'", "a\\'b"],
    ["'''multi\nline'''", 'multi\nline'],
    ['"""it\'s "quoted" """', 'it\'s "quoted" '],
    ["'''a''' 'b'", 'ab'],
  ])('%s', (text, expected) => {
    expect(parsePythonLiteral(text)).toBe(expected);
  });

  it('decodes \\u escapes of surrogates into UTF-16 code units', () => {
    expect(parsePythonLiteral("'\\ud83d\\ude00'")).toBe('😀');
    expect(parsePythonLiteral("'\\ud800'")).toBe('\ud800');
  });

  it.each([
    ["'abc", 'unterminated string literal', 0],
    ["'ab\ncd'", 'unterminated string literal', 0],
    ["[1, 'ab", 'unterminated string literal', 4],
    ["'\\x4'", 'truncated \\x escape (expected 2 hex digits)', 1],
    ["'\\u12'", 'truncated \\u escape (expected 4 hex digits)', 1],
    ["'\\U00110000'", '\\U escape beyond U+10FFFF', 1],
    ["'\\N{EM DASH}'", '\\N{name} escapes are not supported', 1],
    ["b'x'", 'bytes literals are not supported', 0],
    ["rb'x'", 'bytes literals are not supported', 0],
    ["f'{x}'", 'f-strings are not supported', 0],
    ["r'\\'", 'unterminated string literal', 0],
    ["x'a'", "unexpected name 'x'", 0],
  ])('rejects %s', (text, reason, position) => {
    const error = errorOf(text);
    expect(error.reason).toBe(reason);
    expect(error.position).toBe(position);
    expect(error.message).toBe(`${reason} at position ${position}`);
  });
});

describe('parsePythonLiteral: numbers and constants', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['-7', -7],
    ['+7', 7],
    ['- 7', -7],
    ['1_000_000', 1000000],
    ['00', 0],
    ['0x1F', 31],
    ['0o17', 15],
    ['0b101', 5],
    ['1.5', 1.5],
    ['-2.25', -2.25],
    ['1.', 1],
    ['.5', 0.5],
    ['1e3', 1000],
    ['1.5E-3', 0.0015],
    ['007.5', 7.5],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['-9007199254740991', -Number.MAX_SAFE_INTEGER],
    ['None', null],
    ['True', true],
    ['False', false],
    ['null', null],
    ['true', true],
    ['false', false],
  ])('%s', (text, expected) => {
    expect(parsePythonLiteral(text)).toBe(expected);
  });

  it('keeps the sign of a negative zero float but not of an int', () => {
    expect(Object.is(parsePythonLiteral('-0.0'), -0)).toBe(true);
    expect(Object.is(parsePythonLiteral('-0'), 0)).toBe(true);
  });

  it.each([
    ['9007199254740992', 'integer out of range (beyond ±9007199254740991)', 0],
    ['[-99999999999999999999]', 'integer out of range (beyond ±9007199254740991)', 2],
    ['1e400', 'float literal out of range', 0],
    ['007', 'leading zeros in decimal integer literals are not permitted', 0],
    ['1j', 'complex numbers are not supported', 0],
    ['1+2j', "expected end of input, found '+'", 1],
    ['1_', 'invalid number literal', 0],
    ['0x', 'invalid number literal', 0],
    ['1e', 'invalid number literal', 0],
    ['--1', "expected a number after '-', found '-'", 1],
    ['-True', "expected a number after '-', found name 'True'", 1],
    ['-', "expected a number after '-', found end of input", 1],
    ['nan', "unexpected name 'nan'", 0],
    ['Infinity', "unexpected name 'Infinity'", 0],
    ['Nonex', "unexpected name 'Nonex'", 0],
  ])('rejects %s', (text, reason, position) => {
    const error = errorOf(text);
    expect(error.reason).toBe(reason);
    expect(error.position).toBe(position);
  });
});

describe('parsePythonLiteral: containers', () => {
  it.each<[string, PyValue]>([
    ['[]', []],
    ['[1, 2, 3]', [1, 2, 3]],
    ['[1, 2, 3,]', [1, 2, 3]],
    ['()', []],
    ['(1,)', [1]],
    ['(1, 2)', [1, 2]],
    ['(1, 2,)', [1, 2]],
    ['(1)', 1],
    ['((1))', 1],
    ['1, 2', [1, 2]],
    ['1,', [1]],
    ['{}', new Map()],
    ['{ }', new Map()],
    ["{'a': 1,}", dict(['a', 1])],
    ["{'a': (1, 'x'), 'b': {'c': [None]}}", dict(['a', [1, 'x']], ['b', dict(['c', [null]])])],
    ["{None: 1, 2.5: 'f', True: 't'}", dict([null, 1], [2.5, 'f'], [true, 't'])],
    [' \t\n{ 1 :\n  "a" , }\n ', dict([1, 'a'])],
    ["{'a': 1, # comment\n 'b': 2}", dict(['a', 1], ['b', 2])],
  ])('%s', (text, expected) => {
    expect(parsePythonLiteral(text)).toEqual(expected);
  });

  it('keeps the first key and the last value for repeated keys, as Python does', () => {
    expect(parsePythonLiteral("{'a': 1, 'b': 2, 'a': 3}")).toEqual(dict(['a', 3], ['b', 2]));
    expect([...(parsePythonLiteral('{1: 1, True: 2}') as PyDict)]).toEqual([[1, 2]]);
    expect([...(parsePythonLiteral('{False: 1, 0: 2}') as PyDict)]).toEqual([[false, 2]]);
  });

  it('reads JSON documents', () => {
    const json = { a: [1, 2.5, 'x', true, false, null], 'b c': { d: '中文\n' } };
    const parsed = parsePythonLiteral(JSON.stringify(json));
    expect(parsed).toEqual(dict(['a', [1, 2.5, 'x', true, false, null]], ['b c', dict(['d', '中文\n'])]));
  });

  it.each([
    ['', 'unexpected end of input', 0],
    ['   ', 'unexpected end of input', 3],
    ['[1, 2', "expected ',' or ']', found end of input", 5],
    ['[1 2]', "expected ',' or ']', found '2'", 3],
    ['[,]', "unexpected ','", 1],
    ['(1 2)', "expected ',' or ')', found '2'", 3],
    ['(1, 2', "expected ',' or ')', found end of input", 5],
    ["{'a' 1}", "expected ':', found '1'", 5],
    ["{'a': 1 'b': 2}", `expected ',' or '}', found "'"`, 8],
    ["{'a': 1", "expected ',' or '}', found end of input", 7],
    ['{1, 2}', 'sets are not supported', 0],
    ['{1}', 'sets are not supported', 0],
    ['{[1]: 2}', 'unhashable dict key (list)', 1],
    ['{1: 2, {}: 3}', 'unhashable dict key (dict)', 7],
    ['{**a}', "unexpected '*'", 1],
    ['[1] [2]', "expected end of input, found '['", 4],
    ['[1]]', "expected end of input, found ']'", 3],
    ['1 2', "expected end of input, found '2'", 2],
  ])('rejects %s', (text, reason, position) => {
    const error = errorOf(text);
    expect(error.reason).toBe(reason);
    expect(error.position).toBe(position);
  });

  it('bounds nesting depth instead of overflowing the stack', () => {
    expect(parsePythonLiteral('['.repeat(100) + ']'.repeat(100))).toBeDefined();
    const error = errorOf('['.repeat(10_000) + ']'.repeat(10_000));
    expect(error.reason).toBe('nesting too deep');
    expect(error.position).toBe(100);
    expect(errorOf('{1: '.repeat(200) + '}'.repeat(200)).reason).toBe('nesting too deep');
  });
});

describe('parsePythonLiteral: never evaluates code', () => {
  it.each([
    ["__import__('os').system('id')", "unexpected name '__import__'", 0],
    ["os.system('touch /tmp/pwned')", "unexpected name 'os'", 0],
    ['[1, os]', "unexpected name 'os'", 4],
    ["{'a': open('/etc/passwd')}", "unexpected name 'open'", 6],
    ['dict(a=1)', "unexpected name 'dict'", 0],
    ['set()', "unexpected name 'set'", 0],
    ['lambda: 1', "unexpected name 'lambda'", 0],
    ['1 + 1', "expected end of input, found '+'", 2],
    ["'a' + 'b'", "expected end of input, found '+'", 4],
    ['[x for x in y]', "unexpected name 'x'", 1],
    ["{'名字': 值}", "unexpected name '值'", 7],
  ])('rejects %s', (text, reason, position) => {
    const error = errorOf(text);
    expect(error.reason).toBe(reason);
    expect(error.position).toBe(position);
  });
});

describe('parsePythonDict', () => {
  it('turns str and int keys into string keys', () => {
    expect(parsePythonDict("{1: '192.0.2.1', 'A': [1, None]}")).toEqual({ '1': '192.0.2.1', A: [1, null] });
    expect(parsePythonDict('{"x": {"y": true}}')).toEqual({ x: new Map([['y', true]]) });
    expect(parsePythonDict('  {}  ')).toEqual({});
  });

  it('keeps last values for repeated identical keys', () => {
    expect(parsePythonDict("{'a': 1, 'a': 2}")).toEqual({ a: 2 });
  });

  it('treats __proto__ as an ordinary key', () => {
    const parsed = parsePythonDict("{'__proto__': 'x', 'constructor': 'y'}");
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor']);
    expect(parsed['__proto__']).toBe('x');
    expect(Object.getPrototypeOf(parsed)).toBeNull();
  });

  it.each([
    ['[1]', "expected a dict, found '['", 0],
    ["  'a'", `expected a dict, found "'"`, 2],
    ['', 'expected a dict, found end of input', 0],
    ['None', "expected a dict, found name 'None'", 0],
    ['{}, 1', "expected end of input, found ','", 2],
    ["{1: 'a', '1': 'b'}", "duplicate key '1'", 9],
    ['{1.5: 2}', 'dict keys must be str or int, found 1.5', 1],
    ['{None: 2}', 'dict keys must be str or int, found None', 1],
    ['{True: 2}', 'dict keys must be str or int, found True', 1],
    ['{"a": os}', "unexpected name 'os'", 6],
  ])('rejects %s', (text, reason, position) => {
    let caught: unknown;
    try {
      parsePythonDict(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PythonLiteralError);
    expect((caught as PythonLiteralError).reason).toBe(reason);
    expect((caught as PythonLiteralError).position).toBe(position);
  });
});

describe('formatPythonLiteral', () => {
  it('renders CODO replies', () => {
    expect(formatPythonLiteral(new Map([[1, '127.0.0.1']]))).toBe("{1: '127.0.0.1'}");
    expect(formatPythonLiteral(new Map([[1, '192.0.2.1,192.0.2.2'], [2, '192.0.2.3']]))).toBe(
      "{1: '192.0.2.1,192.0.2.2', 2: '192.0.2.3'}",
    );
    expect(formatPythonLiteral({ HOSTNAME: 'a,b', RDS_TYPE: 'None', END_TIME: '' })).toBe(
      "{'HOSTNAME': 'a,b', 'RDS_TYPE': 'None', 'END_TIME': ''}",
    );
    expect(formatPythonLiteral({ admin: ['alice'] })).toBe("{'admin': ['alice']}");
  });

  it.each<[PyValue, string]>([
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [0, '0'],
    [-12, '-12'],
    [1.5, '1.5'],
    [-0, '-0.0'],
    [1e16, '1e+16'],
    [1e-7, '1e-7'],
    ['', "''"],
    ["it's", '"it\'s"'],
    ['say "hi"', "'say \"hi\"'"],
    ['both \' and "', "'both \\' and \"'"],
    ['a\\b', "'a\\\\b'"],
    ['\n\r\t', "'\\n\\r\\t'"],
    ['\0\x07\x1b\x7f', "'\\x00\\x07\\x1b\\x7f'"],
    ['\x85\xa0', "'\\x85\\xa0'"],
    ['\u200b\u2028\ufeff', "'\\u200b\\u2028\\ufeff'"],
    ['\ud800', "'\\ud800'"],
    ['中文 😀 é', "'中文 😀 é'"],
    [[], '[]'],
    [[1, 'a', [null]], "[1, 'a', [None]]"],
    [new Map(), '{}'],
    [new Map<PyKey, PyValue>([[null, 1], [true, 2], ['k', new Map([[2.5, []]])]]), "{None: 1, True: 2, 'k': {2.5: []}}"],
  ])('%j', (value, expected) => {
    expect(formatPythonLiteral(value)).toBe(expected);
  });

  it('refuses what Python literals cannot express', () => {
    expect(() => formatPythonLiteral(Number.NaN)).toThrow(TypeError);
    expect(() => formatPythonLiteral(Infinity)).toThrow(TypeError);
    expect(() => formatPythonLiteral({ a: undefined } as unknown as PyInput)).toThrow(TypeError);
    const cyclic: PyValue[] = [];
    cyclic.push(cyclic);
    expect(() => formatPythonLiteral(cyclic)).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const tricky = fc.constantFrom("'", '"', '\\', '\n', '\r', '\t', '\0', '#', ' ', '{', '}', 'é', '中', '😀', '\u2028', '\ud800');
const pyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: anyCodeUnit }),
  fc.string({ unit: fc.oneof(tricky, fc.string({ minLength: 1, maxLength: 1 })) }),
);
const pyNumber = fc.oneof(
  fc.maxSafeInteger(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const pyKey: fc.Arbitrary<PyKey> = fc.oneof(pyString, fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null));

const { value: pyValue } = fc.letrec<{ value: PyValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    pyString,
    pyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(pyKey, tie('value')), { maxLength: 5 }).map((entries) => new Map(entries)),
  ),
}));

/** True when a JSON value holds an integral number outside the safe integer range anywhere inside it. */
function holdsUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(holdsUnsafeInteger);
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsUnsafeInteger);
  return false;
}

describe('properties', () => {
  it('parse(format(v)) equals v', () => {
    fc.assert(
      fc.property(pyValue, (value) => {
        expect(parsePythonLiteral(formatPythonLiteral(value))).toEqual(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('parse(JSON.stringify(v)) reads JSON values', () => {
    // JSON writes integral numbers beyond ±(2^53 - 1) without an exponent; those are refused as ints by design.
    const json = fc
      .jsonValue()
      .filter((v) => !holdsUnsafeInteger(v))
      .map((v) => JSON.stringify(v));
    fc.assert(
      fc.property(json, (text) => {
        const parsed = parsePythonLiteral(text);
        expect(formatPythonLiteral(parsed)).toBe(formatPythonLiteral(JSON.parse(text) as PyInput));
      }),
      { numRuns: 1000 },
    );
  });

  const soup = fc
    .array(
      fc.constantFrom(
        '{', '}', '[', ']', '(', ')', ',', ':', "'", '"', '\\', '1', '-', '+', '.', 'e', 'j', '_', 'x', '0', '7',
        'None', 'True', 'r', 'u', 'b', ' ', '\n', '#', "'a'", '"b"', "'\\x4'", "'\\u00e9'", "'''", '0x1f', '1e999',
        '9'.repeat(20), 'os', '中', '😀',
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));

  it('throws nothing but PythonLiteralError, with a position inside the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: anyCodeUnit }), soup), (text) => {
        try {
          parsePythonLiteral(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PythonLiteralError);
          const { position } = error as PythonLiteralError;
          expect(position).toBeGreaterThanOrEqual(0);
          expect(position).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('parsePythonDict throws nothing but PythonLiteralError', () => {
    fc.assert(
      fc.property(fc.oneof(soup.map((s) => `{${s}`), fc.string()), (text) => {
        try {
          parsePythonDict(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PythonLiteralError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
