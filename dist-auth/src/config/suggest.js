/** Edit distance between two strings (insert, delete, substitute, each costing 1). */
export function editDistance(a, b) {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost));
        }
        prev = row;
    }
    return prev[b.length];
}
/**
 * The candidate closest to `word`, if it is close enough to be a likely typo: within a
 * third of the word's length (at least 2 edits), differing only in case, or one a
 * shortening of the other (`bool` for `boolean`).
 */
export function closest(word, candidates) {
    const limit = Math.max(2, Math.floor(word.length / 3));
    let best;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = c.toLowerCase() === word.toLowerCase() ? 0.5 : isAbbreviation(word, c) ? 1 : editDistance(word, c);
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return bestDistance <= limit ? best : undefined;
}
/** `; did you mean "exec"?` or nothing. */
export function didYouMean(word, candidates) {
    const c = closest(word, candidates);
    return c === undefined ? '' : `; did you mean "${c}"?`;
}
function isAbbreviation(a, b) {
    const [short, long] = a.length < b.length ? [a, b] : [b, a];
    return short.length >= 3 && long.startsWith(short);
}
//# sourceMappingURL=suggest.js.map