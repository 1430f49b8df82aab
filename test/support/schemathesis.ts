// The pinned schemathesis CLI (PyPI), installed by the tests themselves on first use: a Python
// venv cached per user (~/.cache/opsflow/schemathesis-<version>), shared by clones and worktrees.
// A lock file keeps two test processes from building it at once; a marker file written last says
// the venv is complete, so a half-built one (interrupted install) is rebuilt, never used.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isExecutable, processAlive } from '../../src/temporal/cli';

export const SCHEMATHESIS_VERSION = '4.32.5';

export function schemathesisDir(): string {
  const base = process.env.OPSFLOW_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'opsflow');
  return path.join(base, `schemathesis-${SCHEMATHESIS_VERSION}`);
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
    let tail = '';
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${tail}`))));
  });
}

/**
 * A Python that can make venvs. Debian splits venv support into python3-venv: as root with apt-get
 * it is installed (like the tests' other system packages), elsewhere the error says what to run.
 */
function ensurePythonVenv(python: string, log: (line: string) => void): void {
  const works = (): boolean => {
    try {
      execFileSync(python, ['-c', 'import ensurepip, venv'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (works()) return;
  const command = 'apt-get install -y --no-install-recommends python3 python3-venv';
  if (python !== 'python3' || process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`schemathesis needs ${python} with venv support: install it (on Debian: \`${command}\` as root) or set PYTHON`);
  }
  log(`installing Python's venv support: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3', 'python3-venv'], { env, stdio: 'inherit' });
  if (!works()) throw new Error(`${python} still cannot make venvs after ${command}`);
}

/** The path of the `schemathesis` executable, building the venv if it is not there yet. */
export async function ensureSchemathesis(log: (line: string) => void = console.log): Promise<string> {
  const dir = schemathesisDir();
  const exe = path.join(dir, 'bin', 'schemathesis');
  const marker = path.join(dir, '.opsflow-complete');
  if (fs.existsSync(marker) && isExecutable(exe)) return exe;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    log(`waiting for another process that is installing schemathesis (${lock}) ...`);
    while (fs.existsSync(lock)) {
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (!processAlive(holder)) fs.rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 2000));
    }
    return ensureSchemathesis(log);
  }
  try {
    const python = process.env.PYTHON ?? 'python3';
    ensurePythonVenv(python, log);
    log(`installing schemathesis ${SCHEMATHESIS_VERSION} from PyPI into ${dir} (first run only, about a minute)`);
    // A venv's scripts name their interpreter by absolute path, so it is built where it lives.
    fs.rmSync(dir, { recursive: true, force: true });
    await run(python, ['-m', 'venv', dir], log);
    await run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`], log);
    execFileSync(exe, ['--version'], { stdio: 'ignore' }); // fail early on a broken install
    fs.writeFileSync(marker, `${SCHEMATHESIS_VERSION}\n`);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(lock, { force: true });
  }
  log(`schemathesis installed: ${exe}`);
  return exe;
}
