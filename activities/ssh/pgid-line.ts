// Separates the wrapper's PGID line from the command's own stdout. Anything the login
// shell's rc files print before it is passed through as output, in order.
import { PGID_MARKER } from './remote-script';

const MARKER = Buffer.from(PGID_MARKER);
const NEWLINE = 0x0a;

export interface SplitResult {
  /** Set once, on the push that completes the PGID line. */
  pgid?: number;
  /** Command output to forward, in order. */
  output: Buffer[];
}

export class PgidLineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private found = false;

  push(chunk: Buffer): SplitResult {
    if (this.found) return { output: [chunk] };
    const buf = Buffer.concat([this.pending, chunk]);
    const at = buf.indexOf(MARKER);
    if (at < 0) {
      // Hold back a tail that could be the start of a marker split across chunks.
      const keep = Math.min(buf.length, MARKER.length - 1);
      this.pending = buf.subarray(buf.length - keep);
      return { output: nonEmpty(buf.subarray(0, buf.length - keep)) };
    }
    const end = buf.indexOf(NEWLINE, at);
    if (end < 0) {
      this.pending = buf.subarray(at);
      return { output: nonEmpty(buf.subarray(0, at)) };
    }
    this.found = true;
    this.pending = Buffer.alloc(0);
    const pgid = Number(buf.toString('ascii', at + MARKER.length, end).trim());
    return {
      pgid: Number.isInteger(pgid) && pgid > 1 ? pgid : undefined,
      output: [...nonEmpty(buf.subarray(0, at)), ...nonEmpty(buf.subarray(end + 1))],
    };
  }

  /** Whatever is still held back when stdout ends without a PGID line. */
  end(): Buffer[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return nonEmpty(rest);
  }
}

function nonEmpty(buf: Buffer): Buffer[] {
  return buf.length > 0 ? [buf] : [];
}
