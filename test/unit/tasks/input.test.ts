// Submitted fields → task input: Python literals or JSON, each problem naming its field.
import { describe, expect, it } from 'vitest';
import { InputError, parseArgs, parseAssociatedUser, parseHosts, parseTime } from '../../../src/tasks/input';

describe('submit input', () => {
  it("reads CODO's args literal, keeping order and Python's str() of scalars", () => {
    const args = parseArgs("{'HOSTNAME': 'a,b', 'N': 3, 'RDS_TYPE': None, 'ON': True, 'END_TIME': ''}");
    expect(Object.entries(args)).toEqual([
      ['HOSTNAME', 'a,b'],
      ['N', '3'],
      ['RDS_TYPE', 'None'],
      ['ON', 'True'],
      ['END_TIME', ''],
    ]);
    expect(parseArgs({ A: 'x' })).toEqual({ A: 'x' });
    expect(parseArgs(undefined)).toEqual({});
    expect(parseArgs('')).toEqual({});
  });

  it('names the field in every error', () => {
    const field = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof InputError) return e.field;
        throw e;
      }
      return 'no error';
    };
    expect(field(() => parseArgs("{'A': }"))).toBe('args');
    expect(field(() => parseArgs("{'A': [1]}"))).toBe('args.A');
    expect(field(() => parseArgs('[1]'))).toBe('args');
    expect(field(() => parseHosts("{0: 'x'}"))).toBe('hosts');
    expect(field(() => parseAssociatedUser("{'admin': 5}"))).toBe('associated_user.admin');
    expect(field(() => parseTime('tomorrow', 'exec_time', 'Asia/Shanghai'))).toBe('exec_time');
  });

  it('never repeats argument text in an args error: values may be secrets (and refusals are audited)', () => {
    const message = (text: string): string => {
      try {
        parseArgs(text);
      } catch (e) {
        if (e instanceof InputError) return e.message;
        throw e;
      }
      return 'no error';
    };
    const cases: [string, RegExp][] = [
      ["{'PASSWORD': hunter2}", /^args: not a valid Python or JSON dict literal: unexpected unquoted word \(quote string values\) at position 13$/],
      ["{'PASSWORD': 'ok', 'X': hunter2}", /unquoted word .* at position 24$/],
      ["{'PASSWORD': -hunter2}", /expected a number after '-', found an unquoted word/],
      ["{'PASSWORD': 'ok' hunter2}", /expected ',' or '}', found an unquoted word/],
      ["{'PASSWORD': 'ok' ?hunter2}", /expected ',' or '}', found a character that does not belong there/],
      ["{'PASSWORD': ?hunter2}", /unexpected a character that does not belong there at position 13/],
      ["{('hunter2', 1): 'x'}", /unhashable dict key \(list\) at position 1$/],
      ["{1.5: 'hunter2'}", /dict keys must be str or int at position 1$/],
      ["hunter2", /expected a dict, found an unquoted word/],
      ["{'PASSWORD': 'hunter2'", /expected ',' or '}', found end of input at position 22$/],
    ];
    for (const [text, expected] of cases) {
      const msg = message(text);
      expect(msg, text).toMatch(expected);
      expect(msg, text).not.toContain('hunter2');
      expect(msg, text).not.toContain('?');
    }
    expect(message("{'A': 'x'}")).toBe('no error');
    // Other fields keep the parser's full reason.
    expect(() => parseAssociatedUser('{admin: 1}')).toThrow(/unexpected name 'admin'/);
  });

  it('reads hosts, associated users and times', () => {
    expect([...parseHosts("{1: '192.0.2.1,192.0.2.2', '2': ['192.0.2.3']}")]).toEqual([
      [1, ['192.0.2.1', '192.0.2.2']],
      [2, ['192.0.2.3']],
    ]);
    expect(parseAssociatedUser("{'admin': 'alice, bob'}")).toEqual({ admin: ['alice', 'bob'] });
    expect(parseTime('2019-03-22 16:09:50', 'exec_time', 'Asia/Shanghai')?.toISOString()).toBe('2019-03-22T08:09:50.000Z');
    expect(parseTime(null, 'exec_time', 'Asia/Shanghai')).toBeNull();
  });
});
