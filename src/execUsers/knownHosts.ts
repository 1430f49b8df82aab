// Pinned SSH host keys (known_hosts): listing, pinning by an operator, forgetting.
import { createHash } from 'node:crypto';
import type { Db } from '../db/database';
import { Refusal } from '../domain/errors';

export const KNOWN_KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

export interface HostKey {
  key_type: string;
  fingerprint: string;
}

/** Type and SHA256 fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA…`). */
export function hostKeyFromPublicKey(line: string, field = 'public_key'): HostKey {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !KNOWN_KEY_TYPES.test(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new Refusal('invalid', field, 'expected an OpenSSH public key line such as "ssh-ed25519 AAAA…"');
  }
  const blob = Buffer.from(b64, 'base64');
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len <= 0 || 4 + len > blob.length || blob.toString('ascii', 4, 4 + len) !== type) throw new Refusal('invalid', field, 'the key data does not match its type');
  return { key_type: type, fingerprint: 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '') };
}

/** The key to pin: from a public key line, or a type and fingerprint given as such. */
export function hostKeyToPin(input: { publicKey?: string; keyType?: string; fingerprint?: string }): HostKey {
  if (input.publicKey) return hostKeyFromPublicKey(input.publicKey);
  if (input.keyType && input.fingerprint) return { key_type: input.keyType, fingerprint: input.fingerprint };
  throw new Refusal('invalid', 'public_key', 'give public_key, or key_type and fingerprint');
}

export async function listKnownHosts(db: Db, host?: string) {
  let q = db.selectFrom('known_hosts').selectAll();
  if (host) q = q.where('host', '=', host);
  return q.orderBy('host').orderBy('port').execute();
}

/** Pins `key` for host:port (replacing an earlier pin), recording who pinned it. */
export async function pinHostKey(db: Db, host: string, port: number, key: HostKey, username: string) {
  const pinnedBy = `user:${username}`;
  return db
    .insertInto('known_hosts')
    .values({ host, port, ...key, pinned_by: pinnedBy })
    .onConflict((oc) => oc.columns(['host', 'port']).doUpdateSet({ ...key, pinned_by: pinnedBy }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Forgets a pin; undefined when there was none with this id. */
export async function forgetKnownHost(db: Db, id: number) {
  return db.deleteFrom('known_hosts').where('id', '=', id).returningAll().executeTakeFirst();
}
