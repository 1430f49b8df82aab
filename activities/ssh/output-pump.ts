// Delivers stdout/stderr chunks to the caller one at a time, in arrival order. While an
// async onOutput is pending, the channel streams are paused; ssh2 then stops granting SSH
// window, so the server stops sending and memory stays bounded whatever the output size.
import type { Readable } from 'node:stream';

export type OutputStream = 'stdout' | 'stderr';
export type OnOutput = (stream: OutputStream, chunk: Buffer) => void | Promise<void>;

/** Hands items to one handler at a time, in order, pausing the sources while it is busy. */
export class ItemPump<T> {
  private readonly queue: T[] = [];
  private busy = false;
  private paused = false;
  private idleWaiters: Array<() => void> = [];
  /** The first error thrown or rejected by onOutput; later output is dropped. */
  error: { cause: unknown } | undefined;

  constructor(
    private readonly handle: (item: T) => void | Promise<void>,
    private readonly sources: Readable[],
    private readonly onError: (err: unknown) => void,
  ) {}

  push(item: T): void {
    if (this.error) return;
    this.queue.push(item);
    if (!this.busy) this.drain();
  }

  /** Resolves when every delivered chunk has been handled. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    while (!this.error) {
      if (this.queue.length === 0) break;
      const next = this.queue.shift() as T;
      let result: void | Promise<void>;
      try {
        result = this.handle(next);
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

/** Output chunks of a command's stdout and stderr, one at a time. */
export class OutputPump extends ItemPump<[OutputStream, Buffer]> {
  constructor(onOutput: OnOutput, sources: Readable[], onError: (err: unknown) => void) {
    super(([stream, chunk]) => onOutput(stream, chunk), sources, onError);
  }

  deliver(stream: OutputStream, chunk: Buffer): void {
    this.push([stream, chunk]);
  }
}
