// One batch's exec channel: starts the step driver, hands its output and markers to the caller
// in arrival order (with backpressure), says `go` or ends the batch, and kills a step's
// process group over a second channel of the same connection.
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './connection';
import { driverCommand, MarkerSplitter, type DriverItem, type DriverStep } from './driver';
import { ItemPump, type OutputStream } from './output-pump';
import { killGroupCommand } from './remote-script';

export type DriverEvent = { stream: OutputStream; item: DriverItem };

export interface DriverEnd {
  /** The channel's exit status, when the server sent one (the driver exited). */
  exitCode: number | null;
  signal?: string;
  /** The connection died before the driver's exit was reported. */
  lost: boolean;
}

export class DriverSession {
  /** Resolves once the channel has closed and every event was handled. */
  readonly ended: Promise<DriverEnd>;
  private readonly pump: ItemPump<DriverEvent>;
  private finished = false;
  private closedFlag = false;
  private nonceLine: string;

  private constructor(
    private readonly conn: SshConnection,
    private readonly channel: ClientChannel,
    nonce: string,
    onEvent: (event: DriverEvent) => void | Promise<void>,
    private readonly graceMs: number,
    private readonly removeOnEnd: readonly string[],
  ) {
    let exit: { code: number } | { code: null; signal: string } | undefined;
    const closed = Promise.all([
      new Promise<void>((resolve) =>
        channel.once('close', (...args: unknown[]) => {
          const [code, signal] = args;
          if (typeof code === 'number') exit = { code };
          else if (code === null && typeof signal === 'string') exit = { code: null, signal };
          resolve();
        }),
      ),
      new Promise<void>((resolve) => channel.stderr.once('close', () => resolve())),
    ]).then(() => {
      this.closedFlag = true;
    });
    this.pump = new ItemPump(onEvent, [channel, channel.stderr], () => this.finish());
    const out = new MarkerSplitter(nonce);
    const err = new MarkerSplitter(nonce);
    const deliver = (stream: OutputStream, items: DriverItem[]): void => {
      for (const item of items) this.pump.push({ stream, item });
    };
    channel.on('data', (chunk: Buffer) => deliver('stdout', out.push(chunk)));
    channel.on('end', () => deliver('stdout', out.end()));
    channel.stderr.on('data', (chunk: Buffer) => deliver('stderr', err.push(chunk)));
    channel.stderr.on('end', () => deliver('stderr', err.end()));
    this.nonceLine = `${nonce}\n`; // sent with the first line the driver reads after it
    this.ended = closed
      .then(() => this.pump.idle())
      .then(() => {
        if (this.pump.error) throw this.pump.error.cause;
        return {
          exitCode: exit?.code ?? null,
          ...(exit?.code === null ? { signal: exit.signal } : {}),
          lost: exit === undefined && conn.closed,
        };
      });
  }

  /**
   * Opens the channel; rejects with SshTransportError when it cannot (nothing started).
   * `removeOnEnd`: journals of steps outside this batch's that `finish(true)` removes as well
   * (an earlier try ran them and was lost before it could).
   */
  static async open(
    conn: SshConnection,
    taskJournal: string,
    steps: readonly DriverStep[],
    nonce: string,
    onEvent: (event: DriverEvent) => void | Promise<void>,
    opts: { graceMs?: number; removeOnEnd?: readonly string[] } = {},
  ): Promise<DriverSession> {
    const channel = await conn.exec(driverCommand(taskJournal, steps));
    return new DriverSession(conn, channel, nonce, onEvent, opts.graceMs ?? 2_000, opts.removeOnEnd ?? []);
  }

  /**
   * Lets the driver start its next step; `from` (bytes of stdout and stderr already stored) is
   * where to resume the output of a step an earlier try started, should its journal exist.
   */
  go(from?: { stdout: number; stderr: number }): void {
    if (!this.finished) this.channel.write(this.withNonce(from ? `go ${from.stdout} ${from.stderr}\n` : 'go\n'));
  }

  /**
   * No further step: the driver exits once the running one (if any) has ended. `recorded`: every
   * step that ended is stored, so the driver removes their journals; otherwise it keeps them.
   */
  finish(recorded = false): void {
    if (this.finished) return;
    this.finished = true;
    this.conn.inOneWrite(() => {
      if (recorded) this.channel.write(this.withNonce(['end', ...this.removeOnEnd].join(' ') + '\n'));
      this.channel.end();
    });
  }

  /** The driver's first line is the nonce: it goes in the same packet as the first command. */
  private withNonce(line: string): string {
    const text = this.nonceLine + line;
    this.nonceLine = '';
    return text;
  }

  /** SIGTERM the group, then SIGKILL while `running()` still says so; last, drop the channel. */
  async kill(pgid: number, running: () => boolean): Promise<void> {
    for (const signal of ['TERM', 'KILL'] as const) {
      if (!running() || this.closedFlag) return;
      await this.sendOnSecondChannel(killGroupCommand(pgid, signal));
      if (await this.settles(running)) return;
    }
    if (running()) this.channel.close();
  }

  private async sendOnSecondChannel(command: string): Promise<void> {
    try {
      const side = await this.conn.exec(command);
      side.resume();
      side.stderr.resume();
      side.end();
      await new Promise<void>((resolve) => side.once('close', () => resolve()));
    } catch {
      // No second channel (connection gone or MaxSessions): the grace timer still ends the wait.
    }
  }

  /** Waits up to the grace time for running() to turn false or the channel to close. */
  private async settles(running: () => boolean): Promise<boolean> {
    const deadline = Date.now() + this.graceMs;
    while (Date.now() < deadline) {
      if (!running() || this.closedFlag) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return !running() || this.closedFlag;
  }
}
