// Building the remote command line for a template step (docs/engine.md#executing-a-batch-over-ssh).
// The step's `command` is trusted (a template author wrote it); everything else — argument values
// and literal tokens — is quoted so the remote shell sees it as data, never as code.

/** Tokens made only of these characters mean the same to a POSIX shell quoted or not (as Python's shlex.quote). */
const SAFE_TOKEN_RE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one word for a POSIX shell: `it's` → `'it'\''s'`, empty → `''`. */
export function shellQuote(value: string): string {
  // A NUL byte cannot be passed through exec at all; the shell would silently cut the word short.
  if (value.includes('\0')) throw new Error('a shell argument may not contain a NUL byte (\\0)');
  if (SAFE_TOKEN_RE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Split a template step's `args` string into tokens (whitespace separated; empty → none). */
export function splitArgTokens(args: string | null | undefined): string[] {
  return (args ?? '').split(/\s+/).filter((token) => token !== '');
}

/**
 * `command` followed by the step's argument tokens. A token that names a key of `values` (task
 * arguments; callers add `FLOW_ID` → the task's list_id, CODO's convention) becomes that value,
 * quoted; any other token is passed quoted as literal text.
 */
export function buildCommandLine(command: string, argTokens: readonly string[], values: Readonly<Record<string, string>>): string {
  if (command.trim() === '') throw new Error('a step command may not be empty');
  if (command.includes('\0')) throw new Error('a step command may not contain a NUL byte (\\0)');
  const words = argTokens.map((token) => shellQuote(Object.hasOwn(values, token) ? (values[token] as string) : token));
  return [command, ...words].join(' ');
}
