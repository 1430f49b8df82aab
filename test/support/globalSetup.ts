// Placeholder: replaced by the real service startup (PostgreSQL, Temporal, sshd).
export default function setup(): void {}
