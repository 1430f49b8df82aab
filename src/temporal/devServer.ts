// Runs `temporal server start-dev` as a child process we own.
import { spawn } from 'node:child_process';
import { portIsOpen } from '../db/embedded';
import { DEV_SERVER_SEARCH_ATTRIBUTE_FLAGS } from './searchAttributes';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; null = headless. */
  uiPort: number | null;
  /** SQLite file for durable state; null = in memory (tests). */
  dbFile: string | null;
  namespace: string;
  onLog?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push(...(opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort)]));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const flag of DEV_SERVER_SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  // Let dev-server workflows handle many updates and keep histories readable.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');

  if (await portIsOpen(opts.port)) {
    throw new Error(`port ${opts.port} is already in use: stop the other Temporal server or set TEMPORAL_ADDRESS to use it`);
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer): void => {
    const text = d.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.onLog?.(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  while (!(await portIsOpen(opts.port)) || (opts.uiPort !== null && !(await portIsOpen(opts.uiPort)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server did not start on port ${opts.port}:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: opts.uiPort === null ? null : `http://127.0.0.1:${opts.uiPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
