/** Time, injected so the hub can be tested with a manual clock. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with an AbortError if `signal` aborts first. */
  after(ms: number, signal?: AbortSignal): Promise<void>;
}
