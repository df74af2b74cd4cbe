import type { Clock } from '../../model/clock.js';
import type { Store } from '../../store/store.js';
import { abortError, type ManualClock } from '../manual-clock.js';

/**
 * One run of a host's process, from start to death. What it was given (its store and clock)
 * goes dead with it, so a hub object left behind by a kill can change nothing any more; a
 * restart makes a new process on the same store contents.
 */
export class HostProcess {
  isAlive = true;
  private isPaused = false;
  /** Timers that came due while paused, in the order they came due. */
  private held: Array<() => void> = [];
  readonly clock: Clock;
  readonly store: Store;

  constructor(
    readonly boot: number,
    shared: ManualClock,
    durable: Store,
  ) {
    this.clock = this.pausableClock(shared);
    this.store = this.killableStore(durable);
  }

  kill(): void {
    this.isAlive = false;
    this.held = [];
  }

  /** No timer of this process fires until `resume`; those that come due meanwhile fire then, in order. */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    for (const fire of this.held.splice(0)) fire();
  }

  private pausableClock(shared: ManualClock): Clock {
    return {
      now: () => shared.now(),
      after: (ms, signal) => {
        // A dead process waits forever: nothing it started continues.
        if (!this.isAlive) return new Promise<void>(() => {});
        return new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(abortError());
          // The shared timer is left to fire unheeded after an abort: cheaper than cancelling
          // it, and the listener is removed when it fires, so a long-lived signal (the hub's
          // stop signal, passed to every heartbeat wait) gathers none.
          let isSettled = false;
          const onAbort = () => {
            isSettled = true;
            if (this.isAlive) reject(abortError());
          };
          const fire = () => {
            if (isSettled || !this.isAlive) return;
            if (this.isPaused) {
              this.held.push(fire);
              return;
            }
            isSettled = true;
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          void shared.after(ms).then(fire);
        });
      },
    };
  }

  /** The store as this process sees it: every call made after the process died rejects. */
  private killableStore(durable: Store): Store {
    return new Proxy(durable, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => {
          if (!this.isAlive) return Promise.reject(new Error(`store call ${String(prop)} after the host process died`));
          return method.apply(target, args);
        };
      },
    });
  }
}
