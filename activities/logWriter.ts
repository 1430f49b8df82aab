// Streams a step's output into step_logs in order, in batches, with bounded memory:
// write() returns a promise (backpressure) once the unflushed buffer is large. While PostgreSQL
// is away (restarting) a flush waits and tries again, so the output is stored complete afterwards.
import { StringDecoder } from 'node:string_decoder';
import { whileDatabaseUnavailable } from '../src/db/availability';
import type { Db } from '../src/db/database';

type Stream = 'stdout' | 'stderr' | 'system';

const FLUSH_BYTES = 256 * 1024; // buffer this much before making the producer wait
const ROW_BYTES = 64 * 1024; // merge consecutive same-stream output into rows up to this size
const FLUSH_INTERVAL_MS = 200; // so a slow trickle of output still shows up promptly

export class StepLogWriter {
  private pending: { stream: Stream; text: string }[] = [];
  private pendingBytes = 0;
  /** Handed to a flush that has not finished (it may wait for the database): counts against the bound too. */
  private queuedBytes = 0;
  private seq: number;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(
    private readonly db: Db,
    private readonly stepRunId: number,
    private readonly attempt: number,
    lastSeq: number,
    /** Stops waiting for the database (the activity was cancelled or timed out). */
    private readonly signal?: AbortSignal,
  ) {
    this.seq = lastSeq;
  }

  /** Raw output from the remote command; UTF-8 sequences split across chunks are kept whole. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer): Promise<void> | void {
    return this.append(stream, this.decoders[stream].write(chunk));
  }

  system(text: string): Promise<void> | void {
    return this.append('system', text);
  }

  private append(stream: Stream, text: string): Promise<void> | void {
    if (this.failure) throw this.failure;
    if (text.length === 0) return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream && last.text.length + text.length <= ROW_BYTES) last.text += text;
    else this.pending.push({ stream, text });
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) return this.flush();
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_INTERVAL_MS);
    // Output a flush still holds (the database may be away) counts too: take no more until it is written.
    if (this.queuedBytes > 0 && this.pendingBytes + this.queuedBytes >= FLUSH_BYTES) return this.flushing;
  }

  /** Writes everything buffered so far (in order: one flush at a time). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.queuedBytes += bytes;
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      const rows = batch.map((b) => ({
        step_run_id: this.stepRunId,
        attempt: this.attempt,
        seq: ++this.seq,
        stream: b.stream,
        // PostgreSQL text cannot hold NUL.
        chunk: b.text.replace(/\0/g, '\uFFFD'),
      }));
      try {
        // A retry after a cut connection may find the rows already committed: same (run, attempt, seq).
        await whileDatabaseUnavailable(
          () => this.db.insertInto('step_logs').values(rows).onConflict((oc) => oc.constraint('step_logs_order').doNothing()).execute(),
          this.signal,
        );
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        this.queuedBytes -= bytes;
      }
    });
    return this.flushing;
  }

  /** Flushes the decoders' tails and the buffer. */
  async close(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const tail = this.decoders[stream].end();
      if (tail) void this.append(stream, tail);
    }
    await this.flush();
  }
}
