import { describe, expect, it } from 'vitest';
import {
  checkHostGroups,
  isValidHost,
  isValidHostname,
  isValidIPv4,
  isValidIPv6,
  parseHostGroups,
  parseHostList,
  type HostGroupsResult,
} from '../../../src/domain/hosts';

describe('parseHostList', () => {
  it('splits comma-separated values, trims and drops empties', () => {
    expect(parseHostList('172.16.0.101')).toEqual(['172.16.0.101']);
    expect(parseHostList(' 192.0.2.1 , 192.0.2.2,,192.0.2.3, ')).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(parseHostList('')).toEqual([]);
    expect(parseHostList(' , ')).toEqual([]);
  });

  it('flattens arrays whose items may be comma lists', () => {
    expect(parseHostList(['a', 'b,c', ' ', 'd '])).toEqual(['a', 'b', 'c', 'd']);
    expect(parseHostList([])).toEqual([]);
  });

  it('drops duplicates, keeping the first occurrence', () => {
    expect(parseHostList('b,a,b, a')).toEqual(['b', 'a']);
  });
});

describe('isValidIPv4', () => {
  it.each(['0.0.0.0', '127.0.0.1', '172.16.0.101', '255.255.255.255', '192.0.2.0'])('accepts %s', (h) => {
    expect(isValidIPv4(h)).toBe(true);
  });
  it.each(['999.1.1.1', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.-4', '1.2.3.4 ', '0x7f.0.0.1', '１.2.3.4', ''])(
    'rejects %j',
    (h) => {
      expect(isValidIPv4(h)).toBe(false);
    },
  );
});

describe('isValidIPv6', () => {
  it.each([
    '::',
    '::1',
    '1::',
    'fe80::1',
    '2001:db8::8a2e:370:7334',
    '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '1:2:3:4:5:6:7:8',
    '1::8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '::ffff:192.0.2.1',
    '64:ff9b::192.0.2.33',
    '1:2:3:4:5:6:1.2.3.4',
    '::1.2.3.4',
    'ABCD:EF01::',
  ])('accepts %s', (h) => {
    expect(isValidIPv6(h)).toBe(true);
  });
  it.each([
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '1::2::3',
    ':1::',
    '1:',
    '12345::',
    'g::',
    '::ffff:999.0.2.1',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1.2.3.4',
    ':1.2.3.4',
    'fe80::1%eth0',
    '[::1]',
  ])('rejects %j', (h) => {
    expect(isValidIPv6(h)).toBe(false);
  });
});

describe('isValidHostname', () => {
  it.each(['localhost', 'web01', 'FT-VA-01-web01', 'a.b.c', 'db-1.internal.example.com', '3com.net', 'a'.repeat(63) + '.com', 'x1'])(
    'accepts %s',
    (h) => {
      expect(isValidHostname(h)).toBe(true);
    },
  );
  it.each([
    '',
    '-web',
    'web-',
    'we_b',
    'a b',
    'a..b',
    '.a',
    'a.',
    'a'.repeat(64),
    `${'a'.repeat(60)}.`.repeat(5) + 'com',
    '999.1.1.1',
    '1.2.3',
    '123',
    '中文.com',
    'host;rm',
    '$(id)',
  ])('rejects %j', (h) => {
    expect(isValidHostname(h)).toBe(false);
  });
});

describe('isValidHost', () => {
  it('accepts addresses and names', () => {
    for (const h of ['172.16.0.101', '::1', 'web01.example.com', 'localhost']) expect(isValidHost(h)).toBe(true);
  });
  it("rejects what CODO's regex let through and anything shell-like", () => {
    for (const h of ['999.1.1.1', '1.2.3.4.5', '', ' 192.0.2.1', '192.0.2.1;id', 'a b', "'x'"]) expect(isValidHost(h)).toBe(false);
  });
});

function groupsOf(result: HostGroupsResult): [number, string[]][] {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.message}`);
  return [...result.groups];
}

describe('parseHostGroups', () => {
  it('reads the Python-literal form', () => {
    expect(groupsOf(parseHostGroups("{1: '172.16.0.101'}"))).toEqual([[1, ['172.16.0.101']]]);
    expect(groupsOf(parseHostGroups("{1: '192.0.2.1,192.0.2.2', 2: ['192.0.2.3', '192.0.2.4,192.0.2.5'], '3': ('h',)}"))).toEqual([
      [1, ['192.0.2.1', '192.0.2.2']],
      [2, ['192.0.2.3', '192.0.2.4', '192.0.2.5']],
      [3, ['h']],
    ]);
  });

  it('reads JSON strings, JSON objects and Maps', () => {
    expect(groupsOf(parseHostGroups('{"1": ["127.0.0.1"], "2": "127.0.0.2"}'))).toEqual([
      [1, ['127.0.0.1']],
      [2, ['127.0.0.2']],
    ]);
    expect(groupsOf(parseHostGroups({ '1': ['127.0.0.1'], 2: '127.0.0.2,127.0.0.3' }))).toEqual([
      [1, ['127.0.0.1']],
      [2, ['127.0.0.2', '127.0.0.3']],
    ]);
    expect(groupsOf(parseHostGroups(new Map([[1, 'a']])))).toEqual([[1, ['a']]]);
  });

  it('treats absent or empty input as no groups, and keeps empty groups for the template check', () => {
    for (const input of [undefined, null, '', '  ', '{}', {}]) expect(groupsOf(parseHostGroups(input))).toEqual([]);
    expect(groupsOf(parseHostGroups("{1: ''}"))).toEqual([[1, []]]);
    expect(groupsOf(parseHostGroups({ 1: [] }))).toEqual([[1, []]]);
  });

  it('does not judge host syntax (checkHostGroups does, in CODO order)', () => {
    expect(groupsOf(parseHostGroups("{1: '999.1.1.1'}"))).toEqual([[1, ['999.1.1.1']]]);
  });

  it.each<[unknown, string, RegExp]>([
    ["{1: '192.0.2.1'", 'unparsable', /^hosts: expected ',' or '}', found end of input at position 15$/],
    ["{1: os.system('id')}", 'unparsable', /unexpected name 'os' at position 4/],
    ["['192.0.2.1']", 'not_a_dict', /expected a dict/],
    ["'192.0.2.1'", 'not_a_dict', /expected a dict/],
    [['192.0.2.1'], 'not_a_dict', /expected a dict/],
    [42, 'not_a_dict', /expected a dict/],
    ["{0: 'a'}", 'bad_group_key', /group key 0 is not a positive integer/],
    ["{-1: 'a'}", 'bad_group_key', /group key -1/],
    ["{1.5: 'a'}", 'bad_group_key', /group key 1.5/],
    ["{True: 'a'}", 'bad_group_key', /group key True/],
    ["{None: 'a'}", 'bad_group_key', /group key None/],
    ["{'a': 'x'}", 'bad_group_key', /group key 'a'/],
    ["{'01': 'x'}", 'bad_group_key', /group key '01'/],
    ["{' 1': 'x'}", 'bad_group_key', /group key ' 1'/],
    ["{'99999999999999999999': 'x'}", 'bad_group_key', /not a positive integer/],
    ["{1: 'a', '1': 'b'}", 'bad_group_key', /group 1 appears twice/],
    ['{1: 10}', 'bad_group_value', /group 1 must be a comma-separated string or a list of strings/],
    ['{1: None}', 'bad_group_value', /group 1/],
    ["{1: ['a', 2]}", 'bad_group_value', /group 1/],
    ["{1: {'a': 'b'}}", 'bad_group_value', /group 1/],
  ])('rejects %j as %s', (input, reason, message) => {
    const result = parseHostGroups(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(reason);
    expect(result.message).toMatch(message);
  });
});

describe('checkHostGroups', () => {
  const groups = (entries: Record<number, string[]>): Map<number, string[]> =>
    new Map(Object.entries(entries).map(([k, v]) => [Number(k), v]));
  const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`);

  it('accepts hosts that fit the template', () => {
    expect(checkHostGroups(groups({ 1: ['192.0.2.1'], 2: ['web01', '::1'] }), [1, 2], 100)).toBeUndefined();
    expect(checkHostGroups(groups({ 1: many(100) }), [1, 1], 100)).toBeUndefined();
  });

  it('reports a missing or empty group', () => {
    expect(checkHostGroups(groups({}), [1], 100)).toEqual({ kind: 'empty', group: 1 });
    expect(checkHostGroups(groups({ 1: ['a'], 2: [] }), [2, 1], 100)).toEqual({ kind: 'empty', group: 2 });
  });

  it('reports more hosts than allowed (100 is fine, 101 is not)', () => {
    expect(checkHostGroups(groups({ 1: many(101) }), [1], 100)).toEqual({ kind: 'too_many', group: 1, count: 101 });
  });

  it('reports the first invalid host', () => {
    expect(checkHostGroups(groups({ 1: ['192.0.2.1', '999.1.1.1', 'bad host'] }), [1], 100)).toEqual({
      kind: 'invalid_host',
      group: 1,
      host: '999.1.1.1',
    });
  });

  it('checks template groups in ascending order, each fully, before extra groups', () => {
    const hosts = groups({ 1: ['999.1.1.1'], 2: [], 5: ['a'] });
    expect(checkHostGroups(hosts, [2, 1], 100)).toEqual({ kind: 'invalid_host', group: 1, host: '999.1.1.1' });
    expect(checkHostGroups(groups({ 1: ['a'], 2: [], 5: ['a'] }), [1, 2], 100)).toEqual({ kind: 'empty', group: 2 });
    expect(checkHostGroups(groups({ 1: ['a'], 7: ['b'], 5: ['c'] }), [1], 100)).toEqual({ kind: 'mismatch', group: 5 });
  });
});
