/** A positive number of seconds, or undefined when absent; problems go to `check`. */
export function positiveSeconds(v, field, check) {
    if (v === undefined || v === null)
        return undefined;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
        check.error(field, `must be a positive number of seconds, got ${JSON.stringify(v)}`);
        return undefined;
    }
    return n;
}
//# sourceMappingURL=opts.js.map