import type { Duplex } from 'node:stream';

/**
 * Corks sockets for the rest of the current tick, so that a run's transitions, several small
 * events published in one tick, leave in one writev per socket instead of one syscall each
 * (issue 10: writev was 9.5% of a host's time running 1,000 one-task runs watched by one
 * client). Corked bytes count in a websocket's bufferedAmount although the kernel would have
 * taken them already, so a socket holding more than `maxBytes` is not corked, or uncorked at
 * once: corking must never make a client that keeps up look too slow.
 */
export class TickCork {
  private readonly corked = new Set<Duplex>();

  constructor(
    private readonly maxBytes: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Corks `socket` until this tick ends (once per tick), unless it already holds maxBytes. */
  hold(socket: Duplex): void {
    if (this.corked.has(socket) || socket.writableLength > this.maxBytes) return;
    socket.cork();
    this.corked.add(socket);
    if (this.corked.size === 1) process.nextTick(this.releaseAll);
  }

  /** After a write: a corked socket past maxBytes writes on now. */
  wrote(socket: Duplex): void {
    if (socket.writableLength > this.maxBytes && this.corked.delete(socket)) this.uncork(socket);
  }

  private readonly releaseAll = (): void => {
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
