// The step driver: a small POSIX-sh script that runs a host's batch of steps over ONE exec
// channel (docs/engine.md#the-step-driver), and the parser of the marker lines it prints.
//
// The step commands travel as the script's positional parameters (like a plain `ssh host cmd`,
// they are visible in the target's process list, as they were before batches). The per-batch
// nonce travels on stdin and is never exported, so no step can learn it and forge a marker.
// Before each step the driver reads one line from stdin: `go` runs the next step, `end` removes
// the journals of the steps the worker has recorded and ends the batch, anything else (or end of
// input: the worker is gone) ends it and keeps them. `end` may name more journals to remove: those
// of steps an earlier try of the batch ran and the worker recorded before that try was lost.
//
// Each step keeps a journal on the host (docs/engine.md#the-journal-on-the-host), files named
// `$HOME/.opsflow/journal/<task>-<created µs>/<step run>-<attempt>.*` (in a private directory
// under $TMPDIR or /tmp for an account whose home cannot be written). Creating its `.pid` file
// (noclobber: it fails if the file exists) claims the step; `.pid` then holds the step's process
// group and the driver's PID. The step's stdout and stderr are two FIFOs the driver makes once per
// batch (`<driver PID>.po`, `.pe`); a `tee` per stream and step copies from them to `.out`/`.err`
// and to the channel, ignoring a broken channel, so a lost worker never kills the step through
// SIGPIPE; `.rc` holds the exit status, written before the end markers. When `.pid` exists already
// an earlier try started the step: the driver follows its journal instead (output after the
// offsets given in `go <out bytes> <err bytes>`) until `.rc` appears.
import { shellQuote } from './remote-script';

/**
 * `<nonce> s <i> <pgid>\n`  step i started; pgid is the group to signal to stop it (the
 *                          driver's own group where setsid is missing).
 * `<nonce> r <i>\n`         step i had been started by an earlier try: its journal is followed.
 * `<nonce> e <i> <rc>\n`    step i ended with exit status rc (stdout);
 * `<nonce> e <i> u\n`       a followed step ended but its journal has no exit status (its driver
 *                          was killed before it could write one);
 * `<nonce> e <i>\n`         the same on stderr, so each stream's output is attributed in order.
 * A marker is found anywhere in a line: the start marker is printed while the step already runs,
 * and a step's last line need not end in a newline. Nothing is held back but what could be the
 * start of a marker, so output (newlines too) reaches the logs as it comes.
 */
