/*
 * Keeping a running deployment's lease, and letting it go in time. The lease is renewed every
 * `heartbeat` (a third of the ttl by default). A holder that could not renew it for two thirds of
 * the ttl, counted from the last renewal that succeeded, gives up: it stops its step (its
 * command's process group is terminated) while the lease it last wrote is still valid, so that
 * another instance that takes the deployment over after the expiry never runs beside it.
 */

/** The lease was taken from this holder (renewal refused, or not renewed in time): stop now. */
export class LeaseLostError extends Error {
  constructor(message = 'the lease was lost: another Fraisier may hold the target now') {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export interface LeaseTimes {
  ttlSeconds: number;
  heartbeatSeconds: number;
}

/** How long without a successful renewal before the holder gives up: 2·ttl/3. */
export function giveUpAfterMs(lease: LeaseTimes): number {
  return (lease.ttlSeconds * 1000 * 2) / 3;
}

/**
 * How long a stopped command gets between SIGTERM and SIGKILL: short enough that it is gone
 * before the lease expires (the last third of the ttl), at most 5 s.
 */
export function killGraceMs(lease: LeaseTimes): number {
  return Math.max(100, Math.min(5_000, (lease.ttlSeconds * 1000) / 6));
}

export interface LeaseKeeperOptions {
  lease: LeaseTimes;
  /**
   * Renews the lease (its new expiry counted from now); resolves with `held: false` when it is
   * no longer ours, rejects when the store could not be reached.
   */
  renew(): Promise<{ held: boolean; cancelRequested: boolean }>;
  /** Called once: the lease is lost (refused, or not renewed for 2·ttl/3). */
  onLost(why: 'refused' | 'not-renewed'): void;
  onCancelRequested(): void;
  onRenewError(error: unknown): void;
  /** A monotonic clock in milliseconds (performance.now by default). */
  clock?: () => number;
}

export class LeaseKeeper {
  #renewTimer: NodeJS.Timeout | undefined;
  #giveUpTimer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #ended = false;
  readonly #clock: () => number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Starts keeping a lease whose last renewal (or claim) was sent at `renewedAt` (clock time). */
  start(renewedAt: number = this.#clock()): void {
    this.#armGiveUp(renewedAt);
    this.#renewTimer = setInterval(() => this.#renew(), this.options.lease.heartbeatSeconds * 1000);
    this.#renewTimer.unref();
  }

  stop(): void {
    this.#ended = true;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#giveUpTimer);
  }

  #armGiveUp(renewedAt: number): void {
    clearTimeout(this.#giveUpTimer);
    const left = renewedAt + giveUpAfterMs(this.options.lease) - this.#clock();
    this.#giveUpTimer = setTimeout(() => this.#lost('not-renewed'), Math.max(0, left));
    this.#giveUpTimer.unref();
  }

  #lost(why: 'refused' | 'not-renewed'): void {
    if (this.#ended) return;
    this.stop();
    this.options.onLost(why);
  }

  #renew(): void {
    // One renewal at a time: one that hangs (a link that went silent) holds the others back, and
    // the give-up timer, which does not wait for it, ends the run in time.
    if (this.#inFlight || this.#ended) return;
    this.#inFlight = true;
    const sentAt = this.#clock();
    this.options.renew().then(
      ({ held, cancelRequested }) => {
        this.#inFlight = false;
        if (this.#ended) return;
        if (!held) return this.#lost('refused');
        this.#armGiveUp(sentAt);
        if (cancelRequested) this.options.onCancelRequested();
      },
      (error: unknown) => {
        this.#inFlight = false;
        if (!this.#ended) this.options.onRenewError(error);
      },
    );
  }
}
