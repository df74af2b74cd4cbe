import type { Config } from '../../src/config/schema.js';
import type { HubDeps } from '../../src/hub/deps.js';
import { EventForwarder } from '../../src/host/event-forwarder.js';
import { manualClock, type ManualClock } from '../../src/testing/manual-clock.js';
import { MemoryNetwork } from '../../src/testing/memory-network.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SimControl, startHub, type TestHub } from '../hub/fakes.js';

export interface HostSpec {
  name: string;
  tags?: string[];
  maxRuns?: number;
}

export interface TestCluster {
  clock: ManualClock;
  net: MemoryNetwork;
  hubs: Map<string, TestHub>;
  sim: SimControl;
  url(name: string): string;
  hub(name: string): TestHub;
  /** Start `name` again on its store (after `net.setDown` and dropping it, as a crash would). */
  restart(name: string): Promise<TestHub>;
  /** Advance the clock in 50 ms steps until `cond` holds (at most `limitMs`); throws if it never does. */
  until(cond: () => boolean, limitMs?: number): Promise<void>;
  /** Let heartbeats and replies settle. */
  settle(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Hubs in one process on one manual clock, talking over a MemoryNetwork; every host lists every other. */
export async function startCluster(
  yaml: string,
  specs: HostSpec[],
  edit?: (c: Config, name: string) => void,
  /** More deps for every hub (a fake git poller, say). */
  extraDeps: Partial<HubDeps> = {},
): Promise<TestCluster> {
  const clock = manualClock();
  const net = new MemoryNetwork();
  const sim = new SimControl();
  const url = (name: string) => `http://${name}.test`;
  const hosts = specs.map((s) => url(s.name));
  const stores = new Map(specs.map((s) => [s.name, new MemoryStore()]));
  const hubs = new Map<string, TestHub>();
  // Each host's own events go to watching peers, as src/host wires it.
  const forwarders = new Map<string, EventForwarder>();
  const boot = new Map<string, number>();
  const startOne = async (spec: HostSpec) => {
    const n = (boot.get(spec.name) ?? 0) + 1;
    boot.set(spec.name, n);
    const t = await startHub(yaml, {
      clock,
      sim,
      host: spec.name,
      tags: spec.tags ?? ['linux'],
      store: stores.get(spec.name),
      edit: (c) => {
        c.common.hosts = hosts;
        edit?.(c, spec.name);
      },
      deps: {
        ...extraDeps,
        maxRuns: spec.maxRuns,
        cluster: { peers: net.peersOf(url(spec.name)), selfUrl: url(spec.name), version: 'test', boot: `${spec.name}-${n}` },
      },
    });
    net.attach(url(spec.name), t.hub);
    hubs.set(spec.name, t);
    forwarders.get(spec.name)?.close();
    forwarders.set(
      spec.name,
      new EventForwarder({
        hub: t.hub,
        peers: net.peersOf(url(spec.name)),
        selfUrl: url(spec.name),
        log: { warn: () => {} },
        // A batch per turn of the loop: the manual clock moves no real timer.
        defer: (fn) => void setImmediate(fn),
      }),
    );
    return t;
  };
  for (const s of specs) await startOne(s);
  const cluster: TestCluster = {
    clock,
    net,
    hubs,
    sim,
    url,
    hub: (name) => {
      const t = hubs.get(name);
      if (!t) throw new Error(`no host ${name}`);
      return t;
    },
    restart: async (name) => {
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new Error(`no host ${name}`);
      net.setDown(url(name), false);
      return startOne(spec);
    },
    until: async (cond, limitMs = 30_000) => {
      for (let waited = 0; !cond(); waited += 50) {
        if (waited >= limitMs) throw new Error(`condition not met within ${limitMs} ms of sim time`);
        await clock.advance(50);
      }
    },
    settle: async (ms = 1_000) => {
      for (let i = 0; i < ms / 50; i++) await clock.advance(50);
    },
    stop: async () => {
      for (const t of hubs.values()) await t.hub.stop(0);
      for (const f of forwarders.values()) f.close();
    },
  };
  await cluster.settle(600);
  return cluster;
}
