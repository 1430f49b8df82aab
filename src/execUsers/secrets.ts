// Sealing exec-user secrets: keys and passwords are sealed with the master key, bound to the
// alias (secretContexts); only the key's fingerprint is ever shown.
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import { Refusal } from '../domain/errors';
import type { SecretBox } from '../security/secretBox';
import { execUserSecretContext } from '../security/secretContexts';

/** `SHA256:<base64, no padding>` of the key's public half, as `ssh-keygen -l` prints it. */
export function keyFingerprint(privateKey: string, field = 'private_key'): string {
  const parsed = utils.parseKey(privateKey);
  // Whether text is a key ssh2 can read is no matter of form: 422, not 400.
  if (parsed instanceof Error) throw new Refusal('unprocessable', field, `not a usable private key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? (parsed[0] as unknown as typeof parsed) : parsed;
  if (!key || key.isPrivateKey?.() === false) throw new Refusal('unprocessable', field, 'this is a public key; give the private key');
  return 'SHA256:' + createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '');
}

/**
 * Column values for exec_users: a given secret is sealed (and the key fingerprinted), `null`
 * removes it, `undefined` leaves the column alone. `keyField` names the request field in errors.
 */
export function sealExecUserSecrets(box: SecretBox, alias: string, key: string | null | undefined, password: string | null | undefined, keyField = 'private_key') {
  return {
    private_key: key ? box.seal(key, execUserSecretContext.privateKey(alias)) : key === null ? null : undefined,
    password: password ? box.seal(password, execUserSecretContext.password(alias)) : password === null ? null : undefined,
    key_fingerprint: key ? keyFingerprint(key, keyField) : key === null ? null : undefined,
  };
}
