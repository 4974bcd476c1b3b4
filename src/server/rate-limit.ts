/*
 * Deliveries per source address in fixed windows, in memory (one instance's view; a fleet
 * behind a balancer divides the load anyway). Cheap enough to run before anything else, so a
 * flood of unsigned requests costs a Map lookup each.
 */

export interface RateLimit {
  /** Requests per window per key; 0 turns the limit off. */
  requests: number;
  windowSeconds: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Beyond this many tracked addresses, expired windows are swept (at most once per window)... */
const SWEEP_AT = 10_000;
/** ...and beyond this many live ones (a flood from many addresses), the oldest are forgotten. */
const MAX_KEYS = 100_000;

export class RateLimiter {
  /** In the order windows opened: the first entries are the oldest. */
  readonly #windows = new Map<string, { start: number; count: number }>();
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): RateDecision {
    if (this.limit.requests <= 0) return { allowed: true };
    const now = this.now();
    const windowMs = this.limit.windowSeconds * 1000;
    let window = this.#windows.get(key);
    if (!window || now - window.start >= windowMs) {
      this.#windows.delete(key);
      this.#makeRoom(now, windowMs);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= this.limit.requests) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + windowMs - now) / 1000)) };
  }

  #makeRoom(now: number, windowMs: number): void {
    if (this.#windows.size >= SWEEP_AT && now - this.#sweptAt >= windowMs) {
      this.#sweptAt = now;
      for (const [key, window] of this.#windows) if (now - window.start >= windowMs) this.#windows.delete(key);
    }
    // Forgetting the oldest bounds memory; at worst it lifts their limit early.
    if (this.#windows.size >= MAX_KEYS) this.#windows.delete(this.#windows.keys().next().value!);
  }
}
