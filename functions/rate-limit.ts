/**
 * Per-client token buckets: `burst` tokens, refilled at `ratePerSecond`. In Lambda a bucket
 * lives in one warm container, so on AWS the limit that holds per client is the WAF
 * rate-based rule per source IP in front of the API (pipeline/pulumi/waf.ts, same
 * `ratePerSecond`); this is the same rule in-process per API key (and the only one locally).
 * The daily job quota (`jobsPerDay`) is durable: see start-job.
 */
export interface RateDecision {
  readonly ok: boolean;
  /** Whole seconds until a token is available (when not ok). */
  readonly retryAfterSeconds: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    /** Oldest buckets are dropped past this many keys, so random keys cannot exhaust memory. */
    private readonly maxKeys = 10_000,
  ) {}

  take(key: string): RateDecision {
    const now = this.now();
    const existing = this.buckets.get(key);
    let tokens = this.burst;
    if (existing) {
      tokens = Math.min(this.burst, existing.tokens + ((now - existing.at) / 1000) * this.ratePerSecond);
      this.buckets.delete(key); // re-insert below: Map order = least recently used first
    } else if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true, retryAfterSeconds: 0 };
    }
    this.buckets.set(key, { tokens, at: now });
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond)) };
  }
}
