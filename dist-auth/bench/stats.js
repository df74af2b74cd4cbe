export function summarize(ms) {
    const s = [...ms].sort((a, b) => a - b);
    const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
    return { n: s.length, median: at(0.5), p90: at(0.9), min: s[0] };
}
export function fmt(ms) {
    return `${ms.toFixed(2).padStart(8)} ms`;
}
export function row(label, s, floor) {
    const ratio = floor ? `   x${(s.median / floor.median).toFixed(2)} of floor` : '';
    return `${label.padEnd(44)} median ${fmt(s.median)}   p90 ${fmt(s.p90)}   n=${s.n}${ratio}`;
}
//# sourceMappingURL=stats.js.map