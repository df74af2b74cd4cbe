import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../hub/hub.js';

/** Prometheus metrics of one host, fed by hub events (no polling). */
export class Metrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'flow' | 'status'>;
  private readonly startLatency: Histogram<'flow'>;
  readonly wsClients: Gauge;
  private readonly created = new Map<string, number>();

  /** `spawner` says how tasks start now (it changes if the helper dies). */
  constructor(hub: Hub, spawner?: () => string) {
    this.runs = new Counter({
      name: 'floe_runs_total',
      help: 'Runs that ended, by flow and status',
      labelNames: ['flow', 'status'],
      registers: [this.registry],
    });
    this.startLatency = new Histogram({
      name: 'floe_trigger_to_start_seconds',
      help: 'Time from a trigger being adopted to its run starting on this host',
      labelNames: ['flow'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
      registers: [this.registry],
    });
    new Gauge({
      name: 'floe_pending_runs',
      help: 'Pends waiting on this host',
      registers: [this.registry],
      collect() {
        this.set(hub.listPending().length);
      },
    });
    new Gauge({
      name: 'floe_active_runs',
      help: 'Runs executing on this host',
      registers: [this.registry],
      collect() {
        this.set(hub.listActive().length);
      },
    });
    if (spawner) {
      new Gauge({
        name: 'floe_task_spawner',
        help: 'How tasks start: 1 for the spawner in use (helper: posix_spawn helper; node: Node spawn)',
        labelNames: ['spawner'],
        registers: [this.registry],
        collect() {
          const now = spawner();
          for (const s of new Set(['helper', 'node', now])) this.set({ spawner: s }, s === now ? 1 : 0);
        },
      });
    }
    this.wsClients = new Gauge({ name: 'floe_websocket_clients', help: 'Connected websocket clients', registers: [this.registry] });
    hub.subscribe((e) => {
      // Another host's events, forwarded for the websocket, are counted by that host.
      if (e.host !== hub.hostName) return;
      if (e.kind === 'add-pend') this.created.set(e.ref.run, e.at);
      else if (e.kind === 'activate') {
        const t0 = this.created.get(e.ref.run);
        this.created.delete(e.ref.run);
        if (t0 !== undefined) this.startLatency.observe({ flow: e.ref.flowRef.id }, (e.at - t0) / 1000);
      } else if (e.kind === 'end') {
        this.created.delete(e.ref.run);
        this.runs.inc({ flow: e.ref.flowRef.id, status: e.status });
      }
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
