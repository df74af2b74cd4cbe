import type { Duplex } from 'node:stream';

export interface TickCorkOptions {
  /**
   * Releases come at most this often: sockets corked within `paceMs` of the last release wait
   * out the rest of it, so a burst's writes go in fewer, larger writevs. Default 0: every tick.
   */
  paceMs?: number;
  /** Milliseconds on a monotonic clock; default performance.now. */
  now?: () => number;
  /** Runs `fn` after `ms`; default setTimeout. */
  later?: (fn: () => void, ms: number) => void;
}

/**
 * Corks sockets for the rest of the current tick, so that a run's transitions, several small
 * events published in one tick, leave in one writev per socket instead of one syscall each
 * (issue 10: writev was 9.5% of a host's time running 1,000 one-task runs watched by one
 * client). With `paceMs`, a release that would come sooner than that after the last one waits:
 * a quiet host's event still leaves at the end of its tick. Corked bytes count in a websocket's
 * bufferedAmount although the kernel would have taken them already, so a socket holding more
 * than `maxBytes` is not corked, or uncorked at once: corking must never make a client that
 * keeps up look too slow.
 */
export class TickCork {
  private readonly corked = new Set<Duplex>();
  private readonly paceMs: number;
  private readonly now: () => number;
  private readonly later: (fn: () => void, ms: number) => void;
  private lastRelease = -Infinity;
  /** A release is due (tick or timer): sockets corked meanwhile wait for it. */
  private releaseDue = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onError: (err: unknown) => void = () => {},
    opts: TickCorkOptions = {},
  ) {
    this.paceMs = opts.paceMs ?? 0;
    this.now = opts.now ?? (() => performance.now());
    this.later = opts.later ?? ((fn, ms) => void setTimeout(fn, ms));
  }

  /** Corks `socket` until the next release (once per release), unless it already holds maxBytes. */
  hold(socket: Duplex): void {
    if (this.corked.has(socket) || socket.writableLength > this.maxBytes) return;
    socket.cork();
    this.corked.add(socket);
    // `wrote` may have emptied the set while a release is due: one release at a time.
    if (this.releaseDue) return;
    this.releaseDue = true;
    const wait = this.lastRelease + this.paceMs - this.now();
    if (wait > 0) this.later(this.releaseAll, wait);
    else process.nextTick(this.releaseAll);
  }

  /** After a write: a corked socket past maxBytes writes on now. */
  wrote(socket: Duplex): void {
    if (socket.writableLength > this.maxBytes && this.corked.delete(socket)) this.uncork(socket);
  }

  private readonly releaseAll = (): void => {
    this.releaseDue = false;
    this.lastRelease = this.now();
    const sockets = [...this.corked];
    this.corked.clear();
    for (const socket of sockets) this.uncork(socket);
  };

  private uncork(socket: Duplex): void {
    // One socket's failure must leave no other corked.
    try {
      socket.uncork();
    } catch (err) {
      this.onError(err);
    }
  }
}
