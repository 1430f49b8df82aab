// Host key policy per exec user: tofu (pin on first use, refuse a change),
// strict (must already be pinned), off (accept any; an explicit, audited opt-in).
import type { Db } from '../src/db/database';
import type { HostKeyInfo } from './ssh';

export type HostKeyPolicy = 'tofu' | 'strict' | 'off';

/** Why the last verification refused the key (ssh2 only lets the verifier say yes/no). */
export interface HostKeyVerdict {
  refusal: string | null;
}

/**
 * `pinned`: the fingerprint the batch read with its runs a moment ago. A key that matches it is
 * accepted without reading the pin again (a statement per connection); any other key is checked
 * against known_hosts as it is now, so a refusal or a first pin never rests on that earlier read.
 */
export function hostKeyVerifier(db: Db, policy: HostKeyPolicy, host: string, port: number, verdict: HostKeyVerdict, pinned: string | null = null) {
  return async (key: HostKeyInfo): Promise<boolean> => {
    if (policy === 'off') return true;
    if (pinned !== null && pinned === key.fingerprint) return true;
    const pin = await db.selectFrom('known_hosts').selectAll().where('host', '=', host).where('port', '=', port).executeTakeFirst();
    if (pin) {
      if (pin.fingerprint === key.fingerprint) return true;
      verdict.refusal =
        `host key of ${host}:${port} has CHANGED: pinned ${pin.key_type} ${pin.fingerprint}, ` +
        `server offered ${key.type} ${key.fingerprint}. Refusing to connect (possible man-in-the-middle). ` +
        `If the change is expected, an admin can forget the pin (known hosts) and run again.`;
      return false;
    }
    if (policy === 'strict') {
      verdict.refusal = `host key of ${host}:${port} (${key.type} ${key.fingerprint}) is not in known hosts and the exec user's policy is strict`;
      return false;
    }
    // tofu: pin now; a concurrent first contact pins once, and both compare against that pin.
    await db
      .insertInto('known_hosts')
      .values({ host, port, key_type: key.type, fingerprint: key.fingerprint })
      .onConflict((oc) => oc.columns(['host', 'port']).doNothing())
      .execute();
    const now = await db.selectFrom('known_hosts').select('fingerprint').where('host', '=', host).where('port', '=', port).executeTakeFirstOrThrow();
    if (now.fingerprint === key.fingerprint) return true;
    verdict.refusal = `host key of ${host}:${port} differs from the key pinned a moment ago by another connection`;
    return false;
  };
}
