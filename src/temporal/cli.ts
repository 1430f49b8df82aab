// Finds the `temporal` CLI (which embeds the dev server and Web UI), building it
// with `go install` on first use when nothing else provides it: no download site is needed.
// Where it looks, in order: README.md, "What `npm start` does", step 3.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Per-user cache outside the clone, so fresh clones and worktrees share one build. */
export function toolsCacheDir(): string {
  return process.env.OPSFLOW_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'opsflow', 'bin');
}

/** A regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Looks in the documented order without building anything. */
export function locateTemporalCli(projectRoot = process.cwd()): string | null {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [onPath('temporal'), path.join(toolsCacheDir(), 'temporal'), path.join(projectRoot, '.tools', 'bin', 'temporal')];
  return candidates.find((c): c is string => c !== null && isExecutable(c)) ?? null;
}

/** Waits for another process's build (lock file) or builds the CLI with Go. */
async function buildWithGo(log: (line: string) => void): Promise<string> {
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it. Provide it in one of these ways: ' +
        'set TEMPORAL_CLI=/path/to/temporal, put `temporal` on PATH, or install Go and rerun ' +
        `(opsflow then runs: go install ${TEMPORAL_CLI_MODULE}); or set TEMPORAL_ADDRESS to an existing cluster.`,
    );
  }
  const dir = toolsCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, 'temporal');
  const lock = path.join(dir, 'temporal.build.lock');
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    log(`Waiting for another process that is building the Temporal CLI (${lock}) ...`);
    while (fs.existsSync(lock)) {
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (!processAlive(holder)) fs.rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 2000));
    }
    if (isExecutable(target)) return target;
    return buildWithGo(log);
  }
  try {
    log(`Building the Temporal CLI with Go (first run only, several minutes): go install ${TEMPORAL_CLI_MODULE}`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
        env: { ...process.env, GOBIN: dir, GOFLAGS: process.env.GOFLAGS ?? '-trimpath' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`go install of the Temporal CLI failed (exit ${code}):\n${stderr}`)),
      );
    });
  } finally {
    fs.rmSync(lock, { force: true });
  }
  if (!isExecutable(target)) throw new Error(`go install finished but ${target} is missing`);
  log(`Temporal CLI built: ${target}`);
  return target;
}

/** Whether a process with this pid exists (a build lock's owner, say). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Returns a working `temporal` CLI path, building it if needed. */
export async function ensureTemporalCli(log: (line: string) => void = console.log): Promise<string> {
  const found = locateTemporalCli() ?? (await buildWithGo(log));
  execFileSync(found, ['--version'], { stdio: 'ignore' }); // fail early on a broken binary
  return found;
}
