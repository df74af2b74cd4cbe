import type { OutputLine } from '../api-types.js';

/**
 * A run's output lines as the page holds them: one plain array in `n` order (a 100,000-line log
 * is one array, not 100,000 signals), fed by pages over HTTP and by `node-output` events in any
 * order and any number of times.
 */
export class OutputLines {
  readonly lines: OutputLine[] = [];
  /** Counts changes that were not appends at the end (earlier pages, gaps filled): a search starts over. */
  rewrites = 0;
  /** Lines with `n` below this may exist but are not held: the log shown starts here. */
  heldFrom = 0;

  get first(): OutputLine | undefined {
    return this.lines[0];
  }

  get last(): OutputLine | undefined {
    return this.lines[this.lines.length - 1];
  }

  /** Index of the first line with `n` >= the given one. */
  indexFrom(n: number): number {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid]!.n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(n: number): boolean {
    return this.lines[this.indexFrom(n)]?.n === n;
  }

  /** Adds a line unless one with its `n` is held; says whether it was added. */
  add(line: OutputLine): boolean {
    const last = this.last;
    if (last === undefined || line.n > last.n) {
      this.lines.push(line);
      return true;
    }
    const i = this.indexFrom(line.n);
    if (this.lines[i]?.n === line.n) return false;
    this.lines.splice(i, 0, line);
    this.rewrites++;
    return true;
  }

  /** Adds lines in `n` order (a page); returns how many were new. */
  addAll(page: readonly OutputLine[]): number {
    let lines = page;
    for (let i = 1; i < lines.length; i++) {
      if (lines[i]!.n < lines[i - 1]!.n) {
        lines = [...page].sort((a, b) => a.n - b.n);
        break;
      }
    }
    const last = this.last;
    // A page after everything held: one append, the usual case while following.
    if (last === undefined || (lines[0] !== undefined && lines[0].n > last.n)) {
      let prev = last?.n ?? -1;
      let added = 0;
      for (const l of lines) {
        if (l.n <= prev) continue;
        this.lines.push(l);
        prev = l.n;
        added++;
      }
      return added;
    }
    // Earlier lines, or a gap: merge the two sorted lists once rather than splice each line.
    const merged: OutputLine[] = [];
    let i = 0;
    let j = 0;
    let added = 0;
    const held = this.lines;
    while (i < held.length || j < lines.length) {
      const a = held[i];
      const b = lines[j];
      if (b === undefined || (a !== undefined && a.n < b.n)) {
        merged.push(a!);
        i++;
      } else if (a !== undefined && a.n === b.n) {
        merged.push(a);
        i++;
        j++;
      } else {
        if (merged.length === 0 || merged[merged.length - 1]!.n !== b.n) {
          merged.push(b);
          added++;
        }
        j++;
      }
    }
    if (added > 0) {
      this.lines.length = 0;
      for (const l of merged) this.lines.push(l);
      this.rewrites++;
    }
    return added;
  }

  /** Starts the lines held at `n`: lines before it (heard live before a page came) would show a hole. */
  startAt(n: number): void {
    this.heldFrom = n;
    const i = this.indexFrom(n);
    if (i === 0) return;
    this.lines.splice(0, i);
    this.rewrites++;
  }
}
