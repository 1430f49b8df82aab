// The step driver's journal, run by the real POSIX sh of this machine (as sshd would start it):
// files written per step, removal on `end`, and a second driver following a journal — finished,
// still running after its channel broke, or left without an exit status.
import { execFileSync, spawn } from 'node:child_process';
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

/** Runs the driver with `lines` on stdin (after the nonce) and returns both streams rendered. */
function drive(steps: { journal: string; command: string }[], lines: string[]): Promise<Run> {
  const child = spawn('sh', ['-c', driverCommand(TASK, steps)], { env: { ...process.env, HOME: home, SHELL: '/bin/sh' } });
  const out = new MarkerSplitter(N);
  const err = new MarkerSplitter(N);
  const items = { stdout: [] as DriverItem[], stderr: [] as DriverItem[] };
  child.stdout.on('data', (c: Buffer) => items.stdout.push(...out.push(c)));
  child.stderr.on('data', (c: Buffer) => items.stderr.push(...err.push(c)));
  child.stdin.end([N, ...lines].map((l) => `${l}\n`).join(''));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      items.stdout.push(...out.end());
      items.stderr.push(...err.end());
      resolve({ stdout: render(items.stdout), stderr: render(items.stderr) });
    });
  });
}

describe('the step driver’s journal', () => {
  it('journals each step (output, exit status) and removes the journals on `end`', async () => {
    const steps = [
      { journal: journalName(11, 1), command: 'echo one; echo e1 >&2; exit 3' },
      { journal: journalName(12, 1), command: 'printf two' },
    ];
    const kept = await drive(steps, ['go', 'go']);
    expect(kept.stdout).toBe('<s0>one\n<e0:3><s1>two<e1:0>');
    expect(kept.stderr).toBe('e1\n<e0:null><e1:null>');
    // Without `end` (the worker is gone) the journals stay.
    const dir = journalDir();
    expect(fs.readFileSync(path.join(dir, '11-1.out'), 'utf8')).toBe('one\n');
    expect(fs.readFileSync(path.join(dir, '11-1.err'), 'utf8')).toBe('e1\n');
    expect(fs.readFileSync(path.join(dir, '11-1.rc'), 'utf8')).toBe('3\n');
    expect(fs.readFileSync(path.join(dir, '12-1.rc'), 'utf8')).toBe('0\n');
    expect(fs.readFileSync(path.join(dir, '12-1.pid'), 'utf8')).toMatch(/^\d+ \d+\n$/);

    // A second driver finds them: it follows instead of running, from the given offsets, and
    // `end` then removes the journals and the task's directory.
    const marker = path.join(home, 'ran');
    const again = await drive(
      [
        { journal: journalName(11, 1), command: `echo x >> ${marker}` },
        { journal: journalName(12, 1), command: `echo x >> ${marker}` },
      ],
      ['go 2 0', 'go 0 0', 'end'],
    );
    expect(again.stdout).toBe('<r0><s0>e\n<e0:3><r1><s1>two<e1:0>');
    expect(again.stderr).toBe('e1\n<e0:null><e1:null>');
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('follows a step whose channel broke while it ran, to its end, with all its output', async () => {
    const steps = [{ journal: journalName(21, 1), command: 'echo early; sleep 1; echo late; echo late-err >&2; exit 4' }];
    // The first driver loses its channel once the step has printed: its stdout and stderr close.
    const child = spawn('sh', ['-c', driverCommand(TASK, steps)], { env: { ...process.env, HOME: home, SHELL: '/bin/sh' } });
    child.stdin.write(`${N}\ngo\n`);
    await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => (c.toString().includes('early') ? resolve() : undefined)));
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.end();

    const followed = await drive(steps, ['go 6 0', 'end']);
    expect(followed.stdout).toBe('<r0><s0>late\n<e0:4>');
    expect(followed.stderr).toBe('late-err\n<e0:null>');
    expect(fs.existsSync(journalDir())).toBe(false);
  });

  it('reports a journal without an exit status whose driver and step are gone as lost', async () => {
    const dir = journalDir();
    fs.mkdirSync(dir, { recursive: true });
    // Process ids that cannot be alive: the kernel's pid_max is far below.
    fs.writeFileSync(path.join(dir, '31-1.pid'), '999999999 999999998\n');
    fs.writeFileSync(path.join(dir, '31-1.out'), 'partial\n');
    execFileSync('mkfifo', [path.join(dir, '31-1.po'), path.join(dir, '31-1.pe')]); // the claim
    const run = await drive([{ journal: journalName(31, 1), command: 'echo must-not-run' }], ['go 0 0']);
    expect(run.stdout).toBe('<r0><s0>partial\n<e0:lost>');
  });
});
