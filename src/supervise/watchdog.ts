// The services we start must not outlive us when we die without our orderly shutdown (kill -9,
// the OOM killer, a crash). A small shell process, in its own session so no terminal signal
// reaches it, reads a pipe from us: `add <SIG> <pid>` / `del <pid>` lines. The pipe closes when
// our process ends, however it ends; the watchdog then signals every pid still registered
// (PostgreSQL SIGINT: fast shutdown; Temporal SIGTERM) and exits. After an orderly shutdown
// nothing is registered any more and it just exits.
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';

const SCRIPT = `
pids=
while read -r op a b; do
  case "$op" in
    add) pids="$pids $a:$b" ;;
    del) keep=; for e in $pids; do [ "\${e#*:}" = "$a" ] || keep="$keep $e"; done; pids=$keep ;;
  esac
done
for e in $pids; do kill -s "\${e%%:*}" "\${e#*:}" 2>/dev/null; done
`;

/** Shows in `ps` as the watchdog's command line. */
export const WATCHDOG_NAME = 'opsflow-watchdog';

let watchdog: ChildProcess | null = null;

function started(): ChildProcess {
  if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) return watchdog;
  const child = spawn('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.on('error', () => undefined); // no /bin/sh: we run without the safety net
  child.stdin?.on('error', () => undefined); // it was killed: writes fail, nothing to do
  // It must not keep our event loop alive (a CLI command exits when its work is done).
  child.unref();
  (child.stdin as net.Socket | null)?.unref();
  watchdog = child;
  return child;
}

/** Has `pid` signalled with `signal` if this process dies first; call the returned function once it has exited. */
export function stopWithUs(pid: number, signal: 'INT' | 'TERM'): () => void {
  const child = started();
  child.stdin?.write(`add ${signal} ${pid}\n`);
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.stdin?.write(`del ${pid}\n`);
  };
}
