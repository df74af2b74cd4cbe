import { Worker } from 'node:worker_threads';
import { within } from './deadline.js';
import type { ClientsJob, ClientsMessage } from './ws-fanout-clients.js';

/**
 * The websocket clients of ws-fanout, split over worker threads; each phase (ready, warm, each
 * flood, done) waits for every thread. Browsers are independent: on one thread, a stall of that
 * thread (it waits on the run queue behind the tasks and the host, 100 to 160 ms at times)
 * delayed every client's lines at once, and a single one made the delivery p99.
 */
export class ClientThreads {
  private readonly queues: ClientsMessage[][] = [];
  private readonly wake: Array<() => void> = [];
  private readonly workers: Worker[] = [];

  constructor(job: Omit<ClientsJob, 'clients' | 'first'>, clients: number, threads: number) {
    let first = 0;
    for (let t = 0; t < threads; t++) {
      const n = Math.floor(clients / threads) + (t < clients % threads ? 1 : 0);
      const queue: ClientsMessage[] = [];
      this.queues.push(queue);
      this.wake.push(() => {});
      const workerData: ClientsJob = { ...job, clients: n, first };
      const w = new Worker(new URL('./ws-fanout-clients.js', import.meta.url), { workerData });
      w.on('message', (m: ClientsMessage) => {
        queue.push(m);
        this.wake[t]!();
      });
      w.on('error', (err) => {
        queue.push({ type: 'failed', message: err.message });
        this.wake[t]!();
      });
      this.workers.push(w);
      first += n;
    }
  }

  /** The next message of every thread, within `timeoutMs`; throws on one that failed. */
  next(timeoutMs: number, what: string): Promise<ClientsMessage[]> {
    return within(Promise.all(this.queues.map((_, t) => this.nextOf(t))), timeoutMs, what);
  }

  terminate(): Promise<unknown> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }

  private async nextOf(t: number): Promise<ClientsMessage> {
    const queue = this.queues[t]!;
    while (queue.length === 0) await new Promise<void>((r) => (this.wake[t] = r));
    const m = queue.shift()!;
    if (m.type === 'failed') throw new Error(`websocket clients: ${m.message}`);
    return m;
  }
}
