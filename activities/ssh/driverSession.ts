// One batch's exec channel: starts the step driver, hands its output and markers to the caller
// in arrival order (with backpressure), says `go` or ends the batch, and kills a step's
// process group over a second channel of the same connection.
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './connection';
import { driverCommand, MarkerSplitter, type DriverItem } from './driver';
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

  private constructor(
    private readonly conn: SshConnection,
    private readonly channel: ClientChannel,
    nonce: string,
    onEvent: (event: DriverEvent) => void | Promise<void>,
    private readonly graceMs: number,
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
    channel.write(`${nonce}\n`);
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

  /** Opens the channel; rejects with SshTransportError when it cannot (nothing started). */
  static async open(
    conn: SshConnection,
    commands: readonly string[],
    nonce: string,
    onEvent: (event: DriverEvent) => void | Promise<void>,
    graceMs = 2_000,
  ): Promise<DriverSession> {
    const channel = await conn.exec(driverCommand(commands));
    return new DriverSession(conn, channel, nonce, onEvent, graceMs);
  }

  /** Lets the driver start its next step. */
  go(): void {
    if (!this.finished) this.channel.write('go\n');
  }

  /** No further step: the driver exits once the running one (if any) has ended. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.channel.end();
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
