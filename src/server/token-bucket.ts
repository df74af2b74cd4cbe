/**
 * A rate limit: `burst` takes at once, refilled at `perSec` a second up to `burst` again. Time
 * comes from `now` (epoch ms), so tests can hold it still.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSec: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes one token: 0 when there was one, else the ms until there is one (nothing taken). */
  take(): number {
    const now = this.now();
    // A wall clock stepped back refills nothing, rather than draining the bucket.
    const elapsed = Math.max(0, now - this.at);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSec) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSec);
  }
}
