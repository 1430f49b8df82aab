import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCommandLine, shellQuote, splitArgTokens } from '../../../src/domain/shellQuote';

// Quoting is proven against a real POSIX shell (Debian's /bin/sh is dash; bash is checked too where present).
const shells = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));

function run(shell: string, script: string, cwd?: string): string {
  // stdin from /dev/null: on a socket (Node's pipes) bash assumes rshd and would source ~/.bashrc.
  return execFileSync(shell, ['-c', script], {
    encoding: 'utf8',
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
}

/** What the shell passes to printf once `value` is quoted: must be `value` itself. */
function echoed(shell: string, value: string, cwd?: string): string {
  return run(shell, `printf '%s\\n' ${shellQuote(value)}`, cwd).slice(0, -1);
}

const scratch = mkdtempSync(join(tmpdir(), 'opsflow-quote-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const injections = [
  "'; touch pwned; echo '",
  '"; touch pwned; echo "',
  '$(touch pwned)',
  '`touch pwned`',
  '${IFS}touch${IFS}pwned',
  'a\ntouch pwned',
  'a; touch pwned',
  'a && touch pwned',
  'a | tee pwned',
  '> pwned',
  '$HOME $PATH $0 $1 $@ $*',
  "'",
  "''",
  "\\'",
  '\\',
  '*',
  '~',
  '~root',
  '!',
  '#not a comment',
  '-n',
  '--help',
  ' leading and trailing ',
  '\t\r\n',
  'it\'s "quoted"',
  '这是任务名字',
  'FT-VA-01-web01,FT-VA-01-web02',
  'émoji 😀 \u2028 \u00a0',
  '',
];

describe('shellQuote', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('abc')).toBe('abc');
    expect(shellQuote('192.0.2.1,192.0.2.2')).toBe('192.0.2.1,192.0.2.2');
    expect(shellQuote('/opt/app-1/run.sh')).toBe('/opt/app-1/run.sh');
    expect(shellQuote('--key=value')).toBe('--key=value');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(id)')).toBe("'$(id)'");
    expect(shellQuote('中文')).toBe("'中文'");
  });

  it('refuses NUL bytes', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL byte/);
  });

  for (const shell of shells) {
    it.each(injections)(`${shell} sees %j literally`, (value) => {
      expect(echoed(shell, value, scratch)).toBe(value);
      expect(readdirSync(scratch)).toEqual([]);
    });

    it(`${shell} sees arbitrary strings literally`, () => {
      fc.assert(
        fc.property(fc.string({ unit: fc.oneof(fc.constantFrom("'", '"', '\\', '$', '`', '\n', ' ', '*', ';'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }), (raw) => {
          const value = raw.replaceAll('\0', '');
          expect(echoed(shell, value, scratch)).toBe(value);
        }),
        { numRuns: 50 },
      );
      expect(readdirSync(scratch)).toEqual([]);
    });
  }
});

describe('splitArgTokens', () => {
  it('splits on any whitespace and drops empties', () => {
    expect(splitArgTokens('HOSTNAME  INSTANCE_TYPE\tFLOW_ID\n')).toEqual(['HOSTNAME', 'INSTANCE_TYPE', 'FLOW_ID']);
    expect(splitArgTokens('')).toEqual([]);
    expect(splitArgTokens('   ')).toEqual([]);
    expect(splitArgTokens(null)).toEqual([]);
    expect(splitArgTokens(undefined)).toEqual([]);
  });
});

describe('buildCommandLine', () => {
  const values = {
    HOSTNAME: 'FT-VA-01-web01,FT-VA-01-web02',
    NAME: "'; touch pwned; echo '",
    EMPTY: '',
    CN: '这是任务名字',
    FLOW_ID: '291',
  };

  it('replaces argument names with their quoted values and quotes literal tokens', () => {
    expect(buildCommandLine('bash /opt/deploy.sh', ['HOSTNAME', 'FLOW_ID', '--force'], values)).toBe(
      'bash /opt/deploy.sh FT-VA-01-web01,FT-VA-01-web02 291 --force',
    );
    expect(buildCommandLine('echo', ['NAME', 'EMPTY', '$(id)'], values)).toBe(
      "echo ''\\''; touch pwned; echo '\\''' '' '$(id)'",
    );
    expect(buildCommandLine('uname -a', [], values)).toBe('uname -a');
  });

  it('ignores inherited object keys', () => {
    expect(buildCommandLine('echo', ['toString', '__proto__'], {})).toBe('echo toString __proto__');
  });

  it('refuses an empty command or a NUL byte', () => {
    expect(() => buildCommandLine('  ', ['HOSTNAME'], values)).toThrow(/empty/);
    expect(() => buildCommandLine('echo\0', [], values)).toThrow(/NUL/);
    expect(() => buildCommandLine('echo', ['X'], { X: 'a\0' })).toThrow(/NUL/);
  });

  it('delivers every value to the remote program as one argument, unchanged', () => {
    const line = buildCommandLine("printf '%s\\n'", ['HOSTNAME', 'NAME', 'EMPTY', 'CN', 'FLOW_ID', 'literal;token'], values);
    for (const shell of shells) {
      expect(run(shell, line, scratch)).toBe(
        [values.HOSTNAME, values.NAME, '', values.CN, '291', 'literal;token'].map((v) => `${v}\n`).join(''),
      );
    }
    expect(readdirSync(scratch)).toEqual([]);
  });
});