const DRIVER = String.raw`t=$1; shift
IFS= read -r n || exit 0
s=; command -v setsid >/dev/null && s=setsid
J=$HOME/.opsflow/journal
if ! { [ -d "$J" ] || mkdir -p "$J" 2>/dev/null; } || [ ! -w "$J" ]; then
  J=${"$"}{TMPDIR:-/tmp}/opsflow-journal-$(id -u)
  { [ -d "$J" ] || mkdir -m 700 "$J"; } && [ -O "$J" ] && [ ! -L "$J" ] || { echo "opsflow: no place for step journals ($HOME/.opsflow/journal, $J)" >&2; exit 1; }
fi
J=$J/$t
f=$J/$$
F=
L=
i=0
fin() {
  if [ "$g" = end ] && cd "$J" 2>/dev/null; then
    # "end <journal> ...": journals of steps an earlier, lost driver ran and the worker recorded.
    for x in $o $e; do case $x in *[!0-9-]*) ;; *) L="$L $x.out $x.err $x.pid $x.rc" ;; esac; done
    # FIFOs of drivers that are gone (they die of SIGPIPE once their worker is lost) go too.
    for x in *.po; do [ -p "$x" ] && ! kill -s 0 "${"$"}{x%.po}" 2>/dev/null && L="$L $x ${"$"}{x%.po}.pe"; done
    rm -f -- $L $F; cd / && rmdir -- "$J" 2>/dev/null
  elif [ -n "$F" ] && cd "$J" 2>/dev/null; then
    rm -f -- $F; cd / && rmdir -- "$J" 2>/dev/null
  fi
  exit 0
}
claim() {
  set -C
  { echo "- $$" >"$d.pid"; } 2>/dev/null
  x=$?
  set +C
  return $x
}
more() {
  [ -f "$1" ] || return 0
  z=$(($(wc -c <"$1")))
  [ "$z" -gt "$2" ] && tail -c +$(($2 + 1)) "$1" | head -c $((z - $2))
  return 0
}
while [ $# -gt 1 ]; do
  d=$J/$1; c=$2; m=$1; shift 2
  IFS=' ' read -r g o e || g=
  [ "$g" = go ] || fin
  if [ -z "$F" ]; then
    mkfifo "$f.po" "$f.pe" 2>/dev/null || { mkdir -p "$J" && rm -f -- "$f.po" "$f.pe" && mkfifo "$f.po" "$f.pe"; } || { echo "opsflow: cannot create the FIFOs $f.po, $f.pe" >&2; exit 1; }
    F="$$.po $$.pe"
  fi
  if claim; then
    (trap '' PIPE; exec tee "$d.out") <"$f.po" &
    a=$!
    (trap '' PIPE; exec tee "$d.err" >&2) <"$f.pe" &
    b=$!
    $s "${"$"}{SHELL:-/bin/sh}" -c "$c" </dev/null >"$f.po" 2>"$f.pe" &
    p=$!
    if [ -n "$s" ]; then k=$p; else k=$$; fi
    echo "$k $$" >"$d.pid"
    printf '%s s %s %s\n' "$n" "$i" "$k"
    wait "$p"
    r=$?
    wait "$a"
    wait "$b"
    echo "$r" >"$d.rc"
  elif [ -f "$d.pid" ]; then
    printf '%s r %s\n' "$n" "$i"
    k=; q=; r=u; w=0
    # A claim just made holds "- <driver PID>" (or nothing yet) until its step runs: wait for that.
    while read -r k q <"$d.pid"; { [ -z "$k" ] || [ "$k" = - ]; } && [ "$w" -lt 50 ] && { [ -z "$q" ] || kill -s 0 "$q" 2>/dev/null; }; do
      sleep 0.1 2>/dev/null || sleep 1
      w=$((w+1))
    done
    [ "$k" = - ] && k=
    [ -n "$k" ] && printf '%s s %s %s\n' "$n" "$i" "$k"
    o=${"$"}{o:-0}; e=${"$"}{e:-0}
    while :; do
      h=
      if [ -s "$d.rc" ]; then h=1
      elif ! { [ -n "$q" ] && kill -s 0 "$q" 2>/dev/null; } && ! { [ -n "$k" ] && kill -s 0 -- "-$k" 2>/dev/null; }; then h=2
      fi
      more "$d.out" "$o"; o=${"$"}{z:-$o}; z=
      more "$d.err" "$e" >&2; e=${"$"}{z:-$e}; z=
      [ -n "$h" ] && break
      sleep 0.2 2>/dev/null || sleep 1
    done
    [ "$h" = 1 ] && read -r r <"$d.rc"
  else
    echo "opsflow: cannot create the journal $d.pid" >&2
    rm -f -- "$f.po" "$f.pe"
    exit 1
  fi
  printf '%s e %s %s\n' "$n" "$i" "$r"
  printf '%s e %s\n' "$n" "$i" >&2
  L="$L $m.out $m.err $m.pid $m.rc"
  i=$((i+1))
done
IFS=' ' read -r g o e || g=
fin`;

/** One step of a batch: its journal's name on the host and its command line. */
export interface DriverStep {
  journal: string;
  command: string;
}

/**
 * The exec channel's command: the driver with the task's journal directory name and the batch's
 * steps as parameters. sshd starts it with the exec user's login shell, which hands it to /bin/sh
 * (same PID, so the same process group): the driver forks a subshell for each `tee`, and a bash
 * fork costs ≈ 1.5 ms more per step than a dash one (bench:driver). The steps still run in the
 * login shell (`$SHELL -c`), as a plain `ssh host command` would run them.
 */
export function driverCommand(taskJournal: string, steps: readonly DriverStep[]): string {
  const params = steps.flatMap((s) => [shellQuote(s.journal), shellQuote(s.command)]);
  return `exec /bin/sh -c ${shellQuote(DRIVER)} opsflow-driver ${shellQuote(taskJournal)} ${params.join(' ')}`;
}

/**
 * The task's journal directory name: its id and its creation time (microseconds), so two
 * installations (or two test databases) whose task ids coincide never share a journal on a host,
 * and the name stays the same across the workflow's runs (continue-as-new).
 */
export function taskJournalName(taskId: number, createdMicros: string): string {
  if (!/^[0-9]+$/.test(createdMicros)) throw new Error(`unexpected task creation time ${JSON.stringify(createdMicros)}`);
  return `${taskId}-${createdMicros}`;
}

/** The journal's name of one step run's attempt (its files' stem in the task's directory). */
export function journalName(runId: number, attempt: number): string {
  return `${runId}-${attempt}`;
}

export type DriverMarker =
  | { kind: 'start'; index: number; pgid: number }
  | { kind: 'recovering'; index: number }
  /** exitCode null: the stderr marker, or `lost` when the journal had no exit status. */
  | { kind: 'end'; index: number; exitCode: number | null; lost?: boolean };

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
  if (kind === 'r') return value === undefined ? { kind: 'recovering', index: i } : null;
  if (kind === 'e') {
    if (value === undefined) return { kind: 'end', index: i, exitCode: null };
    if (value === 'u') return { kind: 'end', index: i, exitCode: null, lost: true };
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
