import { describe, expect, it } from 'vitest';
import { accountDelayMs, DELAY_BASE_MS, DELAY_CAP_MS, lockoutAddress } from '../../../src/accounts/lockout';

describe('lockoutAddress', () => {
  it('keeps an IPv4 address, also when it arrives IPv4-mapped', () => {
    expect(lockoutAddress('203.0.113.9')).toBe('203.0.113.9');
    expect(lockoutAddress('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(lockoutAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 address under its /64, however it is written', () => {
    expect(lockoutAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(lockoutAddress('2001:0DB8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(lockoutAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(lockoutAddress('::1')).toBe('0:0:0:0::/64');
    expect(lockoutAddress('::1:2:3:4:5:6')).toBe('0:0:1:2::/64');
    expect(lockoutAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(lockoutAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps anything else as it is (an unknown peer is one key)', () => {
    expect(lockoutAddress('')).toBe('');
    expect(lockoutAddress('not-an-address')).toBe('not-an-address');
  });
});

describe('accountDelayMs', () => {
  it('is nothing without failures, doubles with each one, and stops at the cap', () => {
    expect(accountDelayMs(0)).toBe(0);
    expect(accountDelayMs(1)).toBe(DELAY_BASE_MS);
    expect(accountDelayMs(2)).toBe(2 * DELAY_BASE_MS);
    expect(accountDelayMs(3)).toBe(4 * DELAY_BASE_MS);
    expect(accountDelayMs(50)).toBe(DELAY_CAP_MS);
    expect(accountDelayMs(1_000_000)).toBe(DELAY_CAP_MS);
    expect(DELAY_CAP_MS).toBeLessThanOrEqual(5000); // the owner never waits more than a few seconds
  });
});
