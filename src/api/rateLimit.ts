// In-memory sliding-window counters (per process): login attempts per source address.
// The lockout per (account, address) and the per-account pace (src/accounts/lockout.ts) are the
// durable, cross-replica defence; this one stops a single address from guessing across many
// accounts and from burning CPU on argon2.

export interface RateLimitSettings {
  /** Failed logins per address within the window. */
  maxFailures: number;
  /** Login attempts (any outcome) per address within the window. */
  maxAttempts: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: RateLimitSettings = { maxFailures: 30, maxAttempts: 120, windowMs: 10 * 60 * 1000 };

export class SlidingWindow {
  readonly #hits = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  /** Events for `key` inside the window (old ones dropped). */
  count(key: string, now = Date.now()): number {
    const list = this.#hits.get(key);
    if (!list) return 0;
    const fresh = list.filter((t) => now - t < this.windowMs);
    if (fresh.length === 0) this.#hits.delete(key);
    else this.#hits.set(key, fresh);
    return fresh.length;
  }

  add(key: string, now = Date.now()): void {
    const list = this.#hits.get(key) ?? [];
    list.push(now);
    this.#hits.set(key, list);
    if (this.#hits.size > 50_000) this.prune(now);
  }

  /** Milliseconds until the oldest event in the window expires. */
  retryAfterMs(key: string, now = Date.now()): number {
    const first = this.#hits.get(key)?.[0];
    return first === undefined ? 0 : Math.max(0, this.windowMs - (now - first));
  }

  private prune(now: number): void {
    for (const key of [...this.#hits.keys()]) this.count(key, now);
  }
}

export class LoginLimiter {
  readonly failures: SlidingWindow;
  readonly attempts: SlidingWindow;

  constructor(readonly settings: RateLimitSettings = DEFAULT_LOGIN_LIMITS) {
    this.failures = new SlidingWindow(settings.windowMs);
    this.attempts = new SlidingWindow(settings.windowMs);
  }

  /** null when allowed, else seconds to wait. */
  check(ip: string): number | null {
    if (this.failures.count(ip) >= this.settings.maxFailures) return Math.ceil(this.failures.retryAfterMs(ip) / 1000);
    if (this.attempts.count(ip) >= this.settings.maxAttempts) return Math.ceil(this.attempts.retryAfterMs(ip) / 1000);
    return null;
  }
}
