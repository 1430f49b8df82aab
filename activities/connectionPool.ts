// Reuses one SSH connection per (exec user, host, port) across a task's steps, and limits
// how many handshakes run at once (sshd's MaxStartups drops excess parallel connects).
import type { SshConnection } from './ssh';

const IDLE_CLOSE_MS = 30_000;
/** sshd allows 10 sessions per connection by default; keep room for the kill channel. */
const MAX_USERS_PER_CONNECTION = 4;

interface Entry {
  conn: SshConnection;
  users: number;
  idleTimer: NodeJS.Timeout | null;
}

export class ConnectionPool {
  private readonly entries = new Map<string, Entry[]>();
  private handshakes = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly maxConcurrentHandshakes = 32) {}

  /** Runs fn with a connection for `key`, opening one with `open` when none is free. */
  async use<T>(key: string, open: () => Promise<SshConnection>, fn: (conn: SshConnection) => Promise<T>): Promise<T> {
    const entry = this.take(key) ?? (await this.add(key, open));
    try {
      return await fn(entry.conn);
    } finally {
      entry.users -= 1;
      if (entry.users === 0) {
        entry.idleTimer = setTimeout(() => this.drop(key, entry), IDLE_CLOSE_MS);
        entry.idleTimer.unref();
      }
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()].flat();
    this.entries.clear();
    await Promise.all(all.map((e) => e.conn.close()));
  }

  private take(key: string): Entry | undefined {
    const list = (this.entries.get(key) ?? []).filter((e) => !e.conn.closed);
    this.entries.set(key, list);
    const entry = list.find((e) => e.users < MAX_USERS_PER_CONNECTION);
    if (!entry) return undefined;
    entry.users += 1;
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = null;
    return entry;
  }

  private async add(key: string, open: () => Promise<SshConnection>): Promise<Entry> {
    await this.acquireHandshake();
    let conn: SshConnection;
    try {
      conn = await open();
    } finally {
      this.releaseHandshake();
    }
    const entry: Entry = { conn, users: 1, idleTimer: null };
    this.entries.set(key, [...(this.entries.get(key) ?? []), entry]);
    conn.onClose(() => this.remove(key, entry));
    return entry;
  }

  private drop(key: string, entry: Entry): void {
    this.remove(key, entry);
    void entry.conn.close();
  }

  private remove(key: string, entry: Entry): void {
    const list = (this.entries.get(key) ?? []).filter((e) => e !== entry);
    if (list.length) this.entries.set(key, list);
    else this.entries.delete(key);
  }

  private acquireHandshake(): Promise<void> {
    if (this.handshakes < this.maxConcurrentHandshakes) {
      this.handshakes += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseHandshake(): void {
    const next = this.waiting.shift();
    if (next) next(); // hand the slot over
    else this.handshakes -= 1;
  }
}
