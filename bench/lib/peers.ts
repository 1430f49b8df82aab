// The peers, run on the same sshd targets: parallel-ssh (PyPI `parallel-ssh`, its Python
// ParallelSSHClient), Debian's `parallel-ssh` CLI (package pssh 2.3.4, one `ssh` per host —
// the tool the reference figures of docs/engine.md#performance name) when installed, and
// Ansible core (ad hoc for one step, a playbook for several). Each peer runs under
// /usr/bin/time, which reports the CPU of its whole (reaped) process tree.
//
// Several steps per host (`levels`), each peer as its users would write it: the PyPI client
// runs them in sequence on one ParallelSSHClient (sessions kept), Debian pssh is invoked once
// per step (every invocation connects again), Ansible runs a playbook of that many tasks.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownCpuSeconds, pidsWithCmdline } from './proc';
import { assertLoopback, type Targets } from './targets';

const BENCH_DIR = path.resolve(__dirname, '..');
export const VENV = path.join(BENCH_DIR, '.venv');
const VENV_PY = path.join(VENV, 'bin', 'python');
const PY_PACKAGES = ['parallel-ssh>=2.12,<3', 'ansible-core>=2.14,<2.20'];
const DEBIAN_PSSH = '/usr/bin/parallel-ssh';

export type PeerName = 'parallel-ssh' | 'pssh-debian' | 'ansible';

export interface PeerRun {
  wallS: number;
  ok: boolean;
  succeededHosts: number;
  cpu: { totalS: number; userS: number; systemS: number; detachedS: number };
  peakRssMiB: number;
  exitCode: number | null;
  /** Debian pssh with several steps: the wall time of each invocation. */
  stepsWallS?: number[];
  error?: string;
}

/** Creates bench/.venv with parallel-ssh and ansible-core when missing; returns their versions. */
export function ensureVenv(log: (line: string) => void): Record<string, string> {
  const probe = (): Record<string, string> | null => {
    try {
      const out = execFileSync(VENV_PY, [
        '-c',
        'import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in ("parallel-ssh", "ansible-core", "ssh2-python")}))',
      ]);
      return JSON.parse(out.toString()) as Record<string, string>;
    } catch {
      return null;
    }
  };
  const found = probe();
  if (found) return found;
  if (!fs.existsSync(VENV_PY)) {
    log(`creating ${VENV} (python3 -m venv)`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit', timeout: 300_000 });
  }
  log(`pip install ${PY_PACKAGES.join(' ')} (first run only)`);
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '-q', ...PY_PACKAGES], { stdio: 'inherit', timeout: 900_000 });
  const installed = probe();
  if (!installed) throw new Error(`${VENV}: parallel-ssh / ansible-core still not importable after pip install`);
  return installed;
}

