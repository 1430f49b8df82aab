import { timingSafeEqual } from 'node:crypto';
import { generateSecret, generateSync, generateURI } from 'otplib';
import { toString as qrToString } from 'qrcode';

// TOTP (RFC 6238): SHA-1, 6 digits, 30 s steps — what every authenticator app expects.
// Replay protection is ours: the caller stores the matched step and passes it back.
//
// We compute the candidate codes ourselves with otplib's generateSync rather than using its
// verify(): verify's `afterTimeStep` silently turns a replay into plain "invalid" (we want to
// tell them apart) and throws if the stored step is ahead of the clock window.

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
const SKEW_STEPS = 1;

export type TotpResult = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' };

/** A new random secret (20 bytes), base32 as authenticator apps expect. */
export function generateTotpSecret(): string {
  return generateSecret();
}

/** The otpauth://totp/ URI to show as a QR code when enrolling. */
export function totpUri(username: string, secret: string, issuer = 'opsflow'): string {
  return generateURI({ issuer, label: username, secret, digits: TOTP_DIGITS, period: TOTP_PERIOD_S });
}

/** The 30 s time step number that `at` falls in. */
export function totpStep(at: Date = new Date()): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_S);
}

/** The code valid at `at` (default now). */
export function currentTotp(secret: string, at: Date = new Date()): string {
  return codeForStep(secret, totpStep(at));
}

/**
 * Checks `code` against the steps t-1, t, t+1 around `at`. A code whose step is <= `lastUsedStep`
 * is 'replayed'; on success store the returned `step` as the new lastUsedStep.
 * `code` may be a number or have spaces ("123 456"): CODO clients send numbers, which lose
 * leading zeros, so short numeric codes are left-padded.
 * Throws only if `secret` itself is unusable (a server-side fault, not a wrong code).
 */
export function verifyTotp(
  secret: string,
  code: string | number,
  lastUsedStep: number | null,
  at: Date = new Date(),
): TotpResult {
  const normalised = normaliseCode(code);
  if (normalised === null) return { ok: false, reason: 'invalid' };
  const given = Buffer.from(normalised, 'utf8');

  const now = totpStep(at);
  let matched: number | null = null;
  // Check every candidate (no early exit) and keep the newest match, so timing does not
  // reveal which step matched and a replayed old step never hides a fresh one.
  for (let step = now - SKEW_STEPS; step <= now + SKEW_STEPS; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(codeForStep(secret, step), 'utf8');
    if (timingSafeEqual(expected, given)) matched = step;
  }
  if (matched === null) return { ok: false, reason: 'invalid' };
  if (lastUsedStep !== null && matched <= lastUsedStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step: matched };
}

/** A QR code as an SVG document (for enrolment in the console, shown as an image). */
export function renderQrToSvg(text: string): Promise<string> {
  return qrToString(text, { type: 'svg', margin: 2 });
}

/** A QR code as terminal text (for `opsflow user` enrolment in a shell). */
export function renderQrToTerminal(text: string): Promise<string> {
  return qrToString(text, { type: 'terminal', small: true });
}

function codeForStep(secret: string, step: number): string {
  return generateSync({ secret, epoch: step * TOTP_PERIOD_S, period: TOTP_PERIOD_S, digits: TOTP_DIGITS });
}

// Returns exactly TOTP_DIGITS digits, or null if the input cannot be a code.
function normaliseCode(code: string | number): string | null {
  let text: string;
  if (typeof code === 'number') {
    if (!Number.isSafeInteger(code) || code < 0) return null;
    text = String(code);
  } else if (typeof code === 'string') {
    text = code.replace(/\s+/g, '');
  } else {
    return null;
  }
  if (!/^\d{1,6}$/.test(text)) return null;
  return text.padStart(TOTP_DIGITS, '0');
}
