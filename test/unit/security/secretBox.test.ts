import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateMasterKey, parseMasterKey, SecretBox, SecretBoxError } from '../../../src/security/secretBox';

const key = parseMasterKey(generateMasterKey());
const box = new SecretBox(key);

// Flip one bit of one base64url part of a sealed value (index 1 = iv, 2 = tag, 3 = ciphertext).
function tamper(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part] ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('parseMasterKey', () => {
  it('accepts 64 hex chars', () => {
    const hex = generateMasterKey();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(parseMasterKey(hex).toString('hex')).toBe(hex);
    expect(parseMasterKey(`  ${hex.toUpperCase()}\n`).toString('hex')).toBe(hex);
  });

  it('accepts base64 and base64url of 32 bytes', () => {
    const raw = randomBytes(32);
    expect(parseMasterKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parseMasterKey(raw.toString('base64url')).equals(raw)).toBe(true);
  });

  it('rejects other lengths and junk without echoing the key', () => {
    const secretish = 'supersecret-value-that-is-not-a-key';
    expect(() => parseMasterKey(secretish)).toThrow(/64 hex characters or base64 of 32 bytes/);
    expect(() => parseMasterKey(secretish)).not.toThrow(/supersecret/);
    expect(() => parseMasterKey('')).toThrow(Error);
    expect(() => parseMasterKey('ab'.repeat(31))).toThrow(Error);
    expect(() => parseMasterKey(randomBytes(16).toString('base64'))).toThrow(Error);
    expect(() => parseMasterKey(randomBytes(48).toString('base64'))).toThrow(Error);
  });

  it('SecretBox rejects keys that are not 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('SecretBox', () => {
  it('round-trips ascii, unicode, empty and large values', () => {
    const values = ['hunter2', '', '密码 🔑 пароль\n\t"quoted"', '-----BEGIN OPENSSH PRIVATE KEY-----\n' + 'x'.repeat(100_000)];
    for (const value of values) {
      expect(box.open(box.seal(value))).toBe(value);
      expect(box.open(box.seal(value, 'exec_users.password:3'), 'exec_users.password:3')).toBe(value);
    }
  });

  it('produces the versioned compact format with a fresh IV each time', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
  });

  it('detects tampering with iv, tag or ciphertext', () => {
    const sealed = box.seal('top secret', 'ctx');
    for (const part of [1, 2, 3]) {
      expect(() => box.open(tamper(sealed, part), 'ctx')).toThrow(SecretBoxError);
    }
  });

  it('rejects malformed values with SecretBoxError', () => {
    const sealed = box.seal('x');
    const [, iv, tag, ct] = sealed.split('.');
    const bad = [
      '',
      'garbage',
      `v2.${iv}.${tag}.${ct}`,
      `v1.${iv}.${tag}`,
      `v1.${iv}.${tag}.${ct}.extra`,
      `v1.${iv}.${tag}.${ct}!`,
      `v1.${iv}.${tag?.slice(0, 10)}.${ct}`,
      `v1.${iv}.${tag}.`,
    ];
    for (const value of bad) expect(() => box.open(value), value).toThrow(SecretBoxError);
  });

  it('fails with the wrong key', () => {
    const other = new SecretBox(randomBytes(32));
    expect(() => other.open(box.seal('secret'))).toThrow(SecretBoxError);
  });

  it('binds the context: a value moved to another row does not open', () => {
    const sealed = box.seal('private key', 'exec_users.private_key:7');
    expect(() => box.open(sealed, 'exec_users.private_key:8')).toThrow(SecretBoxError);
    expect(() => box.open(sealed, 'exec_users.password:7')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(SecretBoxError);
    expect(() => box.open(box.seal('no context'), 'exec_users.private_key:7')).toThrow(SecretBoxError);
  });

  it('copies the key, so mutating the caller buffer changes nothing', () => {
    const k = randomBytes(32);
    const b = new SecretBox(k);
    const sealed = b.seal('v');
    k.fill(0);
    expect(b.open(sealed)).toBe('v');
  });
});
