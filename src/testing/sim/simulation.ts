import type { Config } from '../../config/schema.js';
import type { HubLog } from '../../hub/deps.js';
import { Hub } from '../../hub/hub.js';
import type { RunRecord } from '../../model/run.js';
import type { NodeRegistry, NodeResult } from '../../nodes/node-type.js';
import { MemoryStore } from '../../store/memory.js';
import { manualClock, type ManualClock } from '../manual-clock.js';
import { ExecutionLedger, type Execution } from './executions.js';
import { DEFAULT_FLOWS, parseSimConfig, simRegistry } from './flows.js';
import { HostProcess } from './host-process.js';
import { SimNetwork } from './network.js';
import { Prng } from './prng.js';
import { Trace } from './trace.js';

/** Faults a simulation injects; each is off unless set. */
export interface SimFaults {
  /** Chance that a request, or its reply, is lost. */
  drop?: number;
  /** Chance that a request is delivered twice. */
  dup?: number;
  /** Split the hosts in two for a while. */
  partitions?: boolean;
  /** Freeze a host (no messages, no timers) for a while. */
  pauses?: boolean;
  /** Kill a host's process and start it again later on its store. */
  restarts?: boolean;
  /** Chance per step that a partition, pause or kill begins. Default 0.01 (about one a second). */
  rate?: number;
  /** Longest message delay in ms. Default 50. */
  maxDelayMs?: number;
}

/** Every fault, at the rates `npm run sim` and the test suite use. */
export const ALL_FAULTS: SimFaults = { drop: 0.05, dup: 0.05, partitions: true, pauses: true, restarts: true };

export interface SimulationOptions {
  seed: number;
  /** How many hosts: h1..hn at http://h1.sim ... */
  hosts: number;
  faults?: SimFaults;
  /** The config's `flows:` part, in YAML; tasks use type `work` (see flows.ts). Default DEFAULT_FLOWS. */
  flows?: string;
  /** Tags of h1, h2, ...; default every host `linux`, odd ones (h1, h3, ...) `gpu` too. */
  hostTags?: string[][];
  /** `-max_runs` of h1, h2, ... (undefined: no limit); default: the last host of two or more has 2. */
  maxRuns?: Array<number | undefined>;
  /** Keep only the last this-many trace events. Default: all. */
  traceLimit?: number;
  /** heal() gives the cluster this long (sim ms) to finish every run. Default 120,000. */
  quietWithinMs?: number;
}

export interface RunOptions {
  steps: number;
  /** How many triggers, spread over the steps. */
  triggers: number;
}

