import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// AES-256-GCM for secrets at rest (exec user keys/passwords, TOTP secrets).
// Sealed form: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The version prefix lets a
// future format (or key rotation scheme) coexist with rows already written.

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Thrown when a sealed value is malformed, tampered with, or opened with the wrong key/context. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * Parses the master key from configuration: 64 hex chars, or base64/base64url of 32 bytes.
 * Error messages never echo the input, since it is a secret.
 */
export function parseMasterKey(text: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  // 32 bytes is 43 base64 chars plus one '=' of padding (optional).
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new Error(
    `master key must be 64 hex characters or base64 of ${KEY_BYTES} bytes ` +
      `(got ${value.length} characters); generate one with generateMasterKey()`,
  );
}

/** A fresh random 256-bit master key, hex-encoded. */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) {
      throw new Error(`SecretBox key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    // Own copy, so a caller zeroing or reusing its buffer cannot change ours.
    this.#key = Buffer.from(key);
  }

  /** A 32-byte key for another purpose, derived from the master key (HKDF-SHA256); the master key stays in here. */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), purpose, KEY_BYTES));
  }

  /**
   * Encrypts `plaintext`. `context` (e.g. "exec_users.private_key:7") is authenticated but not
   * stored: the value only opens with the same context, so a ciphertext copied to another
   * row or column is rejected.
   */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv, tag, ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** Decrypts a value from `seal`; throws SecretBoxError if anything does not check out. */
  open(sealed: string, context = ''): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new SecretBoxError(`sealed value is not in ${VERSION} format`);
    }
    const [ivText, tagText, ctText] = parts.slice(1) as [string, string, string];
    if (![ivText, tagText, ctText].every((p) => B64URL.test(p))) {
      throw new SecretBoxError('sealed value has invalid base64url');
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('sealed value has a bad nonce or tag length');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
      return plain.toString('utf8');
    } catch {
      // GCM does not say which of these it was, and neither should we.
      throw new SecretBoxError('cannot open sealed value: wrong key, wrong context, or tampered data');
    }
  }
}

// The version is part of the AAD too, so a v1 body can never be reinterpreted under another version.
function aad(context: string): Buffer {
  return Buffer.from(`opsflow-secretbox:${VERSION}:${context}`, 'utf8');
}
