// Delivers stdout/stderr chunks to the caller one at a time, in arrival order. While an
// async onOutput is pending, the channel streams are paused; ssh2 then stops granting SSH
// window, so the server stops sending and memory stays bounded whatever the output size.
import type { Readable } from 'node:stream';

export type OutputStream = 'stdout' | 'stderr';
export type OnOutput = (stream: OutputStream, chunk: Buffer) => void | Promise<void>;

export class OutputPump {
  private readonly queue: Array<[OutputStream, Buffer]> = [];
  private busy = false;
  private paused = false;
  private idleWaiters: Array<() => void> = [];
  /** The first error thrown or rejected by onOutput; later output is dropped. */
  error: { cause: unknown } | undefined;

  constructor(
    private readonly onOutput: OnOutput,
    private readonly sources: Readable[],
    private readonly onError: (err: unknown) => void,
  ) {}

  deliver(stream: OutputStream, chunk: Buffer): void {
    if (this.error) return;
    this.queue.push([stream, chunk]);
    if (!this.busy) this.drain();
  }

  /** Resolves when every delivered chunk has been handled. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    while (!this.error) {
      const next = this.queue.shift();
      if (next === undefined) break;
      let result: void | Promise<void>;
      try {
        result = this.onOutput(next[0], next[1]);
      } catch (err) {
        this.fail(err);
        break;
      }
      if (result instanceof Promise) {
        this.busy = true;
        this.setPaused(true);
        result.then(
          () => {
            this.busy = false;
            this.drain();
          },
          (err: unknown) => {
            this.busy = false;
            this.fail(err);
          },
        );
        return;
      }
    }
    if (!this.error) this.setPaused(false);
    this.notifyIdle();
  }

  private setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    for (const s of this.sources) {
      if (paused) s.pause();
      else s.resume();
    }
  }

  private fail(err: unknown): void {
    this.error = { cause: err };
    this.queue.length = 0;
    // Keep reading (and dropping) so the channel can still finish and close.
    this.setPaused(false);
    this.notifyIdle();
    this.onError(err);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
