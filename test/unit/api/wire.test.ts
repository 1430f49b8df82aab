// The wire-format regexes the route schemas (and so the OpenAPI document) are built from.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseExecTime } from '../../../src/domain/execTime';
import { isValidHost } from '../../../src/domain/hosts';
import { decimalRange, EXEC_TIME_RE, HOST_RE, integerRange, intParam, nonBlank, PUBLIC_KEY_LINE_RE } from '../../../src/api/wire';

describe('decimalRange / integerRange', () => {
  it('matches exactly the decimal integers of the range', () => {
    for (const [min, max] of [[0, 0], [1, 9], [0, 1000], [1, 2_147_483_647], [7, 123], [99, 1001], [1, 65_535], [0, 10_000]] as const) {
      const re = new RegExp(`^${decimalRange(min, max)}$`);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: max * 3 + 10 }), (n) => re.test(String(n)) === (n >= min && n <= max)),
        { numRuns: 2000 },
      );
      for (const n of [min, max, min - 1, max + 1]) expect(re.test(String(n)), `${n} in ${min}..${max}`).toBe(n >= min && n <= max);
      expect(re.test(`0${max}`)).toBe(false); // no leading zeros
      expect(re.test(`+${max}`)).toBe(false);
    }
  });
  it('negative ranges', () => {
    const re = new RegExp(`^${integerRange(-1000, 1000)}$`);
    fc.assert(fc.property(fc.integer({ min: -5000, max: 5000 }), (n) => re.test(String(n)) === (n >= -1000 && n <= 1000)));
    expect(re.test('-0')).toBe(false);
  });
  it('intParam refuses what Number() would take', () => {
    const p = intParam(1, 500);
    for (const bad of ['1e2', '0x10', ' 5', '5 ', '05', '', '-1', '501', '1.0']) expect(p.safeParse(bad).success, bad).toBe(false);
    expect(p.parse('500')).toBe(500);
  });
});

describe('nonBlank', () => {
  it('refuses blank text (as trim() sees it) and NUL, stores trimmed', () => {
    const s = nonBlank(10);
    for (const bad of ['', '   ', '\u3000\ufeff\t', 'a\u0000']) expect(s.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    expect(s.parse('  a b ')).toBe('a b');
    fc.assert(fc.property(fc.string({ maxLength: 10 }), (t) => s.safeParse(t).success === (t.trim() !== '' && !t.includes('\0'))));
  });
});

describe('HOST_RE', () => {
  it('accepts exactly what isValidHost accepts', () => {
    const cases = [
      '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.0.0.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '999.1.1.1', '10.1',
      '::', '::1', '1::', 'fe80::1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
      '::ffff:192.0.2.1', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '::1.2.3.4', ':::', ':1::', '1:::2', '12345::',
      'web01', 'web-01.example.com', '-web', 'web-', 'a..b', 'host_1', 'x'.repeat(63), 'x'.repeat(64), '1a', 'a.1', 'a.1b', '1.a', 'ex.com.',
    ];
    for (const h of cases) expect(HOST_RE.test(h), h).toBe(isValidHost(h));
    const hostChars = fc.constantFrom(...'0123456789abcdefABCDEF:.-xyz_'.split(''));
    fc.assert(fc.property(fc.string({ unit: hostChars, maxLength: 45 }), (h) => HOST_RE.test(h) === isValidHost(h)), { numRuns: 20_000 });
    fc.assert(fc.property(fc.ipV6(), (h) => HOST_RE.test(h) && isValidHost(h)));
    fc.assert(fc.property(fc.domain(), (h) => HOST_RE.test(h) === isValidHost(h)));
  });
});

describe('PUBLIC_KEY_LINE_RE', () => {
  it('accepts real key lines and refuses blobs of another type', () => {
    const ed = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host';
    expect(PUBLIC_KEY_LINE_RE.test(ed)).toBe(true);
    expect(PUBLIC_KEY_LINE_RE.test('  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5')).toBe(true);
    expect(PUBLIC_KEY_LINE_RE.test('ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMq')).toBe(false);
    expect(PUBLIC_KEY_LINE_RE.test('ssh-ed25519 !!!')).toBe(false);
    expect(PUBLIC_KEY_LINE_RE.test('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ x')).toBe(true);
  });
  it('agrees with decoding: the blob starts with its type', () => {
    const types = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.constantFrom(...types), fc.uint8Array({ maxLength: 40 }), (claimed, actual, rest) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(actual.length);
        const line = `${claimed} ${Buffer.concat([len, Buffer.from(actual), Buffer.from(rest)]).toString('base64')}`;
        return PUBLIC_KEY_LINE_RE.test(line) === (claimed === actual);
      }),
    );
  });
});

describe('EXEC_TIME_RE', () => {
  const now = new Date('2024-05-01T00:00:00Z');
  const parses = (s: string): boolean => {
    try {
      parseExecTime(s, 'Asia/Shanghai', now);
      return true;
    } catch {
      return false;
    }
  };
  it('accepts exactly what parseExecTime reads (years 1000-9999)', () => {
    const cases = ['2019-03-22 16:09:50', '2019-3-5 7:05', '2019-02-29 00:00', '2020-02-29 00:00', '1900-02-29 00:00', '2000-02-29 00:00', '2019-02-30 10:00:00',
      '2019-03-22 25:00:00', '22/03/2019', 'tomorrow', '16:09', '7:05:59', '24:00', '2019-03-22T16:09:50+08:00', '2019-03-22T16:09:50 +0800', '2019-03-22T16:09:50+25:00',
      '2019-03-22T16:09:50.123456789Z', '2019-03-22T16:09Z', '  2019-03-22 16:09:50  ', '', '   ', '2019-04-31 00:00', '2019-13-01 00:00', '2019-00-10 00:00', '2019-01-00 00:00'];
    for (const c of cases) expect(EXEC_TIME_RE.test(c), c).toBe(parses(c));
    const digits = (n: number, max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(n, '0'));
    const arb = fc.tuple(fc.integer({ min: 1000, max: 9999 }), digits(2, 14), digits(2, 33), digits(2, 25), digits(2, 61), fc.constantFrom('', 'Z', '+08:00', '-0530', '+24:00', ' +01', ':61'), fc.boolean());
    fc.assert(
      fc.property(arb, ([y, mo, d, h, mi, off, trimZeros]) => {
        const s = `${y}-${trimZeros ? String(Number(mo)) : mo}-${d} ${h}:${mi}${off}`;
        return EXEC_TIME_RE.test(s) === parses(s);
      }),
      { numRuns: 20_000 },
    );
  });
});
