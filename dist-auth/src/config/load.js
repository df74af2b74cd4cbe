import { LineCounter, isAlias, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from 'yaml';
/** Parse YAML text into a position-keeping tree; syntax errors become problems, nothing throws. */
export function loadYaml(text, file) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
    const problems = [];
    const report = (severity, offset, message) => {
        const { line, col } = lines.linePos(offset);
        problems.push({ severity, message: `YAML: ${message}`, at: { file, line, col, path: '' } });
    };
    for (const e of doc.errors)
        report('error', e.pos[0], e.message);
    for (const w of doc.warnings)
        report('warning', w.pos[0], w.message);
    if (doc.errors.length > 0 || doc.contents === null)
        return { problems };
    const build = new TreeBuilder(doc, lines, report);
    return { root: build.node(asNode(doc.contents), { line: 1, col: 1 }), problems };
}
function asNode(v) {
    return isNode(v) ? v : null;
}
class TreeBuilder {
    doc;
    lines;
    report;
    /** Aliases being expanded, so a self-referencing anchor cannot recurse forever. */
    expanding = new Set();
    constructor(doc, lines, report) {
        this.doc = doc;
        this.lines = lines;
        this.report = report;
    }
    pos(n, fallback) {
        const offset = n?.range?.[0];
        return offset === undefined ? fallback : this.lines.linePos(offset);
    }
    node(n, fallback) {
        const pos = this.pos(n, fallback);
        if (n === null || n === undefined)
            return { kind: 'scalar', value: null, pos: fallback };
        if (isAlias(n)) {
            const target = n.resolve(this.doc);
            if (!target || this.expanding.has(target)) {
                this.report('error', n.range?.[0] ?? 0, `alias *${n.source} cannot be resolved`);
                return { kind: 'scalar', value: null, pos };
            }
            this.expanding.add(target);
            const resolved = this.node(target, pos);
            this.expanding.delete(target);
            return { ...resolved, pos };
        }
        if (isScalar(n)) {
            // An empty value (`listen:`) has no text of its own; point at its key instead.
            const empty = n.value === null && n.range != null && n.range[0] === n.range[1];
            return { kind: 'scalar', value: toScalar(n.value), pos: empty ? fallback : pos };
        }
        if (isSeq(n)) {
            return { kind: 'seq', items: n.items.map((item) => this.node(asNode(item), pos)), pos };
        }
        if (isMap(n))
            return this.map(n.items, pos);
        return { kind: 'scalar', value: null, pos };
    }
    map(pairs, pos) {
        const entries = [];
        const merged = [];
        for (const pair of pairs) {
            if (!isPair(pair))
                continue;
            const key = asNode(pair.key);
            const keyPos = this.pos(key, pos);
            if (isScalar(key) && typeof key.value === 'symbol') {
                // `<<: *defaults` (YAML 1.1 merge key): explicit keys win over merged ones.
                merged.push(...this.mergeSources(asNode(pair.value), keyPos));
                continue;
            }
            if (!isScalar(key)) {
                this.report('error', key?.range?.[0] ?? 0, 'a map key must be a plain value, not a list or map');
                continue;
            }
            entries.push({ key: String(key.value), keyPos, value: this.node(asNode(pair.value), keyPos) });
        }
        for (const m of merged)
            if (!entries.some((e) => e.key === m.key))
                entries.push(m);
        return { kind: 'map', entries, pos };
    }
    mergeSources(value, keyPos) {
        const source = this.node(value, keyPos);
        const maps = source.kind === 'seq' ? source.items : [source];
        const out = [];
        for (const m of maps) {
            if (m.kind !== 'map') {
                this.report('error', value?.range?.[0] ?? 0, 'a merge key (<<) needs a map or a list of maps');
                continue;
            }
            for (const e of m.entries)
                if (!out.some((o) => o.key === e.key))
                    out.push(e);
        }
        return out;
    }
}
function toScalar(v) {
    if (v === null || v === undefined)
        return null;
    if (typeof v === 'string' || typeof v === 'boolean')
        return v;
    if (typeof v === 'number')
        return v;
    return String(v);
}
/** The entry for `key` in a map, if written. */
export function entryOf(map, key) {
    return map.entries.find((e) => e.key === key);
}
/** The tree as plain JS values (for node types' `parseOpts`, which see no positions). */
export function toPlain(n) {
    switch (n.kind) {
        case 'scalar':
            return n.value;
        case 'seq':
            return n.items.map(toPlain);
        case 'map':
            return Object.fromEntries(n.entries.map((e) => [e.key, toPlain(e.value)]));
    }
}
/** Words for a node's shape in messages: `got string "abc"`. */
export function describeNode(n) {
    if (n.kind === 'seq')
        return 'a list';
    if (n.kind === 'map')
        return 'a map';
    if (n.value === null)
        return 'nothing';
    if (typeof n.value === 'string')
        return `string ${JSON.stringify(n.value)}`;
    return `${typeof n.value} ${String(n.value)}`;
}
//# sourceMappingURL=load.js.map