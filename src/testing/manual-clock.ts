import type { Clock } from '../model/clock.js';

interface Pending {
  due: number;
  resolve(): void;
}

/** A clock that moves only when told to, so timers and timeouts are tested without waiting. */
export interface ManualClock extends Clock {
  /** Move time forward, firing every timer that falls due, in order. */
  advance(ms: number): Promise<void>;
  /** Timers not yet fired. */
  pendingTimers(): number;
}

export function manualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  const timers: Pending[] = [];
  // Lets the promise chains that a fired timer starts run before the next timer fires.
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return {
    now: () => now,
    after(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(abortError());
        const onAbort = () => {
          const i = timers.indexOf(t);
          if (i >= 0) timers.splice(i, 1);
          reject(abortError());
        };
        // The listener goes when the timer fires, as with node:timers/promises, so a long-lived signal collects none.
        const t: Pending = {
          due: now + Math.max(0, ms),
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        timers.push(t);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        timers.sort((a, b) => a.due - b.due);
        const next = timers[0];
        if (!next || next.due > end) break;
        timers.shift();
        now = next.due;
        next.resolve();
        await settle();
      }
      now = end;
      await settle();
    },
    pendingTimers: () => timers.length,
  };
}

export function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}
