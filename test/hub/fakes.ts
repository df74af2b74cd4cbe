import { parseConfig } from '../../src/config/validate.js';
import type { Config } from '../../src/config/schema.js';
import { Hub } from '../../src/hub/hub.js';
import type { HubDeps } from '../../src/hub/deps.js';
import type { PublishedEvent } from '../../src/model/events.js';
import type { RunStatus } from '../../src/model/run.js';
import { manualClock, type ManualClock } from '../../src/testing/manual-clock.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import { dataNode } from '../../src/nodes/data.js';
import { endNode } from '../../src/nodes/end.js';
import { timerNode } from '../../src/nodes/timer.js';
import type { NodeRegistry, NodeType } from '../../src/nodes/node-type.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/store.js';

interface Held {
  resolve(status: number): void;
  signal: AbortSignal;
}

/**
 * `sim` tasks stand in for processes: `status` is the exit status they end with, `hold: name`
 * keeps them running until the test releases that name, `delay` waits on the clock first.
 */
export class SimControl {
  readonly started: string[] = [];
  readonly aborted: string[] = [];
  /** The template view each node saw when it started. */
  readonly vars = new Map<string, Record<string, unknown>>();
  private readonly held = new Map<string, Held>();
  private readonly heldWaiters = new Map<string, () => void>();

  readonly node: NodeType<{ status: number; hold?: string; delay?: number; lines?: string[]; pgid?: number }> = {
    type: 'sim',
    parseOpts: (raw) => ({
      status: typeof raw.status === 'number' ? raw.status : 0,
      hold: typeof raw.hold === 'string' ? raw.hold : undefined,
      delay: typeof raw.delay === 'number' ? raw.delay : undefined,
      lines: Array.isArray(raw.lines) ? raw.lines.map(String) : undefined,
      pgid: typeof raw.pgid === 'number' ? raw.pgid : undefined,
    }),
    execute: async (ctx, opts, signal) => {
      this.started.push(ctx.nodeId);
      this.vars.set(ctx.nodeId, structuredClone(ctx.vars));
      if (opts.pgid) ctx.onProcess(opts.pgid);
      for (const l of opts.lines ?? []) ctx.output('stdout', l);
      if (opts.delay) await ctx.clock.after(opts.delay, signal);
      if (!opts.hold) return { status: opts.status };
      const hold = opts.hold;
      const status = await new Promise<number>((resolve) => {
        this.held.set(hold, { resolve, signal });
        signal.addEventListener('abort', () => {
          this.aborted.push(ctx.nodeId);
          resolve(137);
        });
        this.heldWaiters.get(hold)?.();
      });
      this.held.delete(hold);
      return { status };
    },
  };

  /** Resolves once a task holding on `name` is running. */
  whenHeld(name: string): Promise<void> {
    if (this.held.has(name)) return Promise.resolve();
    return new Promise((r) => this.heldWaiters.set(name, r));
  }

  isHeld(name: string): boolean {
    return this.held.has(name);
  }

  release(name: string, status = 0): void {
    const h = this.held.get(name);
    if (!h) throw new Error(`nothing holds ${name}`);
    h.resolve(status);
  }
}

export function testConfig(yaml: string, registry: NodeRegistry): Config {
  const { config, problems } = parseConfig(yaml, 'test.yml', registry);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!config || errors.length > 0) throw new Error(`bad test config:\n${errors.map((p) => p.message).join('\n')}`);
  return config;
}

export interface TestHub {
  hub: Hub;
  clock: ManualClock;
  store: Store;
  sim: SimControl;
  events: PublishedEvent[];
  registry: NodeRegistry;
  /** Resolves with the run's final status once it is archived. */
  ended(run: string): Promise<{ status: RunStatus; reason?: string }>;
}

export function simRegistry(sim: SimControl): NodeRegistry {
  return createNodeRegistry([sim.node, dataNode, timerNode, endNode] as NodeType[]);
}

export async function startHub(
  yaml: string,
  opts: {
    store?: Store;
    sim?: SimControl;
    tags?: string[];
    host?: string;
    deps?: Partial<HubDeps>;
    edit?: (c: Config) => void;
    clockStart?: number;
    /** A clock shared with other hubs (a cluster in one process). */
    clock?: ManualClock;
  } = {},
): Promise<TestHub> {
  const sim = opts.sim ?? new SimControl();
  const registry = simRegistry(sim);
  const clock = opts.clock ?? manualClock(opts.clockStart);
  const store = opts.store ?? new MemoryStore();
  const config = testConfig(yaml, registry);
  opts.edit?.(config);
  const hub = new Hub(config, {
    hostName: opts.host ?? 'h1',
    hostTags: opts.tags ?? ['master'],
    clock,
    store,
    nodes: registry,
    workspaces: { pathOf: (ref, flow) => `/ws/${flow.id}/${flow.reuseSpace ? 'single' : ref.run}`, prepare: async () => {} },
    cacheDir: '/cache',
    ...opts.deps,
  });
  const events: PublishedEvent[] = [];
  const endWaiters = new Map<string, (e: { status: RunStatus; reason?: string }) => void>();
  const ends = new Map<string, { status: RunStatus; reason?: string }>();
  hub.subscribe((e) => {
    events.push(e);
    if (e.kind === 'end') {
      ends.set(e.ref.run, { status: e.status, reason: e.reason });
      endWaiters.get(e.ref.run)?.({ status: e.status, reason: e.reason });
    }
  });
  await hub.start();
  return {
    hub,
    clock,
    store,
    sim,
    events,
    registry,
    ended: (run) => {
      const done = ends.get(run);
      if (done) return Promise.resolve(done);
      return new Promise((r) => endWaiters.set(run, r));
    },
  };
}

/** Tags of the node events of one run, in routing order. */
export function tagsOf(events: PublishedEvent[], run: string): string[] {
  return events.filter((e) => e.kind === 'node' && e.ref.run === run).map((e) => e.tag);
}
