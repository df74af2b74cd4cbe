import { isSystemTag } from '../hub/events.js';
import { closest } from './suggest.js';
/** `task.sign-off.good` -> task / sign-off / good. Ids hold no dots, so the middle is the id. */
export function parseTag(tag) {
    const first = tag.indexOf('.');
    const last = tag.lastIndexOf('.');
    const head = tag.slice(0, first);
    if (tag === 'trigger.good' || head === 'trigger')
        return { kind: 'trigger', id: '', suffix: tag.slice(first + 1) };
    if (first > 0 && last > first && (head === 'task' || head === 'merge')) {
        return { kind: head, id: tag.slice(first + 1, last), suffix: tag.slice(last + 1) };
    }
    return { kind: 'other', id: '', suffix: '' };
}
const STATUS = /^\d+$/;
/** Whether `node` can ever emit `tag`. */
export function canEmit(node, tag, endsRun) {
    const t = parseTag(tag);
    if (node.class === 'merge')
        return t.kind === 'merge' && t.id === node.id && t.suffix === 'good';
    if (t.kind !== 'task' || t.id !== node.id || endsRun(node.type))
        return false;
    if (node.useStatus)
        return STATUS.test(t.suffix);
    return t.suffix === 'good' || (t.suffix === 'bad' && !node.ignoreFail);
}
/** Whether some node of the flow (triggers included) can ever emit `tag`. */
export function isEmittable(flow, tag, endsRun) {
    return tag === 'trigger.good' || flow.nodes.some((n) => canEmit(n, tag, endsRun));
}
/**
 * Tags a node may emit, for listing and suggestions. A use-status task's statuses are
 * open-ended: its `good` statuses stand for the whole set.
 */
export function sampleTags(node, endsRun) {
    if (node.class === 'merge')
        return [`merge.${node.id}.good`];
    if (endsRun(node.type))
        return [];
    if (node.useStatus)
        return node.good.map((s) => `task.${node.id}.${s}`);
    return node.ignoreFail ? [`task.${node.id}.good`] : [`task.${node.id}.good`, `task.${node.id}.bad`];
}
/**
 * Why no node of `flow` can emit `tag` (with the closest tag that could be meant), or
 * undefined when the tag is fine. Listening to `.bad` of an ignore-fail task is legal, so
 * it is only a warning.
 */
export function judgeTag(flow, tag, endsRun) {
    if (isSystemTag(tag)) {
        return { severity: 'error', message: `"${tag}" is a system event; nodes never listen to sys.* tags` };
    }
    if (isEmittable(flow, tag, endsRun))
        return undefined;
    const t = parseTag(tag);
    const node = flow.nodes.find((n) => n.id === t.id);
    if (node?.class === 'task' && t.kind === 'task' && t.suffix === 'bad' && node.ignoreFail && !endsRun(node.type)) {
        return {
            severity: 'warning',
            message: `task ${node.id} has ignore-fail, so it never emits "${tag}"; what waits for it never runs`,
        };
    }
    const { why, instead } = whyNotEmitted(flow, t, node, endsRun);
    const candidates = ['trigger.good', ...flow.nodes.flatMap((n) => sampleTags(n, endsRun))];
    const near = instead !== undefined && isEmittable(flow, instead, endsRun) ? instead : closest(tag, candidates);
    const hint = near === undefined ? '' : `; did you mean "${near}"?`;
    return { severity: 'error', message: `no node in this flow can emit "${tag}": ${why}${hint}` };
}
function whyNotEmitted(flow, t, node, endsRun) {
    if (t.kind === 'other')
        return { why: 'tags look like trigger.good, task.<id>.good, task.<id>.bad or merge.<id>.good' };
    if (t.kind === 'trigger')
        return { why: 'triggers emit only trigger.good', instead: 'trigger.good' };
    if (node === undefined) {
        if (flow.triggers.some((tr) => tr.id === t.id)) {
            return { why: `"${t.id}" is a trigger, and triggers emit trigger.good`, instead: 'trigger.good' };
        }
        return { why: `there is no task or merge with id "${t.id}"` };
    }
    const good = `${node.class}.${node.id}.good`;
    if (node.class === 'merge') {
        const why = t.kind === 'task' ? `${node.id} is a merge; it emits ${good}` : 'a merge emits only merge.<id>.good';
        return { why, instead: good };
    }
    if (t.kind === 'merge')
        return { why: `${node.id} is a task, not a merge; it emits ${good}`, instead: good };
    return whyTaskDoesNotEmit(node, t.suffix, endsRun);
}
function whyTaskDoesNotEmit(task, suffix, endsRun) {
    const id = task.id;
    if (endsRun(task.type)) {
        const what = task.type === 'end' ? 'an end task' : `a ${task.type} task, which ends the run`;
        return { why: `${id} is ${what}: reaching it ends the run, and it emits nothing` };
    }
    if (task.useStatus) {
        return {
            why: `task ${id} has use-status, so it emits its exit status (task.${id}.0, task.${id}.1, ...) instead of good or bad`,
            instead: suffix === 'good' ? `task.${id}.0` : undefined,
        };
    }
    if (STATUS.test(suffix)) {
        return {
            why: `task ${id} emits only task.${id}.good and task.${id}.bad; set use-status: true on it to emit exit statuses`,
            instead: suffix === '0' ? `task.${id}.good` : `task.${id}.bad`,
        };
    }
    return { why: 'a task emits only task.<id>.good and task.<id>.bad' };
}
/**
 * Nodes that can never run: listening to tags that only unreachable nodes (or cycles) emit.
 * Everything starts from trigger.good; `assumeReached` nodes count as running.
 */
export function unreachableNodes(flow, endsRun, assumeReached = []) {
    const reached = new Set(assumeReached);
    const fires = (tag) => tag === 'trigger.good' || [...reached].some((n) => canEmit(n, tag, endsRun));
    let grew = true;
    while (grew) {
        grew = false;
        for (const n of flow.nodes) {
            if (reached.has(n))
                continue;
            const ready = n.class === 'task' ? fires(n.listen) : n.type === 'all' ? n.wait.every(fires) : n.wait.some(fires);
            if (ready) {
                reached.add(n);
                grew = true;
            }
        }
    }
    return flow.nodes.filter((n) => !reached.has(n));
}
/** Two tags of one task in an `all` merge can never both come: a task emits one tag per run. */
export function exclusiveWaits(wait) {
    const seen = new Map();
    for (const tag of wait) {
        const t = parseTag(tag);
        if (t.kind !== 'task')
            continue;
        const prev = seen.get(t.id);
        if (prev !== undefined && prev !== tag)
            return [prev, tag];
        seen.set(t.id, tag);
    }
    return undefined;
}
//# sourceMappingURL=tags.js.map