/** A broken invariant: names the seed, how to replay it, and the trace that led there. */
export class SimulationError extends Error {
  constructor(
    readonly seed: number,
    readonly problems: string[],
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What a host is across restarts. */
interface HostSpec {
  name: string;
  url: string;
  tags: string[];
  maxRuns?: number;
  /** Kept across restarts, as a disk would be. */
  store: MemoryStore;
}

interface SimHost extends HostSpec {
  /** The current process (dead while the host is down) and its hub. */
  process: HostProcess;
  hub: Hub;
  downUntil?: number;
  pausedUntil?: number;
}

const T0 = 1_700_000_000_000;
const STEP_MAX_MS = 20;
const QUIET_MS = 3_000;

/**
 * Several hubs in one process on one manual clock, each with its own store, talking over a
 * seeded SimNetwork (STYLE.md "Protocols are state machines, transports are ports"; issue 8,
 * Proof). `run` triggers flows and injects faults on a seeded schedule; `heal` ends every fault
 * and lets the cluster finish; `assertInvariants` checks that no task ran twice, no two runs
 * sharing a resource tag ran at once, and every acknowledged run was archived exactly once.
 * The same seed replays the same trace: nothing here reads real time or Math.random.
 */
export class Simulation {
  readonly seed: number;
  readonly clock: ManualClock;
  readonly trace: Trace;
  readonly ledger: ExecutionLedger;
  readonly network: SimNetwork;
  private readonly hosts: SimHost[] = [];
  private readonly config: Config;
  private readonly faults: SimFaults;
  private readonly schedule: Prng;
  private readonly taskRng: Prng;
  private readonly violations: string[] = [];
  /** Acknowledged run id -> host that acknowledged it. */
  readonly acknowledged = new Map<string, string>();
  private partitionUntil?: number;
  private runOpts?: RunOptions;
  /** Where the simulation is, for a failure's first line. */
  private phase = 'start';
  readonly counts = { triggers: 0, kills: 0, pauses: 0, partitions: 0 };

  constructor(private readonly opts: SimulationOptions) {
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1) throw new RangeError(`hosts must be a whole number >= 1, got ${opts.hosts}`);
    this.seed = opts.seed;
    this.faults = opts.faults ?? {};
    this.clock = manualClock(T0);
    this.trace = new Trace(T0, opts.traceLimit);
    this.ledger = new ExecutionLedger((at) => this.trace.time(at));
    this.schedule = new Prng(opts.seed, 'schedule');
    this.taskRng = new Prng(opts.seed, 'tasks');
    this.network = new SimNetwork(
      this.clock,
      new Prng(opts.seed, 'network'),
      { drop: this.faults.drop, dup: this.faults.dup, maxDelayMs: this.faults.maxDelayMs },
      (e) => this.trace.add(e),
      (url) => this.hosts.find((h) => h.url === url)?.name ?? url,
    );
    const names = Array.from({ length: opts.hosts }, (_, i) => `h${i + 1}`);
    const urls = names.map((n) => `http://${n}.sim`);
    this.config = parseSimConfig(`common:\n  hosts: [${urls.join(', ')}]\n${opts.flows ?? DEFAULT_FLOWS}`);
    names.forEach((name, i) => {
      const tags = opts.hostTags?.[i] ?? (i % 2 === 0 ? ['linux', 'gpu'] : ['linux']);
      const maxRuns = opts.maxRuns ? opts.maxRuns[i] : i > 0 && i === names.length - 1 ? 2 : undefined;
      const spec: HostSpec = { name, url: urls[i] ?? '', tags, maxRuns, store: new MemoryStore() };
      this.hosts.push({ ...spec, ...this.startProcess(spec, 1) });
    });
  }

  get hostNames(): string[] {
    return this.hosts.map((h) => h.name);
  }

  /** The hub of a host's current process. */
  hub(name: string): Hub {
    return this.host(name).hub;
  }

  /** Trigger flows and inject faults on the seeded schedule, advancing the clock 1-20 ms a step. */
  async run(opts: RunOptions): Promise<void> {
    this.runOpts = opts;
    const flows = this.config.flows.filter((f) => f.triggers.some((t) => t.type === 'data')).map((f) => f.id);
    let left = opts.triggers;
    // Steps where nothing happens are advanced over in one go: the clock fires the same timers
    // in the same order, with far fewer turns of the event loop.
    let owed = 0;
    const catchUp = async () => {
      if (owed === 0) return;
      await this.clock.advance(owed);
      owed = 0;
      this.throwIfBroken();
    };
    for (let i = 0; i < opts.steps; i++) {
      this.phase = `step ${i} of ${opts.steps}`;
      if (this.firstFaultEnd() <= this.clock.now() + owed) {
        await catchUp();
        this.endFaultsDue();
      }
      // Selection sampling: exactly `triggers` steps trigger, spread evenly at random.
      const triggers = left > 0 && this.schedule.chance(left / (opts.steps - i));
      const faults = this.schedule.chance(this.faults.rate ?? 0.01);
      if (triggers || faults) await catchUp();
      if (triggers) {
        left--;
        this.triggerSomewhere(flows);
      }
      if (faults) this.injectFault();
      owed += this.schedule.between(1, STEP_MAX_MS);
    }
    await catchUp();
  }

  /**
   * End every fault (heal partitions, resume paused hosts, restart dead ones, stop losing and
   * duplicating messages), then advance time until no run is pending or active anywhere and it
   * stays so for 3 s, or `quietWithinMs` passes.
   */
  async heal(): Promise<void> {
    this.phase = 'heal';
    this.network.setFaults({ maxDelayMs: this.faults.maxDelayMs });
    this.healPartition();
    for (const h of this.hosts) {
      if (h.pausedUntil !== undefined) this.resume(h.name);
      if (!h.process.isAlive) this.restart(h.name);
    }
    const deadline = this.clock.now() + (this.opts.quietWithinMs ?? 120_000);
    let quietSince: number | undefined;
    while (this.clock.now() < deadline) {
      await this.clock.advance(250);
      this.throwIfBroken();
      if (!(await this.isQuiet())) quietSince = undefined;
      else if (quietSince === undefined) quietSince = this.clock.now();
      // Quiet for longer than a peer takes to be seen offline (2 s) and a message to come late
      // (1 s), so a retry or a late duplicate would have stirred something by now.
      else if (this.clock.now() - quietSince >= QUIET_MS) return;
    }
  }

  /**
   * Throws a SimulationError if any invariant is broken: a task executed twice, two runs
   * sharing a resource tag running at once, or (after heal) a run left pending or active
   * anywhere, or an acknowledged run not archived exactly once across the hosts' stores.
   */
  async assertInvariants(): Promise<void> {
    this.phase = 'final check';
    const problems = [...this.violations];
    const archivedOn = new Map<string, string[]>();
    for (const h of this.hosts) {
      for (const r of await h.store.listPending()) problems.push(`run ${r.ref.run} is still pending on ${h.name}${waiting(r)}`);
      for (const r of await h.store.listActive()) problems.push(`run ${r.ref.run} is still active on ${h.name}`);
      for (const r of await listWholeArchive(h.store)) {
        const on = archivedOn.get(r.ref.run) ?? [];
        on.push(h.name);
        archivedOn.set(r.ref.run, on);
      }
    }
    for (const [run, host] of this.acknowledged) {
      if (!archivedOn.has(run)) problems.push(`run ${run}, acknowledged by ${host}, was never archived`);
    }
    for (const [run, on] of archivedOn) {
      if (on.length > 1) problems.push(`run ${run} is archived ${on.length} times (on ${on.join(', ')})`);
    }
    if (problems.length > 0) throw this.failure(problems);
  }

  /** Counts for a summary line. */
  stats(): Record<string, number> {
    return {
      ...this.counts,
      acknowledged: this.acknowledged.size,
      executions: this.ledger.all.length,
      ...this.network.counts,
      traceEvents: this.trace.count,
    };
  }

  // ---- faults ---------------------------------------------------------------------------

  /** The host's process dies at once: its store and clock go dead, its tasks stop, nothing reaches it. */
  kill(name: string): void {
    const h = this.host(name);
    if (!h.process.isAlive) return;
    h.process.kill();
    this.network.kill(h.url);
    h.pausedUntil = undefined;
    this.counts.kills++;
    this.event(name, 'kill', `process of boot ${h.process.boot} dies`);
    for (const e of this.ledger.runningOn(name, h.process.boot)) this.endExecution(e, 'stopped: host killed');
  }

  /** A new process of the host on the same store contents. */
  restart(name: string): void {
    const h = this.host(name);
    if (h.process.isAlive) this.kill(name);
    h.downUntil = undefined;
    Object.assign(h, this.startProcess(h, h.process.boot + 1));
    this.event(name, 'restart', `boot ${h.process.boot}`);
  }

  /** The host freezes: no message in or out, no timer fires, until `resume`. */
  pause(name: string, until = Infinity): void {
    const h = this.host(name);
    if (!h.process.isAlive || h.pausedUntil !== undefined) return;
    h.pausedUntil = until;
    h.process.pause();
    this.network.pause(h.url);
    this.counts.pauses++;
    this.event(name, 'pause', until === Infinity ? 'until resumed' : `until ${this.trace.time(until)}`);
  }

  resume(name: string): void {
    const h = this.host(name);
    if (h.pausedUntil === undefined) return;
    h.pausedUntil = undefined;
    this.event(name, 'resume', 'held messages and timers go on');
    this.network.resume(h.url);
    h.process.resume();
  }

  /** Hosts in different groups cannot reach each other until healPartition(). */
  partition(groups: string[][], until = Infinity): void {
    this.network.partition(groups.map((g) => g.map((n) => this.host(n).url)));
    this.partitionUntil = until;
    this.counts.partitions++;
    this.event('net', 'partition', `${groups.map((g) => `[${g.join(' ')}]`).join(' | ')}`);
  }

  healPartition(): void {
    if (this.partitionUntil === undefined) return;
    this.partitionUntil = undefined;
    this.network.heal();
    this.event('net', 'heal', 'partition ends');
  }

  private injectFault(): void {
    const up = this.hosts.filter((h) => h.process.isAlive && h.pausedUntil === undefined);
    const kinds: Array<'partition' | 'pause' | 'kill'> = [];
    if (this.faults.partitions && this.partitionUntil === undefined && this.hosts.length > 1) kinds.push('partition');
    if (this.faults.pauses && up.length > 0) kinds.push('pause');
    if (this.faults.restarts && up.length > 0) kinds.push('kill');
    if (kinds.length === 0) return;
    const now = this.clock.now();
    switch (this.schedule.pick(kinds)) {
      case 'partition': {
        const names = shuffle(this.schedule, this.hostNames);
        const cut = this.schedule.between(1, names.length - 1);
        this.partition([names.slice(0, cut), names.slice(cut)], now + this.schedule.between(200, 4_000));
        return;
      }
      case 'pause':
        // Up to 3 s: past the 1 s reply timeout, and sometimes past the 2 s offline threshold.
        this.pause(this.schedule.pick(up).name, now + this.schedule.between(100, 3_000));
        return;
      case 'kill': {
        const h = this.schedule.pick(up);
        this.kill(h.name);
        h.downUntil = now + this.schedule.between(0, 3_000);
        return;
      }
    }
  }

  /** When the next partition, pause or downtime ends (Infinity: none is on). */
  private firstFaultEnd(): number {
    let first = this.partitionUntil ?? Infinity;
    for (const h of this.hosts) first = Math.min(first, h.pausedUntil ?? Infinity, h.downUntil ?? Infinity);
    return first;
  }

  private endFaultsDue(): void {
    const now = this.clock.now();
    if (this.partitionUntil !== undefined && this.partitionUntil <= now) this.healPartition();
    for (const h of this.hosts) {
      if (h.pausedUntil !== undefined && h.pausedUntil <= now) this.resume(h.name);
      if (h.downUntil !== undefined && h.downUntil <= now) this.restart(h.name);
    }
  }

  // ---- hosts and tasks ------------------------------------------------------------------

  private startProcess(h: HostSpec, boot: number): { process: HostProcess; hub: Hub } {
    const proc = new HostProcess(boot, this.clock, h.store);
    // Messages arrive on later clock ticks, never while the hub below is being built.
    const peers = this.network.attach(h.url, (req) => hub.receivePeer(req));
    const hub = new Hub(this.config, {
      hostName: h.name,
      hostTags: h.tags,
      clock: proc.clock,
      store: proc.store,
      nodes: this.registryFor(h, proc),
      workspaces: { pathOf: (ref, flow) => `/ws/${h.name}/${flow.id}/${flow.reuseSpace ? 'shared' : ref.run}`, prepare: async () => {} },
      cacheDir: '/cache',
      log: this.logFor(h, proc),
      maxRuns: h.maxRuns,
      cluster: { peers, selfUrl: h.url, version: 'sim', boot: `${h.name}.${proc.boot}` },
    });
    hub.start().catch((err: unknown) => {
      if (proc.isAlive) this.event(h.name, 'start', `failed: ${messageOf(err)}`);
    });
    return { process: proc, hub };
  }

  private triggerSomewhere(flows: string[]): void {
    const up = this.hosts.filter((h) => h.process.isAlive && h.pausedUntil === undefined);
    if (up.length === 0 || flows.length === 0) return;
    const h = this.schedule.pick(up);
    const flow = this.schedule.pick(flows);
    const proc = h.process;
    this.counts.triggers++;
    this.event(h.name, 'trigger', flow);
    h.hub.trigger(flow).then(
      (refs) => {
        for (const r of refs) {
          // A dead process answers nobody: the client never heard of the run.
          if (!proc.isAlive) return;
          this.acknowledged.set(r.run, h.name);
          this.event(h.name, 'acked', `${r.run} (${flow})`);
        }
      },
      (err: unknown) => this.event(h.name, 'trigger failed', `${flow}: ${messageOf(err)}`),
    );
  }

  private registryFor(h: HostSpec, proc: HostProcess): NodeRegistry {
    return simRegistry(async (ctx, opts, signal) => {
      // A process killed before its queue reached this task starts nothing.
      if (!proc.isAlive) return new Promise<NodeResult>(() => {});
      const run = ctx.ref.run;
      const flow = this.config.flows.find((f) => f.id === ctx.ref.flowRef.id && f.ver === ctx.ref.flowRef.ver);
      const tags = flow?.resourceTags ?? [];
      const ms = this.taskRng.between(opts.minMs, opts.maxMs);
      const fails = this.taskRng.chance(opts.failRate);
      const { exec, broken } = this.ledger.start(
        { run, node: ctx.nodeId, host: h.name, boot: proc.boot, start: this.clock.now(), tags },
        h.maxRuns,
      );
      this.event(h.name, 'exec', `${run} ${ctx.nodeId} starts (${ms} ms${tags.length > 0 ? `, holds ${tags.join(' ')}` : ''})`);
      this.violations.push(...broken);
      try {
        await ctx.clock.after(ms, signal);
      } catch {
        this.endExecution(exec, 'stopped');
        return { status: 137, reason: 'stopped' };
      }
      this.endExecution(exec, fails ? 'exit 1' : 'exit 0');
      return { status: fails ? 1 : 0 };
    });
  }

  private endExecution(e: Execution, how: string): void {
    if (e.end !== undefined) return;
    this.ledger.end(e, this.clock.now());
    this.event(e.host, 'exec', `${e.run} ${e.node} ends: ${how}`);
  }

  private logFor(h: HostSpec, proc: HostProcess): HubLog {
    const write = (level: string) => (obj: object, msg: string) => {
      if (proc.isAlive) this.event(h.name, `log ${level}`, `${msg}${fields(obj)}`);
    };
    return { info: write('info'), warn: write('warn'), error: write('error') };
  }

  private async isQuiet(): Promise<boolean> {
    for (const h of this.hosts) {
      if (h.hub.listPending().length > 0 || h.hub.listActive().length > 0) return false;
      if ((await h.store.listPending()).length > 0 || (await h.store.listActive()).length > 0) return false;
    }
    return true;
  }

  private host(name: string): SimHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}; hosts are ${this.hostNames.join(', ')}`);
    return h;
  }

  private event(from: string, kind: string, fate: string): void {
    this.trace.add({ at: this.clock.now(), from, kind, fate });
  }

  private throwIfBroken(): void {
    if (this.violations.length > 0) throw this.failure(this.violations);
  }

  /** How to run this simulation again from the command line. */
  replayCommand(): string {
    const r = this.runOpts;
    const args = [`--seed ${this.seed}`, `--hosts ${this.opts.hosts}`];
    if (r) args.push(`--steps ${r.steps}`, `--triggers ${r.triggers}`);
    const custom =
      this.opts.flows !== undefined ||
      this.opts.hostTags !== undefined ||
      this.opts.maxRuns !== undefined ||
      !sameFaults(this.faults, ALL_FAULTS);
    return `npm run sim -- ${args.join(' ')}${custom ? '  (with this simulation’s own flows/faults; see its options)' : ''}`;
  }

  private failure(problems: string[]): SimulationError {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
    const tail = this.trace.lines(200, { routine: false });
    // A run stuck at the end may have done nothing for a long while: its own story comes first.
    const runs = [...new Set(problems.flatMap((p) => p.match(/\bh\d+-\d+\b/g) ?? []))].slice(0, 3);
    const stories = runs.flatMap((run) => [`what happened to ${run}:`, ...this.trace.linesAbout(run, 40).map((l) => `  ${l}`)]);
    const message = [
      `simulation seed ${this.seed} broke an invariant (${this.phase}, ${this.trace.time(this.clock.now())}):`,
      ...shown.map((p) => `  ${p}`),
      `replay: ${this.replayCommand()}`,
      ...stories,
      `last ${tail.length} of ${this.trace.count} trace lines (heartbeats that went as they should are left out):`,
      ...tail.map((l) => `  ${l}`),
    ].join('\n');
    return new SimulationError(this.seed, [...problems], message);
  }
}

async function listWholeArchive(store: MemoryStore): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.listArchive({ limit: 1000, before });
    out.push(...page.runs);
    if (page.next === undefined) return out;
    before = page.next;
  }
}

function shuffle<T>(rng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function waiting(r: RunRecord): string {
  return r.waiting ? ` (waiting: ${r.waiting})` : '';
}

function fields(obj: object): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const shown = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
    parts.push(`${k}=${shown}`);
  }
  const s = parts.length > 0 ? ` {${parts.join(', ')}}` : '';
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sameFaults(a: SimFaults, b: SimFaults): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof SimFaults>);
  return [...keys].every((k) => a[k] === b[k]);
}
