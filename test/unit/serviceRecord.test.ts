// Recognising a service left running: the pid file names the process and its owner; the command
// line must match; a dead owner makes it an orphan; a reused pid or foreign program is never ours.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identify, isRunning, stopProcess } from '../../src/supervise/processes';
import { findLeftover, readServiceRecord, removeServiceRecord, writeServiceRecord } from '../../src/supervise/serviceRecord';

const isSleep = (argv: string[]): boolean => argv[0] === 'sleep' && argv[1] === '300';

describe('service records', () => {
  let dir: string;
  let file: string;
  let child: ChildProcess;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-record-'));
    file = path.join(dir, 'svc.pid');
    child = spawn('sleep', ['300'], { stdio: 'ignore' });
  });
  afterAll(() => {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a recorded service whose owner is alive is owned; the record is removed only for its own pid', () => {
    writeServiceRecord(file, child.pid!);
    expect(readServiceRecord(file)).toEqual({ service: identify(child.pid!), owner: identify(process.pid) });
    expect(findLeftover(child.pid, file, isSleep)).toEqual({ kind: 'owned', process: identify(child.pid!), ownerPid: process.pid });
    removeServiceRecord(file, child.pid! + 1);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('a dead owner, a missing record or a record of an earlier process with that pid make it an orphan', () => {
    const running = identify(child.pid!);
    fs.writeFileSync(file, JSON.stringify({ service: running, owner: { pid: 999_999_999, started: '1' } }));
    expect(findLeftover(child.pid, file, isSleep)).toEqual({ kind: 'orphan', process: running });
    fs.writeFileSync(file, JSON.stringify({ service: { pid: running.pid, started: '1' }, owner: identify(process.pid) }));
    expect(findLeftover(child.pid, file, isSleep)?.kind).toBe('orphan');
    fs.writeFileSync(file, 'not json');
    expect(readServiceRecord(file)).toBeNull();
    expect(findLeftover(child.pid, file, isSleep)?.kind).toBe('orphan');
  });

  it('a process with another command line, or none at all, is not ours', () => {
    writeServiceRecord(file, process.pid);
    expect(findLeftover(process.pid, file, isSleep)).toBeNull();
    expect(findLeftover(undefined, file, isSleep)).toBeNull();
    expect(findLeftover(999_999_999, file, isSleep)).toBeNull();
  });

  it('stopProcess signals and waits until the process is gone', async () => {
    const id = identify(child.pid!);
    expect(isRunning(id)).toBe(true);
    await stopProcess(id, 'SIGTERM', 5_000);
    expect(isRunning(id)).toBe(false);
    expect(findLeftover(child.pid, file, isSleep)).toBeNull();
  });
});
