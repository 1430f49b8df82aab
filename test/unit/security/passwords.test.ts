import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashPassword,
  validatePasswordStrength,
  verifyPassword,
} from '../../../src/security/passwords';

describe('passwords', () => {
  it('hashes with argon2id and verifies', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery stapl')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
  });

  it('salts: same password gives different hashes', async () => {
    const [a, b] = await Promise.all([hashPassword('same password!'), hashPassword('same password!')]);
    expect(a).not.toBe(b);
  });

  it('handles unicode passwords', async () => {
    const hash = await hashPassword('密码密码密码密码密码密码🔑');
    expect(await verifyPassword(hash, '密码密码密码密码密码密码🔑')).toBe(true);
    expect(await verifyPassword(hash, '密码密码密码密码密码密码')).toBe(false);
  });

  it('returns false, never throws, for malformed hashes', async () => {
    const bad = ['', 'plaintext', '$argon2id$', '$argon2id$v=19$m=19456,t=2,p=1$broken', '$2b$10$abcdefghijklmnopqrstuv'];
    for (const hash of bad) {
      await expect(verifyPassword(hash, 'whatever password')).resolves.toBe(false);
    }
    // Wrong runtime types (e.g. a NULL column) are also just "no".
    await expect(verifyPassword(null as unknown as string, 'x')).resolves.toBe(false);
    await expect(verifyPassword(await hashPassword('abc'), undefined as unknown as string)).resolves.toBe(false);
  });

  it('generates 20-char URL-safe random passwords that pass the strength check', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pw = generatePassword();
      expect(pw).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect(validatePasswordStrength(pw)).toBeNull();
      seen.add(pw);
    }
    expect(seen.size).toBe(50);
  });

  it('validates strength', () => {
    expect(validatePasswordStrength('short')).toMatch(/at least 12/);
    expect(validatePasswordStrength('elevenchars')).toMatch(/at least 12/);
    expect(validatePasswordStrength('twelve chars')).toBeNull();
    expect(validatePasswordStrength(' '.repeat(12))).toMatch(/whitespace/);
    expect(validatePasswordStrength('x'.repeat(2000))).toMatch(/at most/);
    // 11 emoji are 22 UTF-16 units but 11 characters: still too short.
    expect(validatePasswordStrength('🔑'.repeat(11))).toMatch(/at least 12/);
    expect(validatePasswordStrength('🔑'.repeat(12))).toBeNull();
  });
});
