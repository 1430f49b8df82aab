// The shell text sent to the remote side. sshd (OpenSSH, dropbear) starts every exec
// channel's command with `$SHELL -c` in a new session, so that shell's PID ($$) is also the
// ID of a process group holding everything the command starts (unless it calls setsid
// itself). The wrapper reports $$ first on stdout; a kill of that group over a second
// channel then stops the whole command tree.

/** Prefix of the wrapper's first stdout line: `<marker><pgid>\n`. */
export const PGID_MARKER = 'opsflow-pgid:';

/** Single-quotes a string for POSIX shells: the result is always one literal word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `command` in the login shell exactly as a plain `ssh host command` would (eval, not a
 * child shell, so no extra process and the same exit status), after printing the PGID line.
 */
export function wrapCommand(command: string): string {
  return `printf '${PGID_MARKER}%s\\n' "$$"; eval ${shellQuote(command)}`;
}

/** Signals the whole group; exits non-zero (harmless) when the group is already gone. */
export function killGroupCommand(pgid: number, signal: 'TERM' | 'KILL'): string {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`refusing to signal process group ${pgid}`);
  return `kill -s ${signal} -- -${pgid}`;
}
