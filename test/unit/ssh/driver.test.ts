// The step driver's marker parser: output and markers in order whatever the chunk boundaries.
import { describe, expect, it } from 'vitest';
import { MarkerSplitter, driverCommand, journalName, taskJournalName, type DriverItem } from '../../../activities/ssh/driver';

const N = '0f1e2d3c4b5a69788796a5b4';

/** Output bytes are joined before decoding (the log writer keeps split UTF-8 sequences whole). */
function render(items: DriverItem[]): string {
  const parts: Buffer[] = [];
  for (const i of items) {
    if (i.kind === 'output') parts.push(i.data);
    else if (i.kind === 'start') parts.push(Buffer.from(`<s${i.index}:${i.pgid}>`));
    else if (i.kind === 'recovering') parts.push(Buffer.from(`<r${i.index}>`));
    else parts.push(Buffer.from(`<e${i.index}:${i.lost ? 'lost' : i.exitCode}>`));
  }
  return Buffer.concat(parts).toString();
}

/** Feeds the stream in pieces of `size` bytes and merges adjacent output for comparison. */
function parse(stream: string, size: number): string {
  const splitter = new MarkerSplitter(N);
  const bytes = Buffer.from(stream);
  const items: DriverItem[] = [];
  for (let i = 0; i < bytes.length; i += size) items.push(...splitter.push(bytes.subarray(i, i + size)));
  items.push(...splitter.end());
  return render(items);
}

describe('MarkerSplitter', () => {
  const cases: [string, string][] = [
    // Output that ends in a newline, and output that does not.
    [`${N} s 0 123\nhello\n${N} e 0 0\n`, '<s0:123>hello\n<e0:0>'],
    [`${N} s 0 123\nno newline${N} e 0 3\n`, '<s0:123>no newline<e0:3>'],
    // The start marker lands in the middle of the step's own line (it runs already).
    [`ab${N} s 1 99\ncd\n${N} e 1 0\n`, 'ab<s1:99>cd\n<e1:0>'],
    // Lines that look like markers without the nonce, or with it but malformed, are output.
    [`${N} s 0 5\nxx e 0 0\n${N} bogus\n${N} e 0 0\n`, `<s0:5>xx e 0 0\n${N} bogus\n<e0:0>`],
    // The stderr form carries no exit status.
    [`oops\n${N} e 2\n`, 'oops\n<e2:null>'],
    // Blank lines are output; no output at all is none.
    [`${N} s 0 7\n\n\n${N} e 0 1\n`, '<s0:7>\n\n<e0:1>'],
    [`${N} s 0 7\n${N} e 0 1\n`, '<s0:7><e0:1>'],
    // A step followed through its journal; one whose journal has no exit status.
    [`${N} r 0\n${N} s 0 7\nrest\n${N} e 0 4\n`, '<r0><s0:7>rest\n<e0:4>'],
    [`${N} r 1\n${N} e 1 u\n`, '<r1><e1:lost>'],
  ];
  it.each(cases)('parses %j in any chunking', (stream, expected) => {
    for (let size = 1; size <= stream.length; size++) expect(parse(stream, size)).toBe(expected);
  });

  it('keeps multi-byte text whole across chunks', () => {
    expect(parse(`${N} s 0 7\n这是任务名字 😀\n${N} e 0 0\n`, 3)).toBe('<s0:7>这是任务名字 😀\n<e0:0>');
  });

  it('passes a line on at once, its newline included (live logs)', () => {
    const splitter = new MarkerSplitter(N);
    expect(render(splitter.push(Buffer.from('tick 1\n')))).toBe('tick 1\n');
  });
});

describe('driverCommand', () => {
  it('passes the task id, then each step’s journal name and command, each one quoted parameter', () => {
    const steps = [
      { journal: journalName(11, 1), command: "echo 'a b'" },
      { journal: journalName(12, 2), command: 'exit 3' },
    ];
    const command = driverCommand(taskJournalName(7, '1764770000123456'), steps);
    // The login shell hands the driver script to /bin/sh, the parameters after it.
    expect(command.startsWith("exec /bin/sh -c 't=$1; shift\n")).toBe(true);
    expect(command.endsWith(`' opsflow-driver '7-1764770000123456' '11-1' 'echo '\\''a b'\\''' '12-2' 'exit 3'`)).toBe(true);
  });
});
