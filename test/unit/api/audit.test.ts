// The audit hash: canonical JSON (key order does not matter, as jsonb reorders keys).
import { describe, expect, it } from 'vitest';
import { auditHash, canonicalJson, GENESIS_HASH } from '../../../src/audit/audit';

describe('audit hashing', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('a change in any field or in the previous hash changes the hash', () => {
    const row = { at: new Date('2024-01-01T00:00:00.123Z'), actor: 'a', action: 'x', target: 't', detail: { k: 'v' }, ip: '127.0.0.1', result: 'ok' };
    const h = auditHash(GENESIS_HASH, row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(auditHash(GENESIS_HASH, { ...row, detail: { k: 'v' } })).toBe(h);
    for (const changed of [{ actor: 'b' }, { result: 'refused' }, { detail: { k: 'w' } }, { at: new Date('2024-01-01T00:00:00.124Z') }, { ip: '' }]) {
      expect(auditHash(GENESIS_HASH, { ...row, ...changed })).not.toBe(h);
    }
    expect(auditHash('f'.repeat(64), row)).not.toBe(h);
  });
});
