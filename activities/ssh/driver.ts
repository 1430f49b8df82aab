// The step driver: a small POSIX-sh script that runs a host's batch of steps over ONE exec
// channel (docs/engine.md#the-step-driver), and the parser of the marker lines it prints.
//
// The step commands travel as the script's positional parameters (like a plain `ssh host cmd`,
// they are visible in the target's process list, as they were before batches). The per-batch
// nonce travels on stdin and is never exported, so no step can learn it and forge a marker.
// Before each step the driver reads one line from stdin: `go` runs the next step, anything
// else (or end of input) ends the batch. Each step runs as `$SHELL -c <command>` with stdin
// from /dev/null, under `setsid` where the target has it, so it is its own process group.
import { shellQuote } from './remote-script';

/**
 * `<nonce> s <i> <pgid>\n`  step i started; pgid is the group to signal to stop it (the
 *                          driver's own group where setsid is missing).
 * `<nonce> e <i> <rc>\n`    step i ended with exit status rc (stdout);
 * `<nonce> e <i>\n`         the same on stderr, so each stream's output is attributed in order.
 * A marker is found anywhere in a line: the start marker is printed while the step already runs,
 * and a step's last line need not end in a newline. Nothing is held back but what could be the
 * start of a marker, so output (newlines too) reaches the logs as it comes.
 */
const DRIVER = [
  'IFS= read -r n || exit 0',
  's=$(command -v setsid) || s=',
  'i=0',
  'for c do',
  '  IFS= read -r g || exit 0',
  '  [ "$g" = go ] || exit 0',
  '  $s "${SHELL:-/bin/sh}" -c "$c" </dev/null &',
  '  p=$!',
  '  if [ -n "$s" ]; then k=$p; else k=$$; fi',
  `  printf '%s s %s %s\\n' "$n" "$i" "$k"`,
  '  wait "$p"',
  '  r=$?',
  `  printf '%s e %s %s\\n' "$n" "$i" "$r"`,
  `  printf '%s e %s\\n' "$n" "$i" >&2`,
  '  i=$((i+1))',
  'done',
].join('\n');

/** The exec channel's command: the driver with the batch's step commands as its parameters. */
export function driverCommand(commands: readonly string[]): string {
  return `set -- ${commands.map(shellQuote).join(' ')}\n${DRIVER}`;
}

export type DriverMarker = { kind: 'start'; index: number; pgid: number } | { kind: 'end'; index: number; exitCode: number | null };

export type DriverItem = { kind: 'output'; data: Buffer } | DriverMarker;

const NEWLINE = 0x0a;

/**
 * Splits one stream (stdout or stderr) into output and markers, in order. A marker split across
 * chunks is held back until complete; a partial match that turns out not to be one is output.
 */
export class MarkerSplitter {
  private readonly prefix: Buffer;
  private pending: Buffer = Buffer.alloc(0);

  constructor(nonce: string) {
    this.prefix = Buffer.from(`${nonce} `);
  }

  push(chunk: Buffer): DriverItem[] {
    const items: DriverItem[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const at = buf.indexOf(this.prefix);
      if (at < 0) {
        // Keep a tail that could be the start of a marker split across chunks.
        const keep = tailOverlap(buf, this.prefix);
        pushOutput(items, buf.subarray(0, buf.length - keep));
        this.pending = Buffer.from(buf.subarray(buf.length - keep));
        return items;
      }
      pushOutput(items, buf.subarray(0, at));
      const end = buf.indexOf(NEWLINE, at + this.prefix.length);
      if (end < 0) {
        this.pending = Buffer.from(buf.subarray(at));
        return items;
      }
      const marker = parseMarker(buf.toString('ascii', at + this.prefix.length, end));
      // A line with the nonce that does not parse cannot come from the driver: keep it as output.
      if (marker) items.push(marker);
      else pushOutput(items, buf.subarray(at, end + 1));
      buf = buf.subarray(end + 1);
    }
  }

  /** Whatever is held back when the stream ends. */
  end(): DriverItem[] {
    const items: DriverItem[] = [];
    pushOutput(items, this.pending);
    this.pending = Buffer.alloc(0);
    return items;
  }
}

function parseMarker(text: string): DriverMarker | null {
  const [kind, index, value, ...rest] = text.split(' ');
  const i = Number(index);
  if (rest.length > 0 || !Number.isInteger(i) || i < 0) return null;
  if (kind === 's') {
    const pgid = Number(value);
    return Number.isInteger(pgid) && pgid > 1 ? { kind: 'start', index: i, pgid } : null;
  }
  if (kind === 'e') {
    if (value === undefined) return { kind: 'end', index: i, exitCode: null };
    const code = Number(value);
    return Number.isInteger(code) && code >= 0 ? { kind: 'end', index: i, exitCode: code } : null;
  }
  return null;
}

/** Length of the longest suffix of buf that is a proper prefix of marker. */
function tailOverlap(buf: Buffer, marker: Buffer): number {
  for (let n = Math.min(buf.length, marker.length - 1); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(marker.subarray(0, n))) return n;
  }
  return 0;
}

function pushOutput(items: DriverItem[], data: Buffer): void {
  if (data.length > 0) items.push({ kind: 'output', data: Buffer.from(data) });
}
