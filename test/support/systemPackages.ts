// The tests' system prerequisites (real OpenSSH sshd, Chromium, pgrep). On a fresh Debian
// machine `npm ci && npm test` installs them itself when it runs as root, so no step is manual;
// elsewhere it stops with the exact command to run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const NEEDED = [
  { file: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { file: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  { file: '/usr/bin/chromium', pkg: 'chromium' },
  { file: '/usr/bin/pgrep', pkg: 'procps' },
];

export function ensureSystemPackages(log: (line: string) => void): void {
  const missing = NEEDED.filter((n) => !fs.existsSync(n.file)).map((n) => n.pkg);
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`the tests need ${missing.join(', ')}: install them with \`${command}\` (as root)`);
  }
  log(`installing the tests' system packages: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
}
