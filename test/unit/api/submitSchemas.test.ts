// The submission schemas promise nothing the parsers refuse: every value a schema accepts (drawn
// from its regexes) is read by the field's parser without an error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codoFields, v1Fields } from '../../../src/api/submitSchemas';
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
});
