// Host key identity as OpenSSH shows it, computed from the raw key blob the server sent.
import { createHash } from 'node:crypto';

export interface HostKeyInfo {
  /** Key type from the blob, e.g. 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'. */
  type: string;
  /** 'SHA256:<base64 without padding>', identical to `ssh-keygen -l`. */
  fingerprint: string;
  /** The public key blob (SSH wire format). */
  raw: Buffer;
}

export function describeHostKey(raw: Buffer): HostKeyInfo {
  return { type: keyTypeOf(raw), fingerprint: sha256Fingerprint(raw), raw };
}

export function sha256Fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The blob starts with an SSH string (uint32 length + bytes) naming the key type. */
function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return 'unknown';
  return blob.toString('ascii', 4, 4 + len);
}
