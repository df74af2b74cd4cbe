import type { TraceEvent } from './network.js';

/**
 * What happened in a simulation, in order: messages and their fates, faults, triggers, task
 * executions and the hubs' log lines. Keeps every event, or with a `limit` the last `limit`
 * events that are not routine heartbeats (a long quiet wait would fill any tail with those).
 */
export class Trace {
  private events: TraceEvent[] = [];
  /** Events seen, kept or not. */
  count = 0;

  constructor(
    /** Sim time the simulation began at; lines show time since then. */
    private readonly t0: number,
    private readonly limit = Infinity,
  ) {}

  add(e: TraceEvent): void {
    this.count++;
    if (e.isRoutine && this.limit !== Infinity) return;
    this.events.push(e);
    // Trimmed in batches so keeping the tail costs O(1) per event.
    if (this.events.length > 2 * this.limit) this.events = this.events.slice(-this.limit);
  }

  /** The last `n` events (all kept ones by default), one line each; routine heartbeats only if asked. */
  lines(n = Infinity, opts: { routine: boolean } = { routine: true }): string[] {
    const shown = opts.routine ? this.events : this.events.filter((e) => !e.isRoutine);
    const kept = Math.min(n, this.limit, shown.length);
    return shown.slice(shown.length - kept).map((e) => this.format(e));
  }

  /** The kept events that mention `word` (a run id, say), the last `n` of them. */
  linesAbout(word: string, n: number): string[] {
    const about = new RegExp(`(^|[^\\w-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`);
    return this.events
      .filter((e) => about.test(`${e.kind} ${e.fate}`))
      .slice(-n)
      .map((e) => this.format(e));
  }

  /** A sim time as seconds since the simulation began, e.g. `+12.345s`. */
  time(at: number): string {
    return `+${((at - this.t0) / 1000).toFixed(3)}s`;
  }

  private format(e: TraceEvent): string {
    const who = e.to === undefined ? e.from : `${e.from} -> ${e.to}`;
    return `${this.time(e.at).padStart(10)}  ${who.padEnd(10)} ${e.kind}: ${e.fate}`;
  }
}
