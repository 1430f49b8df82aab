// The audit hash: canonical JSON (key order does not matter, as jsonb reorders keys), keyed by
// a key derived from the master key.
import { describe, expect, it } from 'vitest';
import { auditHash, auditKey, canonicalJson, GENESIS_HASH } from '../../../src/audit/audit';
import { SecretBox, generateMasterKey, parseMasterKey } from '../../../src/security/secretBox';

const box = new SecretBox(parseMasterKey(generateMasterKey()));
const key = auditKey(box);

describe('audit hashing', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('a change in any field or in the previous hash changes the hash', () => {
    const row = { at: new Date('2024-01-01T00:00:00.123Z'), actor: 'a', action: 'x', target: 't', detail: { k: 'v' }, ip: '127.0.0.1', result: 'ok' };
    const h = auditHash(key, GENESIS_HASH, row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(auditHash(key, GENESIS_HASH, { ...row, detail: { k: 'v' } })).toBe(h);
    for (const changed of [{ actor: 'b' }, { result: 'refused' }, { detail: { k: 'w' } }, { at: new Date('2024-01-01T00:00:00.124Z') }, { ip: '' }]) {
      expect(auditHash(key, GENESIS_HASH, { ...row, ...changed })).not.toBe(h);
    }
    expect(auditHash(key, 'f'.repeat(64), row)).not.toBe(h);
  });

  it('is keyed: without the master key the same row hashes differently, so an edited chain cannot be recomputed', () => {
    const row = { at: new Date('2024-01-01T00:00:00.000Z'), actor: 'a', action: 'x', target: '', detail: {}, ip: '', result: 'ok' };
    const other = auditKey(new SecretBox(parseMasterKey(generateMasterKey())));
    expect(auditHash(other, GENESIS_HASH, row)).not.toBe(auditHash(key, GENESIS_HASH, row));
    // The same master key always gives the same chain key (API replicas and the CLI agree).
    expect(auditKey(box).equals(key)).toBe(true);
    expect(key).toHaveLength(32);
  });
});
