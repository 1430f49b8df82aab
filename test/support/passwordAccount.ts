// A real system account with a password, so exec-user password authentication is tested against
// OpenSSH's own check (sshd with UsePAM no reads /etc/shadow). sshd only authenticates as another
// user when it runs as root, so this needs root, like installing the tests' packages does.
// The account gets a fresh random password per run and is locked again when the tests are done.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Fixed name, so repeated runs reuse one account instead of leaving new ones behind. */
export const PASSWORD_ACCOUNT = 'opsflow-pwtest';

export interface PasswordAccount {
  username: string;
  password: string;
  /** Locks the password again (the account stays, with no usable login). */
  lock(): Promise<void>;
}

export async function preparePasswordAccount(): Promise<PasswordAccount> {
  if (process.getuid?.() !== 0) {
    throw new Error(`password login tests need root: sshd must check another account's password (run the tests as root)`);
  }
  const exists = await run('id', ['-u', PASSWORD_ACCOUNT]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', PASSWORD_ACCOUNT]);
  }
  // base64url has no ":" or newline, which chpasswd's "user:password" lines cannot hold.
  const password = randomBytes(18).toString('base64url');
  await chpasswd(`${PASSWORD_ACCOUNT}:${password}\n`);
  await run('usermod', ['--unlock', PASSWORD_ACCOUNT]).catch(() => undefined);
  return {
    username: PASSWORD_ACCOUNT,
    password,
    lock: async () => {
      await run('usermod', ['--lock', PASSWORD_ACCOUNT]);
    },
  };
}

async function chpasswd(input: string): Promise<void> {
  const setting = run('chpasswd');
  setting.child.stdin?.end(input);
  await setting;
}
