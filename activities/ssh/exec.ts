// Runs one command on an open connection: streams its output with backpressure, reports
// how it ended, and on cancel/timeout kills its remote process group over a second channel.
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './connection';
import { SshCommandLostError } from './errors';
import { OutputPump, type OnOutput } from './output-pump';
import { PgidLineSplitter } from './pgid-line';
import { killGroupCommand, wrapCommand } from './remote-script';

export type { OnOutput, OutputStream } from './output-pump';

export interface RunRemoteCommandOptions {
  /** Called in arrival order, never concurrently; a returned promise pauses the output until it settles. */
  onOutput: OnOutput;
  /** Abort = cancel: the remote process group is killed, result.cancelled is true. */
  signal?: AbortSignal;
  /** After this the remote process group is killed and result.timedOut is true. */
  timeoutMs?: number;
  /** Wait after SIGTERM before SIGKILL, and after SIGKILL before giving up (default 2 s). */
  killGraceMs?: number;
}

export interface RemoteCommandResult {
  /** null when the command was killed by a signal or never reported a status. */
  exitCode: number | null;
  /** e.g. 'SIGTERM' when the remote shell died of a signal. */
  signal?: string;
  timedOut: boolean;
  cancelled: boolean;
}

type StopReason = 'timeout' | 'cancel' | 'output-failed';
type ExitStatus = { code: number } | { code: null; signal: string };

/** ssh2 calls 'close' with (code) or (null, 'SIGxxx', ...), or no status if the server sent none. */
function exitFromCloseArgs([code, signal]: unknown[]): ExitStatus | undefined {
  if (typeof code === 'number') return { code };
  if (code === null && typeof signal === 'string') return { code: null, signal };
  return undefined;
}

/**
 * Rejects with SshTransportError when the channel cannot be opened (the command did not start),
 * SshCommandLostError when the connection dies while it runs, or onOutput's own error.
 */
export async function runRemoteCommand(conn: SshConnection, command: string, opts: RunRemoteCommandOptions): Promise<RemoteCommandResult> {
  if (opts.signal?.aborted) return { exitCode: null, timedOut: false, cancelled: true };
  const channel = await conn.exec(wrapCommand(command));
  return supervise(conn, channel, opts);
}

function supervise(conn: SshConnection, channel: ClientChannel, opts: RunRemoteCommandOptions): Promise<RemoteCommandResult> {
  const graceMs = opts.killGraceMs ?? 2_000;
  let exit: ExitStatus | undefined;
  let stopReason: StopReason | undefined;
  let pgid: number | undefined;
  let finished = false;

  const closed = Promise.all([
    // Read the exit status from 'close', not 'exit': ssh2 may emit 'exit' while the exec
    // promise is still resolving (same socket read), before any listener here exists.
    new Promise<void>((resolve) =>
      channel.once('close', (...args: unknown[]) => {
        exit = exitFromCloseArgs(args);
        resolve();
      }),
    ),
    new Promise<void>((resolve) => channel.stderr.once('close', () => resolve())),
  ]).then(() => {
    finished = true;
  });

  const splitter = new PgidLineSplitter();
  const pump = new OutputPump(opts.onOutput, [channel, channel.stderr], () => requestStop('output-failed'));

  channel.on('data', (chunk: Buffer) => {
    const { pgid: found, output } = splitter.push(chunk);
    for (const part of output) pump.deliver('stdout', part);
    if (found !== undefined) {
      pgid = found;
      if (stopReason) void killGroup(found);
    }
  });
  channel.on('end', () => {
    for (const part of splitter.end()) pump.deliver('stdout', part);
  });
  channel.stderr.on('data', (chunk: Buffer) => pump.deliver('stderr', chunk));
  // We never send input: EOF on stdin at once, so a command that reads it does not hang.
  channel.end();

  function requestStop(reason: StopReason): void {
    if (stopReason || finished) return;
    stopReason = reason;
    if (pgid !== undefined) {
      void killGroup(pgid);
    } else {
      // The PGID line normally arrives first; if it never does, at least drop the channel.
      void waitClosed(graceMs).then((done) => {
        if (!done) channel.close();
      });
    }
  }

  // SIGTERM the group, then SIGKILL, then stop waiting for a channel something still holds open.
  async function killGroup(group: number): Promise<void> {
    for (const signal of ['TERM', 'KILL'] as const) {
      if (finished) return;
      await sendOnSecondChannel(killGroupCommand(group, signal));
      if (await waitClosed(graceMs)) return;
    }
    channel.close();
  }

  async function sendOnSecondChannel(command: string): Promise<void> {
    try {
      const side = await conn.exec(command);
      side.resume();
      side.stderr.resume();
      side.end();
      await new Promise<void>((resolve) => side.once('close', () => resolve()));
    } catch {
      // No second channel (connection gone or MaxSessions): the grace timer still ends the wait.
    }
  }

  function waitClosed(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    return Promise.race([closed.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => requestStop('timeout'), opts.timeoutMs);
  const onAbort = (): void => requestStop('cancel');
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  return closed
    .then(() => pump.idle())
    .then(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (pump.error) throw pump.error.cause;
      if (exit === undefined && stopReason === undefined && conn.closed) {
        throw new SshCommandLostError(`connection to ${conn.host}:${conn.port} lost while the command ran; its outcome is unknown`, conn.host, conn.port);
      }
      return {
        exitCode: exit?.code ?? null,
        ...(exit?.code === null ? { signal: exit.signal } : {}),
        timedOut: stopReason === 'timeout',
        cancelled: stopReason === 'cancel',
      };
    });
}
