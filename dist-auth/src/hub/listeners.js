const NONE = { tasks: [], merges: [] };
/** Tag -> listening nodes, built once per flow config so routing an event is one map lookup. */
export class ListenerIndex {
    byTag = new Map();
    constructor(flow) {
        for (const node of flow.nodes) {
            if (node.class === 'task')
                this.entry(node.listen).tasks.push(node);
            else
                for (const tag of new Set(node.wait))
                    this.entry(tag).merges.push(node);
        }
    }
    of(tag) {
        return this.byTag.get(tag) ?? NONE;
    }
    entry(tag) {
        let l = this.byTag.get(tag);
        if (!l)
            this.byTag.set(tag, (l = { tasks: [], merges: [] }));
        return l;
    }
}
const cache = new WeakMap();
export function listenersOf(flow) {
    let idx = cache.get(flow);
    if (!idx)
        cache.set(flow, (idx = new ListenerIndex(flow)));
    return idx;
}
/** The tag a finished task emits, and whether that event is good. */
export function taskOutcome(task, status) {
    const succeeded = task.good.includes(status);
    if (task.useStatus)
        return { tag: `task.${task.id}.${status}`, good: succeeded, succeeded };
    const good = succeeded || task.ignoreFail;
    return { tag: `task.${task.id}.${good ? 'good' : 'bad'}`, good, succeeded };
}
//# sourceMappingURL=listeners.js.map