export function debianPsshVersion(): string | null {
  if (!fs.existsSync(DEBIAN_PSSH)) return null;
  try {
    return execFileSync(DEBIAN_PSSH, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim() || 'unknown';
  } catch (err) {
    // pssh 2.3 prints its version on stderr
    const e = err as { stderr?: Buffer };
    return e.stderr?.toString().trim() || 'unknown';
  }
}

/** The ssh connection plugin's ssh_args as Ansible resolves them here (ControlPersist lives there). */
export function ansibleSshArgs(): string {
  try {
    const env = { ...process.env };
    delete env.ANSIBLE_CONFIG; // as runAnsible runs it
    const out = execFileSync(path.join(VENV, 'bin', 'ansible-config'), ['dump', '-t', 'connection'], { cwd: os.tmpdir(), env, stdio: ['ignore', 'pipe', 'ignore'] });
    return /^ssh_args\(.*$/m.exec(out.toString())?.[0] ?? '?';
  } catch {
    return '?';
  }
}

export async function runPeer(peer: PeerName, targets: Targets, hosts: readonly string[], parallel: number, levels: number, timeoutMs: number): Promise<PeerRun> {
  hosts.forEach(assertLoopback);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `opsflow-bench-${peer}-`));
  try {
    switch (peer) {
      case 'parallel-ssh':
        return await runParallelSsh(work, targets, hosts, parallel, levels, timeoutMs);
      case 'pssh-debian':
        return await runDebianPssh(work, targets, hosts, parallel, levels, timeoutMs);
      case 'ansible':
        return await runAnsible(work, targets, hosts, parallel, levels, timeoutMs);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function runParallelSsh(work: string, targets: Targets, hosts: readonly string[], parallel: number, levels: number, timeoutMs: number): Promise<PeerRun> {
  const hostsFile = path.join(work, 'hosts');
  fs.writeFileSync(hostsFile, hosts.join('\n') + '\n');
  const script = path.join(BENCH_DIR, 'lib', 'pssh_run.py');
  const r = await timed(VENV_PY, [script, hostsFile, String(targets.sshd.port), targets.sshd.username, targets.keyFile, String(parallel), 'uname -a', String(levels)], {
    cwd: work,
    timeoutMs,
  });
  let succeeded = 0;
  let error = r.error;
  try {
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { ok?: number; failures?: string[] };
    succeeded = summary.ok ?? 0;
    if (summary.failures?.length) error = `${error ?? ''} ${summary.failures.join('; ')}`.trim();
  } catch {
    error = `${error ?? ''} unparsable output: ${r.stdout.slice(-300)} ${r.stderr.slice(-500)}`.trim();
  }
  return result(r, succeeded, hosts.length, 0, error);
}

function sshOptions(targets: Targets): string[] {
  return [
    `Port=${targets.sshd.port}`,
    `User=${targets.sshd.username}`,
    `IdentityFile=${targets.keyFile}`,
    'IdentitiesOnly=yes',
    'StrictHostKeyChecking=no',
    'UserKnownHostsFile=/dev/null',
    'BatchMode=yes',
    'LogLevel=ERROR',
  ];
}

async function runDebianPssh(work: string, targets: Targets, hosts: readonly string[], parallel: number, levels: number, timeoutMs: number): Promise<PeerRun> {
  const hostsFile = path.join(work, 'hosts');
  fs.writeFileSync(hostsFile, hosts.join('\n') + '\n');
  const t0 = performance.now();
  const steps: Timed[] = [];
  const okSteps = new Map<string, number>(hosts.map((h) => [h, 0]));
  // One invocation per step, in sequence: the barrier a pssh user gets from `a && b && …`.
  for (let step = 1; step <= levels; step++) {
    const outDir = path.join(work, `out-${step}`);
    const args = ['-h', hostsFile, '-p', String(parallel), '-t', '60', '-o', outDir, ...sshOptions(targets).flatMap((o) => ['-O', o]), 'uname -a'];
    const left = timeoutMs - (performance.now() - t0);
    const r: Timed = left > 0 ? await timed(DEBIAN_PSSH, args, { cwd: work, timeoutMs: left }) : { ...emptyTimed(), error: `timed out after ${timeoutMs} ms` };
    steps.push(r);
    for (const h of hosts) {
      const file = path.join(outDir, h);
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').startsWith('Linux')) okSteps.set(h, (okSteps.get(h) ?? 0) + 1);
    }
    if (r.error !== undefined || r.exitCode !== 0) break; // `&&` stops at the first failed step
  }
  const last = steps[steps.length - 1] ?? emptyTimed();
  const total: Timed = {
    ...last,
    wallS: (performance.now() - t0) / 1000,
    userS: steps.reduce((a, r) => a + r.userS, 0),
    systemS: steps.reduce((a, r) => a + r.systemS, 0),
    maxRssMiB: Math.max(...steps.map((r) => r.maxRssMiB)),
  };
  const succeeded = [...okSteps.values()].filter((n) => n === levels).length;
  const run = result(total, succeeded, hosts.length, 0, total.error ?? (total.exitCode !== 0 ? total.stderr.slice(-500) || total.stdout.slice(-500) : undefined));
  return levels > 1 ? { ...run, stepsWallS: steps.map((r) => r.wallS) } : run;
}

function emptyTimed(): Timed {
  return { wallS: 0, userS: 0, systemS: 0, maxRssMiB: 0, exitCode: null, stdout: '', stderr: '' };
}

async function runAnsible(work: string, targets: Targets, hosts: readonly string[], parallel: number, levels: number, timeoutMs: number): Promise<PeerRun> {
  const inventory = path.join(work, 'inventory.ini');
  const cpDir = path.join(work, 'cp');
  fs.mkdirSync(cpDir);
  fs.writeFileSync(
    inventory,
    '[targets]\n' +
      hosts
        .map(
          (h) =>
            `${h} ansible_host=${h} ansible_port=${targets.sshd.port} ansible_user=${targets.sshd.username} ansible_ssh_private_key_file=${targets.keyFile}`,
        )
        .join('\n') +
      '\n',
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    // Its own ControlPersist sockets, so no run reuses another run's master connections.
    ANSIBLE_SSH_CONTROL_PATH_DIR: cpDir,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_LOCAL_TEMP: path.join(work, 'tmp'),
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
  };
  delete env.ANSIBLE_CONFIG;
  // One step: ad hoc, as before. Several: a playbook of that many tasks (strategy linear, the
  // default). No fact gathering: ad hoc gathers none either, and the steps are what is compared.
  let r: Timed;
  if (levels === 1) {
    r = await timed(path.join(VENV, 'bin', 'ansible'), ['all', '-i', inventory, '-f', String(parallel), '-m', 'command', '-a', 'uname -a'], { cwd: work, env, timeoutMs });
  } else {
    const playbook = path.join(work, 'playbook.yml');
    const tasks = Array.from({ length: levels }, (_, i) => `    - name: uname ${i + 1}\n      command: uname -a\n`).join('');
    fs.writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
    r = await timed(path.join(VENV, 'bin', 'ansible-playbook'), ['-i', inventory, '-f', String(parallel), playbook], { cwd: work, env, timeoutMs });
  }
  // ControlPersist masters detach (nobody reaps them inside the tree): add their CPU, then stop them.
  const masters = pidsWithCmdline(cpDir);
  const detachedS = ownCpuSeconds(masters);
  for (const pid of masters) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const succeeded = levels === 1 ? (r.stdout.match(/\| CHANGED \| rc=0 >>/g) ?? []).length : playbookOkHosts(r.stdout, levels);
  const error = r.error ?? (succeeded !== hosts.length ? (r.stdout.split('\n').find((l) => /UNREACHABLE|FAILED/.test(l)) ?? r.stderr.slice(-500)) : undefined);
  return result(r, succeeded, hosts.length, detachedS, error);
}

/** Hosts whose PLAY RECAP line says every task ran: ok=levels, nothing unreachable or failed. */
function playbookOkHosts(stdout: string, levels: number): number {
  let n = 0;
  for (const m of stdout.matchAll(/^\S+\s+: ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    if (Number(m[1]) === levels && m[2] === '0' && m[3] === '0') n += 1;
  }
  return n;
}

interface Timed {
  wallS: number;
  userS: number;
  systemS: number;
  maxRssMiB: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

function result(r: Timed, succeeded: number, expected: number, detachedS: number, error: string | undefined): PeerRun {
  const ok = r.exitCode === 0 && succeeded === expected && r.error === undefined;
  return {
    wallS: r.wallS,
    ok,
    succeededHosts: succeeded,
    cpu: { totalS: r.userS + r.systemS + detachedS, userS: r.userS, systemS: r.systemS, detachedS },
    peakRssMiB: r.maxRssMiB,
    exitCode: r.exitCode,
    ...(ok ? {} : { error: (error ?? `exit code ${r.exitCode}`).slice(0, 1000) }),
  };
}

/** Runs cmd under /usr/bin/time in its own process group; kills the group on timeout. */
function timed(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Timed> {
  const timeFile = path.join(opts.cwd, 'time.out');
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-2_000_000)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, opts.timeoutMs);
    const finish = (exitCode: number | null, error?: string): void => {
      clearTimeout(timer);
      const wallS = (performance.now() - t0) / 1000;
      let userS = 0;
      let systemS = 0;
      let maxRssMiB = 0;
      try {
        const last = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [, u, s, m] = last.split(' ').map(Number);
        userS = u ?? 0;
        systemS = s ?? 0;
        maxRssMiB = (m ?? 0) / 1024;
      } catch {
        // killed before time wrote its report
      }
      const realExit = /Command exited with non-zero status (\d+)/.exec(readOr(timeFile));
      resolve({
        wallS,
        userS,
        systemS,
        maxRssMiB,
        exitCode: realExit ? Number(realExit[1]) : exitCode,
        stdout,
        stderr,
        ...(timedOut ? { error: `timed out after ${opts.timeoutMs} ms` } : error !== undefined ? { error } : {}),
      });
    };
    child.once('error', (err) => finish(null, err.message));
    child.once('close', (code) => finish(code));
  });
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
