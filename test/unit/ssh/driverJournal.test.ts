// The step driver's journal, run by the real POSIX sh of this machine (as sshd would start it):
// files written per step, removal on `end`, and a second driver following a journal — finished,
// still running after its channel broke, or left without an exit status.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { driverCommand, journalName, MarkerSplitter, taskJournalName, type DriverItem } from '../../../activities/ssh/driver';

const N = 'a1b2c3d4e5f6a7b8c9d0e1f2';
const TASK = taskJournalName(7, '1764770000123456');
let home: string;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-journal-'));
});
afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

const journalDir = (): string => path.join(home, '.opsflow', 'journal', TASK);

/** Renders one stream's items as text with the markers spelled out. */
function render(items: DriverItem[]): string {
  return items
    .map((i) => {
      if (i.kind === 'output') return i.data.toString();
      if (i.kind === 'start') return `<s${i.index}>`;
      if (i.kind === 'recovering') return `<r${i.index}>`;
      return `<e${i.index}:${i.lost ? 'lost' : i.exitCode}>`;
    })
    .join('');
}

interface Run {
  stdout: string;
  stderr: string;
}

interface Driver {
  /** Writes one line to the driver's stdin. */
  send(line: string): void;
  /** Resolves once the rendered stdout contains text. */
  waitFor(text: string): Promise<void>;
  /** Ends stdin and resolves with both streams rendered once the driver has exited. */
  close(): Promise<Run>;
}

/** Starts the driver (as sshd would: the shell's -c) and sends the nonce. */
function startDriver(steps: { journal: string; command: string }[], shell = 'sh'): Driver {
  const child = spawn(shell, ['-c', driverCommand(TASK, steps)], { env: { ...process.env, HOME: home, SHELL: '/bin/sh' } });
  const out = new MarkerSplitter(N);
  const err = new MarkerSplitter(N);
  const items = { stdout: [] as DriverItem[], stderr: [] as DriverItem[] };
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (c: Buffer) => {
    items.stdout.push(...out.push(c));
    const rendered = render(items.stdout);
    for (const w of waiters.filter((x) => rendered.includes(x.text))) w.resolve();
  });
  child.stderr.on('data', (c: Buffer) => items.stderr.push(...err.push(c)));
  const closed = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      items.stdout.push(...out.end());
      items.stderr.push(...err.end());
      resolve({ stdout: render(items.stdout), stderr: render(items.stderr) });
    });
  });
  child.stdin.write(`${N}\n`);
  return {
    send: (line) => child.stdin.write(`${line}\n`),
    waitFor: (text) => new Promise((resolve) => (render(items.stdout).includes(text) ? resolve() : waiters.push({ text, resolve }))),
    close: () => {
      child.stdin.end();
      return closed;
    },
  };
}

/** Runs the driver with `lines` on stdin (after the nonce) and returns both streams rendered. */
function drive(steps: { journal: string; command: string }[], lines: string[], shell = 'sh'): Promise<Run> {
  const driver = startDriver(steps, shell);
  for (const line of lines) driver.send(line);
  return driver.close();
}

