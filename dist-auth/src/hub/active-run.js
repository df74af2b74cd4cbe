import { listenersOf } from './listeners.js';
/** In-memory state of a run executing on this host; the record is what gets persisted. */
export class ActiveRun {
    record;
    flow;
    listeners;
    mergeSeen = new Map();
    mergeFired = new Set();
    running = new Map();
    dataWaiters = new Map();
    /** Events of this run enqueued but not routed yet. */
    inFlight = 0;
    /** Waiting for the flow-file to load. */
    loading = false;
    ending;
    vars = {};
    env = {};
    outputN = 0;
    outBuf = [];
    outFlush = Promise.resolve();
    outScheduled = false;
    constructor(record, flow) {
        this.record = record;
        this.flow = flow;
        this.listeners = listenersOf(flow);
    }
    setFlow(flow) {
        this.flow = flow;
        this.listeners = listenersOf(flow);
    }
    /** Nothing executing, nothing in flight: the run can make no further progress by itself. */
    isIdle() {
        return !this.ending && !this.loading && this.running.size === 0 && this.inFlight === 0;
    }
    /** Records a tag arriving at a merge; true when the merge fires now. */
    mergeArrive(id, type, wait, tag) {
        if (this.mergeFired.has(id))
            return false;
        let seen = this.mergeSeen.get(id);
        if (!seen)
            this.mergeSeen.set(id, (seen = new Set()));
        seen.add(tag);
        const fires = type === 'any' || wait.every((w) => seen.has(w));
        if (fires)
            this.mergeFired.add(id);
        return fires;
    }
    /** Merges that heard some but not all of their tags: why an idle run is stuck. */
    stalledMerges() {
        const out = [];
        for (const [id, seen] of this.mergeSeen) {
            if (this.mergeFired.has(id))
                continue;
            const merge = this.flow.nodes.find((n) => n.id === id);
            if (merge?.class !== 'merge')
                continue;
            const missing = merge.wait.filter((w) => !seen.has(w));
            out.push(`merge ${id} still waits for ${missing.join(', ')}`);
        }
        return out;
    }
}
//# sourceMappingURL=active-run.js.map