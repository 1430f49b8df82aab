// Unit project: no services, but the SSH client tests need a real sshd on the machine.
import { ensureSystemPackages } from './systemPackages';

export default function setup(): void {
  ensureSystemPackages((line) => console.log(`[test setup] ${line}`));
}
