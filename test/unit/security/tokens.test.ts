import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCsrfKey, generateToken, hashToken } from '../../../src/security/tokens';

describe('tokens', () => {
  it('generates prefixed 32-byte base64url tokens', () => {
    for (const prefix of ['ofs', 'oft'] as const) {
      const token = generateToken(prefix);
      expect(token).toMatch(new RegExp(`^${prefix}_[A-Za-z0-9_-]{43}$`));
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(generateToken('ofs')).not.toBe(generateToken('ofs'));
  });

  it('hashes tokens with sha256 hex, deterministically', () => {
    const token = generateToken('oft');
    const hash = hashToken(token);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashToken(token));
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashToken(generateToken('oft'))).not.toBe(hash);
  });

  it('generates 22-char URL-safe CSRF keys', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const key = generateCsrfKey();
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
      keys.add(key);
    }
    expect(keys.size).toBe(100);
  });
});
