/** Tags that nodes may listen to; `sys.*` is reserved for system events. */
export function isSystemTag(tag) {
    return tag.startsWith('sys.');
}
export function runKey(ref) {
    return ref.run;
}
export function flowKey(ref) {
    return `${ref.id}/${ref.ver}`;
}
//# sourceMappingURL=events.js.map