/**
 * Decides which pends may start on this host now. Pure: no I/O, no clock.
 *
 * Pends are taken in arrival order, and a pend that must wait reserves its resource tags and
 * its reuse-space workspace against the pends behind it, so a later pend never overtakes an
 * earlier one for the same resource (no starvation), while unrelated pends start at once.
 *
 * A queued pend names the pend just ahead of it rather than the run holding the resource, so
 * when a run ends only the next pend's reason changes: with n pends queued on one tag, a run
 * ending costs O(1) reason updates (each persisted and published), not O(n).
 */
export function placePends(pends, host, active) {
    const holders = new Map(); // resource tag -> run holding it
    const busySpaces = new Map(); // flow id -> run using its shared workspace
    for (const a of active)
        hold(a, holders, busySpaces);
    const reserved = new Map(); // resource tag -> earlier waiting pend
    const reservedSpaces = new Map();
    const hostTags = new Set(host.tags);
    return pends.map((p) => {
        const missing = p.hostTags.filter((t) => !hostTags.has(t));
        if (missing.length > 0) {
            return {
                run: p.run,
                start: false,
                reason: `no host with tags [${p.hostTags.join(', ')}]: ${host.name} has [${host.tags.join(', ')}], missing [${missing.join(', ')}]`,
            };
        }
        const reason = blockedBy(p, holders, busySpaces, reserved, reservedSpaces);
        if (reason) {
            for (const t of p.resourceTags)
                reserved.set(t, p.run);
            if (p.reuseSpace)
                reservedSpaces.set(p.flowId, p.run);
            return { run: p.run, start: false, reason };
        }
        hold(p, holders, busySpaces);
        return { run: p.run, start: true };
    });
}
function hold(r, holders, busySpaces) {
    for (const t of r.resourceTags)
        holders.set(t, r.run);
    if (r.reuseSpace)
        busySpaces.set(r.flowId, r.run);
}
function blockedBy(p, holders, busySpaces, reserved, reservedSpaces) {
    const queued = p.resourceTags.filter((t) => reserved.has(t));
    if (queued.length > 0) {
        return queued.map((t) => `queued behind pend ${reserved.get(t)} for resource tag ${t}`).join('; ');
    }
    if (p.reuseSpace && reservedSpaces.has(p.flowId)) {
        return `reuse-space: queued behind pend ${reservedSpaces.get(p.flowId)} of flow ${p.flowId}`;
    }
    const held = p.resourceTags.filter((t) => holders.has(t));
    if (held.length > 0) {
        return held.map((t) => `run ${holders.get(t)} holds resource tag ${t}`).join('; ');
    }
    if (p.reuseSpace && busySpaces.has(p.flowId)) {
        return `reuse-space: run ${busySpaces.get(p.flowId)} is using the shared workspace of flow ${p.flowId}`;
    }
    return undefined;
}
//# sourceMappingURL=placement.js.map