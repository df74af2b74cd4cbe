import { parseConfig } from '../../src/config/validate.js';
import { Hub } from '../../src/hub/hub.js';
import { manualClock } from '../../src/hub/manual-clock.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import { dataNode } from '../../src/nodes/data.js';
import { endNode } from '../../src/nodes/end.js';
import { timerNode } from '../../src/nodes/timer.js';
import { MemoryStore } from '../../src/store/memory.js';
/**
 * `sim` tasks stand in for processes: `status` is the exit status they end with, `hold: name`
 * keeps them running until the test releases that name, `delay` waits on the clock first.
 */
export class SimControl {
    started = [];
    aborted = [];
    held = new Map();
    heldWaiters = new Map();
    node = {
        type: 'sim',
        parseOpts: (raw) => ({
            status: typeof raw.status === 'number' ? raw.status : 0,
            hold: typeof raw.hold === 'string' ? raw.hold : undefined,
            delay: typeof raw.delay === 'number' ? raw.delay : undefined,
            lines: Array.isArray(raw.lines) ? raw.lines.map(String) : undefined,
        }),
        execute: async (ctx, opts, signal) => {
            this.started.push(ctx.nodeId);
            for (const l of opts.lines ?? [])
                ctx.output('stdout', l);
            if (opts.delay)
                await ctx.clock.after(opts.delay, signal);
            if (!opts.hold)
                return { status: opts.status };
            const hold = opts.hold;
            const status = await new Promise((resolve) => {
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
    whenHeld(name) {
        if (this.held.has(name))
            return Promise.resolve();
        return new Promise((r) => this.heldWaiters.set(name, r));
    }
    isHeld(name) {
        return this.held.has(name);
    }
    release(name, status = 0) {
        const h = this.held.get(name);
        if (!h)
            throw new Error(`nothing holds ${name}`);
        h.resolve(status);
    }
}
export function testConfig(yaml, registry) {
    const { config, problems } = parseConfig(yaml, 'test.yml', registry);
    const errors = problems.filter((p) => p.severity === 'error');
    if (!config || errors.length > 0)
        throw new Error(`bad test config:\n${errors.map((p) => p.message).join('\n')}`);
    return config;
}
export function simRegistry(sim) {
    return createNodeRegistry([sim.node, dataNode, timerNode, endNode]);
}
export async function startHub(yaml, opts = {}) {
    const sim = opts.sim ?? new SimControl();
    const registry = simRegistry(sim);
    const clock = manualClock();
    const store = opts.store ?? new MemoryStore();
    const config = testConfig(yaml, registry);
    const hub = new Hub(config, {
        hostName: opts.host ?? 'h1',
        hostTags: opts.tags ?? ['master'],
        clock,
        store,
        nodes: registry,
        workspaces: { prepare: async (ref, flow) => `/ws/${flow.id}/${flow.reuseSpace ? 'single' : ref.run}` },
        cacheDir: '/cache',
        ...opts.deps,
    });
    const events = [];
    const endWaiters = new Map();
    const ends = new Map();
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
            if (done)
                return Promise.resolve(done);
            return new Promise((r) => endWaiters.set(run, r));
        },
    };
}
/** Tags of the node events of one run, in routing order. */
export function tagsOf(events, run) {
    return events.filter((e) => e.kind === 'node' && e.ref.run === run).map((e) => e.tag);
}
//# sourceMappingURL=fakes.js.map