// Streams a step's output into step_logs in order, in batches, with bounded memory:
// write() returns a promise (backpressure) once the unflushed buffer is large. One batch is
// inserted while the next one fills, so reading the output and writing PostgreSQL overlap;
// the producer waits only when a full batch is ready and the previous insert is still running.
// While PostgreSQL is away (restarting) an insert waits and tries again, so the output is stored
// complete afterwards, and the producer is held once two batches' worth is waiting.
// A step's last rows can instead be handed to the statement that records its end (finish()).
import { StringDecoder } from 'node:string_decoder';
import { sql, type RawBuilder } from 'kysely';
import { whileDatabaseUnavailable } from '../src/db/availability';
import type { Db } from '../src/db/database';

type Stream = 'stdout' | 'stderr' | 'system';

/** Log rows of one step run's attempt, numbered, not yet stored. */
export interface StepLogRows {
  stepRunId: number;
  attempt: number;
  rows: { seq: number; stream: Stream; chunk: string }[];
}

/**
 * The INSERT of those rows, also usable as a data-modifying CTE. Safe to repeat: a retry after a
 * cut connection may find them committed already (same run, attempt, seq). Raw SQL because
 * kysely's insert builder cost ≈ 0.2 ms of CPU per statement in a profile of the worker.
 */
export function insertLogRows({ stepRunId, attempt, rows }: StepLogRows): RawBuilder<unknown> {
  const values = sql.join(rows.map((r) => sql`(${stepRunId}, ${attempt}, ${r.seq}, ${r.stream}, ${r.chunk})`));
  return sql`insert into step_logs (step_run_id, attempt, seq, stream, chunk) values ${values}
    on conflict on constraint step_logs_order do nothing`;
}

const FLUSH_BYTES = 256 * 1024; // buffer this much before making the producer wait
const ROW_BYTES = 64 * 1024; // merge consecutive same-stream output into rows up to this size
const FLUSH_INTERVAL_MS = 200; // so a slow trickle of output still shows up promptly
// The runner's own lines (the `[CMD]` header) wait longer for output to share an insert with: a
// short step then stores all its rows with its end, also when the machine is slow.
const SYSTEM_FLUSH_MS = 1000;

export class StepLogWriter {
  private pending: { stream: Stream; text: string }[] = [];
  private pendingBytes = 0;
  /** Handed to a flush that has not finished (it may wait for the database): counts against the bound too. */
  private queuedBytes = 0;
  private seq: number;
  private flushing: Promise<void> = Promise.resolve();
  /** Batches handed to flush() whose insert has not finished yet. */
  private inserting = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The timer was armed by a system line (SYSTEM_FLUSH_MS). */
  private slowTimer = false;
  private failure: Error | null = null;
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(
    private readonly db: Db,
    private readonly stepRunId: number,
    private readonly attempt: number,
    lastSeq: number,
    /** Aborts waiting for an unavailable database (the activity was cancelled). */
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
    if (this.pendingBytes >= FLUSH_BYTES) {
      // Wait for the insert before this batch, not for this batch's own: at most two batches
      // (one being inserted, one filling) are held at any time.
      const previous = this.inserting > 0 ? this.flushing : undefined;
      this.flush().catch(() => undefined); // its failure surfaces on the next write or close()
      return previous;
    }
    if (stream !== 'system' && this.slowTimer) this.clearTimer();
    if (!this.timer) {
      this.slowTimer = stream === 'system';
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.slowTimer ? SYSTEM_FLUSH_MS : FLUSH_INTERVAL_MS);
    }
    // Small timed flushes pile up while the database is away: hold the producer until they are written.
    if (this.queuedBytes + this.pendingBytes >= 2 * FLUSH_BYTES) return this.flushing;
  }

  /** Writes everything buffered so far (in order: one flush at a time). */
  flush(): Promise<void> {
    this.clearTimer();
    const batch = this.pending;
    const bytes = this.pendingBytes;
    this.queuedBytes += bytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inserting += 1;
    const write = async (): Promise<void> => {
      if (batch.length === 0) return;
      const rows = this.number(batch);
      try {
        await whileDatabaseUnavailable(() => insertLogRows(rows).execute(this.db), this.signal);
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        throw err;
      }
    };
    // After an earlier failure this batch is not written; either way it no longer counts.
    this.flushing = this.flushing.then(write).finally(() => {
      this.inserting -= 1;
      this.queuedBytes -= bytes;
    });
    return this.flushing;
  }

  /** Flushes the decoders' tails and the buffer. */
  async close(): Promise<void> {
    this.endDecoders();
    await this.flush();
  }

  /**
   * Ends the writer without a last insert: once every earlier flush is stored, returns the rows
   * still buffered, for the caller to store in the statement that records the step's end (one
   * statement instead of two; the rows still follow everything flushed before them).
   */
  async finish(): Promise<StepLogRows> {
    this.endDecoders();
    this.clearTimer();
    await this.flushing;
    if (this.failure) throw this.failure;
    const rows = this.number(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return rows;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private endDecoders(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const tail = this.decoders[stream].end();
      if (tail) void this.append(stream, tail);
    }
  }

  /** The next seqs for these buffered texts, as rows. */
  private number(batch: { stream: Stream; text: string }[]): StepLogRows {
    return {
      stepRunId: this.stepRunId,
      attempt: this.attempt,
      rows: batch.map((b) => ({
        seq: ++this.seq,
        stream: b.stream,
        // PostgreSQL text cannot hold NUL (scanning first: replace() would copy every row).
        chunk: b.text.includes('\0') ? b.text.replace(/\0/g, '\uFFFD') : b.text,
      })),
    };
  }
}