describe('the step driver’s journal', () => {
  // sshd starts the driver with the exec user's login shell (dash, bash), which hands it to /bin/sh.
  it.each(['sh', 'bash'])('journals each step (output, exit status) and removes the journals on `end`, under %s', async (shell) => {
    const steps = [
      { journal: journalName(11, 1), command: 'echo one; echo e1 >&2; exit 3' },
      { journal: journalName(12, 1), command: 'printf two' },
    ];
    const kept = await drive(steps, ['go', 'go'], shell);
    expect(kept.stdout).toBe('<s0>one\n<e0:3><s1>two<e1:0>');
    expect(kept.stderr).toBe('e1\n<e0:null><e1:null>');
    // Without `end` (the worker is gone) the journals stay.
    const dir = journalDir();
    expect(fs.readFileSync(path.join(dir, '11-1.out'), 'utf8')).toBe('one\n');
    expect(fs.readFileSync(path.join(dir, '11-1.err'), 'utf8')).toBe('e1\n');
    expect(fs.readFileSync(path.join(dir, '11-1.rc'), 'utf8')).toBe('3\n');
    expect(fs.readFileSync(path.join(dir, '12-1.rc'), 'utf8')).toBe('0\n');
    expect(fs.readFileSync(path.join(dir, '12-1.pid'), 'utf8')).toMatch(/^\d+ \d+\n$/);
    // The batch's FIFOs are gone with its driver; only the journals stay.
    expect(fs.readdirSync(dir).sort()).toEqual(['11-1.err', '11-1.out', '11-1.pid', '11-1.rc', '12-1.err', '12-1.out', '12-1.pid', '12-1.rc']);

    // A second driver finds them: it follows instead of running, from the given offsets, and
    // `end` then removes the journals and the task's directory.
    const marker = path.join(home, 'ran');
    const again = await drive(
      [
        { journal: journalName(11, 1), command: `echo x >> ${marker}` },
        { journal: journalName(12, 1), command: `echo x >> ${marker}` },
      ],
      ['go 2 0', 'go 0 0', 'end'],
      shell,
    );
    expect(again.stdout).toBe('<r0><s0>e\n<e0:3><r1><s1>two<e1:0>');
    expect(again.stderr).toBe('e1\n<e0:null><e1:null>');
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('removes on `end` the journals it names: steps an earlier, lost driver ran (and nothing else)', async () => {
    const lost = await drive(
      [
        { journal: journalName(11, 1), command: 'echo one' },
        { journal: journalName(12, 1), command: 'echo two' },
      ],
      ['go', 'go'], // the worker was lost before it could say `end`
    );
    expect(lost.stdout).toBe('<s0>one\n<e0:0><s1>two\n<e1:0>');
    const keep = path.join(home, '.opsflow', 'journal', 'keep.out');
    fs.writeFileSync(keep, 'not a journal of this task');
    const next = await drive([{ journal: journalName(13, 1), command: 'echo three' }], ['go', 'end 11-1 12-1 ../keep *']);
    expect(next.stdout).toBe('<s0>three\n<e0:0>');
    expect(fs.existsSync(journalDir())).toBe(false);
    expect(fs.readFileSync(keep, 'utf8')).toBe('not a journal of this task');

    // With no step left to run, a driver with no steps removes what it is told to.
    await drive([{ journal: journalName(14, 1), command: 'true' }], ['go']);
    expect(fs.existsSync(path.join(journalDir(), '14-1.rc'))).toBe(true);
    expect(await drive([], ['end 14-1'])).toEqual({ stdout: '', stderr: '' });
    expect(fs.existsSync(journalDir())).toBe(false);
  });

  it('follows a step whose channel broke while it ran, to its end, with all its output', async () => {
    const steps = [{ journal: journalName(21, 1), command: 'echo early; sleep 1; echo late; echo late-err >&2; exit 4' }];
    // The first driver loses its channel once the step has printed: its stdout and stderr close.
    const child = spawn('sh', ['-c', driverCommand(TASK, steps)], { env: { ...process.env, HOME: home, SHELL: '/bin/sh' } });
    const firstExited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.write(`${N}\ngo\n`);
    await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => (c.toString().includes('early') ? resolve() : undefined)));
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.end();

    const follower = startDriver(steps);
    follower.send('go 6 0');
    await follower.waitFor('<e0:4>');
    // The worker records the step, then says `end`; by then the first driver died of SIGPIPE
    // (its channel is gone), and its FIFOs are removed with the journal.
    await firstExited;
    follower.send('end');
    const followed = await follower.close();
    expect(followed.stdout).toBe('<r0><s0>late\n<e0:4>');
    expect(followed.stderr).toBe('late-err\n<e0:null>');
    expect(fs.existsSync(journalDir())).toBe(false);
  });

  it('reports a journal without an exit status whose driver and step are gone as lost', async () => {
    const dir = journalDir();
    fs.mkdirSync(dir, { recursive: true });
    // Process ids that cannot be alive: the kernel's pid_max is far below.
    fs.writeFileSync(path.join(dir, '31-1.pid'), '999999999 999999998\n'); // the claim
    fs.writeFileSync(path.join(dir, '31-1.out'), 'partial\n');
    const run = await drive([{ journal: journalName(31, 1), command: 'echo must-not-run' }], ['go 0 0']);
    expect(run.stdout).toBe('<r0><s0>partial\n<e0:lost>');
  });

  it('lets exactly one of two drivers that reach a step at once run it', async () => {
    const marker = path.join(home, 'ran');
    const steps = [{ journal: journalName(41, 1), command: `echo x >> ${marker}; sleep 0.3; echo done` }];
    const [first, second] = await Promise.all([drive(steps, ['go 0 0']), drive(steps, ['go 0 0'])]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('x\n');
    const runs = [first, second].filter((r) => !r.stdout.startsWith('<r0>'));
    expect(runs).toHaveLength(1);
    // The other followed its journal to the same end.
    for (const r of [first, second]) expect(r.stdout).toMatch(/<s0>done\n<e0:0>$/);
  });
});
