import { describe, expect, it } from 'vitest';
import { PgidLineSplitter } from '../../../activities/ssh/pgid-line';
import { killGroupCommand, shellQuote, wrapCommand } from '../../../activities/ssh/remote-script';

function feed(chunks: string[]): { pgid?: number; output: string } {
  const s = new PgidLineSplitter();
  let pgid: number | undefined;
  let output = '';
  for (const c of chunks) {
    const r = s.push(Buffer.from(c));
    if (r.pgid !== undefined) pgid = r.pgid;
    output += Buffer.concat(r.output).toString();
  }
  output += Buffer.concat(s.end()).toString();
  return { pgid, output };
}

describe('PgidLineSplitter', () => {
  it('takes the PGID line off the front of stdout', () => {
    expect(feed(['opsflow-pgid:4242\nhello\n'])).toEqual({ pgid: 4242, output: 'hello\n' });
  });

  it('copes with the line split across chunks at any byte', () => {
    const text = 'opsflow-pgid:77\nout';
    for (let i = 1; i < text.length; i++) {
      expect(feed([text.slice(0, i), text.slice(i)])).toEqual({ pgid: 77, output: 'out' });
    }
  });

  it('passes through noise an rc file printed first, in order', () => {
    expect(feed(['welcome!\nno newline', 'opsflow-pgid:9\nreal'])).toEqual({ pgid: 9, output: 'welcome!\nno newlinereal' });
  });

  it('returns everything when no PGID line ever comes', () => {
    expect(feed(['opsflow', '-pg'])).toEqual({ pgid: undefined, output: 'opsflow-pg' });
  });

  it('later lines that look like the marker are plain output', () => {
    expect(feed(['opsflow-pgid:5\nopsflow-pgid:6\n'])).toEqual({ pgid: 5, output: 'opsflow-pgid:6\n' });
  });
});

describe('remote scripts', () => {
  it('quotes anything into one literal shell word', () => {
    expect(shellQuote(`it's $(rm -rf /) "x"`)).toBe(`'it'\\''s $(rm -rf /) "x"'`);
    expect(wrapCommand('echo hi')).toBe(`printf 'opsflow-pgid:%s\\n' "$$"; eval 'echo hi'`);
  });

  it('never signals group 0, 1 or a non-integer', () => {
    expect(killGroupCommand(1234, 'TERM')).toBe('kill -s TERM -- -1234');
    for (const bad of [0, 1, -5, 1.5, NaN]) expect(() => killGroupCommand(bad, 'KILL')).toThrow();
  });
});
