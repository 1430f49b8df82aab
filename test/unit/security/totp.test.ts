import { describe, expect, it } from 'vitest';
import {
  currentTotp,
  generateTotpSecret,
  renderQrToTerminal,
  totpStep,
  totpUri,
  verifyTotp,
} from '../../../src/security/totp';

// RFC 6238 appendix B, SHA-1: secret "12345678901234567890" (ASCII), codes truncated to 6 digits.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const at = (seconds: number): Date => new Date(seconds * 1000);

describe('totp', () => {
  it('matches the RFC 6238 test vectors', () => {
    expect(currentTotp(RFC_SECRET, at(59))).toBe('287082');
    expect(currentTotp(RFC_SECRET, at(1111111109))).toBe('081804');
    expect(currentTotp(RFC_SECRET, at(1111111111))).toBe('050471');
    expect(currentTotp(RFC_SECRET, at(1234567890))).toBe('005924');
    expect(currentTotp(RFC_SECRET, at(2000000000))).toBe('279037');
  });

  it('generates base32 secrets of 20 bytes', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).not.toBe(secret);
    expect(currentTotp(secret)).toMatch(/^\d{6}$/);
  });

  it('builds an otpauth URI', () => {
    const uri = totpUri('alice', RFC_SECRET);
    expect(uri.startsWith('otpauth://totp/opsflow:alice?')).toBe(true);
    const params = new URL(uri).searchParams;
    expect(params.get('secret')).toBe(RFC_SECRET);
    expect(params.get('issuer')).toBe('opsflow');
    expect(totpUri('张三', RFC_SECRET, 'ACME Ops')).toContain(encodeURIComponent('张三'));
  });

  it('accepts the current code and returns its step', () => {
    const now = at(1111111111);
    const result = verifyTotp(RFC_SECRET, '050471', null, now);
    expect(result).toEqual({ ok: true, step: totpStep(now) });
    expect(totpStep(now)).toBe(Math.floor(1111111111 / 30));
  });

  it('allows one step of clock skew either way, not two', () => {
    const t = 1234567890;
    const step = totpStep(at(t));
    const prev = currentTotp(RFC_SECRET, at(t - 30));
    const next = currentTotp(RFC_SECRET, at(t + 30));
    expect(verifyTotp(RFC_SECRET, prev, null, at(t))).toEqual({ ok: true, step: step - 1 });
    expect(verifyTotp(RFC_SECRET, next, null, at(t))).toEqual({ ok: true, step: step + 1 });
    expect(verifyTotp(RFC_SECRET, currentTotp(RFC_SECRET, at(t - 60)), null, at(t))).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyTotp(RFC_SECRET, currentTotp(RFC_SECRET, at(t + 60)), null, at(t))).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts a code once: the same or an older step is replayed', () => {
    const now = at(1234567890);
    const first = verifyTotp(RFC_SECRET, '005924', null, now);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(verifyTotp(RFC_SECRET, '005924', first.step, now)).toEqual({ ok: false, reason: 'replayed' });
    // Still replayed 20 s later, while the code is inside the skew window.
    expect(verifyTotp(RFC_SECRET, '005924', first.step, at(1234567910))).toEqual({ ok: false, reason: 'replayed' });
    // A previous-step code after a newer one was used is replayed too.
    const prev = currentTotp(RFC_SECRET, at(1234567890 - 30));
    expect(verifyTotp(RFC_SECRET, prev, first.step, now)).toEqual({ ok: false, reason: 'replayed' });
    // The next step's code is fresh.
    const next = currentTotp(RFC_SECRET, at(1234567890 + 30));
    expect(verifyTotp(RFC_SECRET, next, first.step, at(1234567890 + 30))).toEqual({ ok: true, step: first.step + 1 });
  });

  it('tolerates a lastUsedStep ahead of the clock (no throw)', () => {
    const now = at(1234567890);
    expect(verifyTotp(RFC_SECRET, '005924', totpStep(now) + 1000, now)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('rejects wrong codes as invalid', () => {
    const now = at(1234567890);
    expect(verifyTotp(RFC_SECRET, '005925', null, now)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyTotp(RFC_SECRET, currentTotp(generateTotpSecret(), now), null, now).ok).toBe(false);
  });

  it('normalises spaces and numeric codes that lost leading zeros', () => {
    const now = at(1234567890); // code 005924
    const step = totpStep(now);
    expect(verifyTotp(RFC_SECRET, ' 005 924 ', null, now)).toEqual({ ok: true, step });
    expect(verifyTotp(RFC_SECRET, '5924', null, now)).toEqual({ ok: true, step });
    expect(verifyTotp(RFC_SECRET, 5924, null, now)).toEqual({ ok: true, step });
  });

  it('rejects malformed codes as invalid without throwing', () => {
    const now = at(1234567890);
    const bad: (string | number)[] = ['', '   ', 'abcdef', '00592a', '0005924', '1234567', '-5924', '5924.0', 5924.5, -5924, Number.NaN];
    for (const code of bad) {
      expect(verifyTotp(RFC_SECRET, code, null, now), String(code)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('renders a QR code for the terminal', async () => {
    const qr = await renderQrToTerminal(totpUri('alice', RFC_SECRET));
    expect(qr.split('\n').length).toBeGreaterThan(10);
    expect(qr).toMatch(/[█▀▄]/);
  });
});
