// The submission schemas promise nothing the parsers refuse: every value a schema accepts (drawn
// from its regexes) is read by the field's parser without an error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codoFields, v1Fields } from '../../../src/api/submitSchemas';
import { nameOrChinese } from '../../../src/api/codo/layoutCommon';
import { EXEC_TIME_RE, NOT_BLANK_RE, str } from '../../../src/api/wire';
import { parseArgs, parseAssociatedUser, parseHosts } from '../../../src/tasks/input';

function patternOf(schema: z.ZodType): RegExp[] {
  const json = JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
  return [...json.matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map((m) => new RegExp(JSON.parse(m[1] as string) as string, 'u'));
}

const cases: [string, z.ZodType, (v: unknown) => unknown][] = [
  ['codo args', codoFields.args, (v) => parseArgs(v)],
  ['codo hosts', codoFields.hosts, (v) => parseHosts(v)],
  ['codo associated_user', codoFields.associated_user, (v) => parseAssociatedUser(v)],
  ['v1 args', v1Fields.args, (v) => parseArgs(v)],
  ['v1 hosts', v1Fields.hosts, (v) => parseHosts(v)],
  ['v1 associated_user', v1Fields.associated_user, (v) => parseAssociatedUser(v)],
];

describe('submission field schemas', () => {
  it.each(cases)('%s: accepted literals and objects parse', (_name, schema, parse) => {
    for (const re of patternOf(schema)) {
      if (!re.source.includes('\\{')) continue; // only the whole-literal patterns
      fc.assert(
        fc.property(fc.stringMatching(re, { size: 'small' }), (text) => {
          const r = schema.safeParse(text);
          if (!r.success) return true; // a length limit refused it
          parse(r.data);
          return true;
        }),
        { numRuns: 300 },
      );
    }
  });

  it('reads the literals CODO clients send', () => {
    expect(codoFields.hosts.safeParse("{1: '10.0.0.1,10.0.0.2', 2: ['10.0.0.3']}").success).toBe(true);
    expect(codoFields.hosts.safeParse("{1: 'a', '1': 'b'}").success).toBe(false);
    expect(codoFields.args.safeParse("{'HOSTNAME': 'web01', 'N': 3, 'X': None, 'Y': True, 'Z': -1.5}").success).toBe(true);
    expect(codoFields.args.safeParse('{"A": "it\\\'s"}').success).toBe(true);
    expect(codoFields.args.safeParse("{'A': [1]}").success).toBe(false);
    expect(codoFields.associated_user.safeParse("{'admin': ['alice', '张三'], 'ops': 'bob, carol'}").success).toBe(true);
    expect(codoFields.args.safeParse('').success).toBe(true);
    expect(codoFields.args.safeParse("{'A': '\\x00'}").success).toBe(false);
  });

  // Each pattern matches a text in one way at most, so a backtracking engine (V8 here, Python's re
  // in schemathesis) refuses in linear time. `WS*(?:item)?WS*` per comma was exponential: 16 blank
  // items and a bad end took 15 s, each more about three times as long — one request froze the API.
  it('refuses long near-misses at once (no catastrophic backtracking)', () => {
    const blanks = ' , '.repeat(20_000);
    const refusals: [string, () => boolean][] = [
      ['v1 hosts string', () => v1Fields.hosts.safeParse({ '1': `${blanks}1.2.3.4:` }).success],
      ['v1 hosts list', () => v1Fields.hosts.safeParse({ '1': [`${' , '.repeat(99)}1.2.3.4:`] }).success],
      ['v1 associated_user', () => v1Fields.associated_user.safeParse({ admin: `${blanks}!` }).success],
      ['codo associated_user', () => codoFields.associated_user.safeParse(`{'admin': '${' , '.repeat(3000)}!'}`).success],
      ['codo hosts blanks', () => codoFields.hosts.safeParse(`${' '.repeat(1_000_000)}x`).success],
      ['codo args blanks', () => codoFields.args.safeParse(`${' '.repeat(1_000_000)}x`).success],
      ['not blank', () => NOT_BLANK_RE.test(`${' '.repeat(1_000_000)}\u0000`)],
      ['exec_time blanks', () => EXEC_TIME_RE.test(`${' '.repeat(1_000_000)}x`)],
    ];
    for (const [name, refuse] of refusals) {
      const t0 = performance.now();
      expect(refuse(), name).toBe(false);
      expect(performance.now() - t0, name).toBeLessThan(1000);
    }
    // Length is checked before any pattern: no pattern scans more than its field's maximum.
    const userName = nameOrChinese(64, '[A-Za-z_][A-Za-z0-9._-]{0,31}', 'a user name');
    for (const [name, refuse] of [
      ['CODO user name blanks', () => userName.safeParse(`${' '.repeat(1_000_000)}!`).success],
      ['too long for a pattern', () => str(64).regex(/^(a+)+$/).safeParse(`${'a'.repeat(100)}!`).success],
    ] as [string, () => boolean][]) {
      const t0 = performance.now();
      expect(refuse(), name).toBe(false);
      expect(performance.now() - t0, name).toBeLessThan(1000);
    }
    expect(userName.safeParse(' alice ').success).toBe(true);
    expect(userName.safeParse('  ').success).toBe(true);
    // What they accept is unchanged: blanks around and between items, empty items.
    expect(v1Fields.hosts.safeParse({ '1': ' 10.0.0.1 , , web01.example.com,::1 ,' }).success).toBe(true);
    expect(v1Fields.hosts.safeParse({ '1': ['  ', ' 10.0.0.1 '] }).success).toBe(true);
    expect(v1Fields.associated_user.safeParse({ admin: ' alice , ,bob ', ops: [' ', ' carol '] }).success).toBe(true);
    expect(codoFields.hosts.safeParse("  {1: '10.0.0.1 , ,10.0.0.2 '}  ").success).toBe(true);
    expect(codoFields.args.safeParse('   ').success).toBe(true);
    expect(EXEC_TIME_RE.test(' 2026-01-02 03:04:05 ')).toBe(true);
    expect(NOT_BLANK_RE.test('  x  ')).toBe(true);
  });
});
