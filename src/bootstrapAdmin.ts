// First start: create the admin account and show its one-time credentials.
import fs from 'node:fs';
import path from 'node:path';
import { countUsers, createUser } from './accounts/users';
import type { Db } from './db/database';
import type { SecretBox } from './security/secretBox';
import { renderQrToTerminal } from './security/totp';

/** Returns the text to print, or null when users already exist. */
export async function bootstrapAdmin(db: Db, box: SecretBox, dataDir: string): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const admin = await createUser(db, box, { username: 'admin', role: 'admin', displayName: 'Administrator' });
  const details = [
    'First start: an admin account was created. Change the password after logging in.',
    `  username:      ${admin.username}`,
    `  password:      ${admin.password ?? ''}   (one-time; shown only now)`,
    `  TOTP secret:   ${admin.totp_secret}`,
    `  TOTP URI:      ${admin.otpauth_url}`,
  ].join('\n');
  const file = path.join(dataDir, 'admin-credentials.txt');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, details + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600); // also when the file existed with wider permissions
  const qr = await renderQrToTerminal(admin.otpauth_url);
  return `${details}\n  Scan with an authenticator app:\n${qr}\n  (also written to ${file}, mode 0600)`;
}
