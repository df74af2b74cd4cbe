import type { OutputLine } from '../api-types.js';
import { stripAnsi } from './ansi-html.js';

/** A query as a case-insensitive search for its literal text; none for an empty query. */
export function searchPattern(query: string): RegExp | undefined {
  if (query === '') return undefined;
  return new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
}

export function countIn(text: string, re: RegExp): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/**
 * The matches of a search over a log, kept as it grows: the lines that match (by index), how
 * often each does, and running totals, so "7 of 1,204" and next/previous cost nothing.
 */
export class LogMatches {
  /** Indexes of the lines with at least one match, rising. */
  readonly lines: number[] = [];
  /** Matches in each of those lines. */
  readonly counts: number[] = [];
  /** Matches before each of those lines. */
  readonly before: number[] = [];
  total = 0;
  /** Lines looked at so far: a log that grew is searched from here on. */
  scanned = 0;

  constructor(readonly pattern: RegExp) {}

  /** Searches the lines added since the last scan. */
  scan(lines: readonly OutputLine[]): void {
    for (let i = this.scanned; i < lines.length; i++) {
      const text = lines[i]!.line;
      // Most lines hold no escape sequences: test them as they are, without a copy.
      const c = countIn(text.includes('\x1b') ? stripAnsi(text) : text, this.pattern);
      if (c === 0) continue;
      this.lines.push(i);
      this.counts.push(c);
      this.before.push(this.total);
      this.total += c;
    }
    this.scanned = lines.length;
  }

  /** Which match (of `lines`, and which within its line) is number `k` overall, 0-based. */
  at(k: number): { m: number; occ: number } | undefined {
    if (k < 0 || k >= this.total) return undefined;
    let lo = 0;
    let hi = this.lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.before[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return { m: lo, occ: k - this.before[lo]! };
  }

  /** The first match on line `index` or after it (overall number), or undefined past the last. */
  firstFrom(index: number): number | undefined {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.lines.length ? this.before[lo] : undefined;
  }

  /** How many matches line `index` holds (0 when none). */
  countOn(index: number): { first: number; count: number } | undefined {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    if (this.lines[lo] !== index) return undefined;
    return { first: this.before[lo]!, count: this.counts[lo]! };
  }
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'" };

/**
 * Marks the matches of `pattern` in a line's HTML (as ansiToHtml makes it) with `<mark>`, the
 * `current`-th of them (0-based, -1 for none) as `<mark class="current">`. Matches are found in
 * the text the HTML shows, so a match may cross colour spans: its mark is closed before each tag
 * and opened again after it, keeping the HTML well nested.
 */
export function highlightHtml(html: string, pattern: RegExp, current: number): string {
  // The shown text, and where each of its characters starts and ends in the HTML.
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < html.length;) {
    const c = html[i]!;
    if (c === '<') {
      const close = html.indexOf('>', i);
      i = close < 0 ? html.length : close + 1;
      continue;
    }
    if (c === '&') {
      const semi = html.indexOf(';', i);
      const entity = semi < 0 ? undefined : ENTITIES[html.slice(i, semi + 1)];
      if (entity !== undefined) {
        text += entity;
        starts.push(i);
        ends.push(semi + 1);
        i = semi + 1;
        continue;
      }
    }
    text += c;
    starts.push(i);
    ends.push(i + 1);
    i++;
  }
  const ranges: Array<[number, number]> = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    ranges.push([m.index, m.index + m[0].length]);
  }
  if (ranges.length === 0) return html;

  let out = '';
  let pos = 0;
  ranges.forEach(([a, b], k) => {
    const open = k === current ? '<mark class="current">' : '<mark>';
    const from = starts[a]!;
    const to = ends[b - 1]!;
    out += html.slice(pos, from);
    // Inside the match, every tag is stepped around: </mark><tag><mark>.
    let seg = '';
    for (let i = from; i < to;) {
      if (html[i] === '<') {
        const close = html.indexOf('>', i);
        const tagEnd = close < 0 ? to : close + 1;
        seg += `</mark>${html.slice(i, tagEnd)}${open}`;
        i = tagEnd;
      } else {
        seg += html[i];
        i++;
      }
    }
    out += `${open}${seg}</mark>`;
    pos = to;
  });
  return (out + html.slice(pos)).replace(/<mark(?: class="current")?><\/mark>/g, '');
}
