import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { OutputLine } from '../api-types.js';
import { ansiToHtml } from './ansi-html.js';
import { highlightHtml, LogMatches, searchPattern } from './log-search.js';
import './log-view.css';

/** Every row is this tall (log-view.css reads it as --log-row): rows are placed by arithmetic, never measured. */
export const ROW_HEIGHT = 20;
/** Rows drawn above and below the visible ones, so a fast scroll shows no blank. */
const OVERSCAN = 20;
/** Taller than --log-max on any screen (log-view.css). */
const MAX_LOG_PX = 2000;
/** Quiet time after typing before a search runs over every line. */
const SEARCH_DELAY_MS = 150;

/** A line's HTML, made once per line object: a line never changes once written. */
const htmlCache = new WeakMap<OutputLine, string>();
function htmlOf(line: OutputLine): string {
  let html = htmlCache.get(line);
  if (html === undefined) {
    html = ansiToHtml(line.line);
    htmlCache.set(line, html);
  }
  return html;
}

export interface LogViewProps {
  /** Held in `n` order, changed in place; `version` says when. */
  lines: readonly OutputLine[];
  version: number;
  /** Counts changes other than appends at the end: the search starts over. */
  rewrites: number;
  /** Names each line's node (when all nodes' lines are shown). */
  showNode: boolean;
  /** The log's accessible name (`Log of build`). */
  label: string;
  /** Shown instead of the rows while there are none. */
  empty?: ComponentChildren;
  /** Above the rows: a way to load earlier lines. */
  before?: ComponentChildren;
  /** More buttons in the toolbar (download). */
  tools?: ComponentChildren;
  /** Lines before these exist but are not held: a search says it looked in the loaded lines only. */
  partial?: boolean;
}

interface Search {
  query: string;
  matches: LogMatches | undefined;
  /** The match shown as current, counted over all matches (0-based), or -1. */
  current: number;
}

/**
 * A log of any length in fixed-height rows, of which only those in view (and a few around) are
 * in the DOM: 100,000 lines cost one array and a tall spacer. It follows the end while scrolled
 * to the bottom, stops when the reader scrolls up, and offers to jump back. Search looks in every
 * line held, counts, highlights and steps through the matches.
 */
export function LogView({ lines, version, rewrites, showNode, label, empty, before, tools, partial }: LogViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(400);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState<Search>({ query: '', matches: undefined, current: -1 });
  const seenRewrites = useRef(rewrites);
  // Which line was at the top, to keep it there when lines are added above it.
  const anchor = useRef<{ n: number; index: number } | undefined>(undefined);
  const wantCurrent = useRef(false);

  const total = lines.length;
  // While following, the rows drawn are the last ones already: new lines cost one render, not two.
  const shownTop = follow ? Math.max(0, total * ROW_HEIGHT - height) : top;
  const first = Math.max(0, Math.floor(shownTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((shownTop + height) / ROW_HEIGHT) + OVERSCAN);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // New lines: keep the end in view while following; else keep the top line where it was.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (follow) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const { n, index } = anchor.current;
      const now = lines[index]?.n === n ? index : lines.findIndex((l) => l.n === n);
      if (now >= 0 && now !== index) el.scrollTop += (now - index) * ROW_HEIGHT;
    }
    setTop(el.scrollTop);
  }, [version, follow]);

  useEffect(() => {
    const i = Math.floor(top / ROW_HEIGHT);
    const l = lines[i];
    anchor.current = l ? { n: l.n, index: i } : undefined;
  });

  // The search: all lines once the typing stops, then only the lines added since.
  useEffect(() => {
    const pattern = searchPattern(query);
    if (!pattern) {
      setSearch({ query: '', matches: undefined, current: -1 });
      return;
    }
    const t = setTimeout(() => {
      const matches = new LogMatches(pattern);
      matches.scan(lines);
      seenRewrites.current = rewrites;
      const start = Math.floor((scroller.current?.scrollTop ?? 0) / ROW_HEIGHT);
      const current = matches.total === 0 ? -1 : (matches.firstFrom(start) ?? 0);
      wantCurrent.current = current >= 0;
      setSearch({ query, matches, current });
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(t);
  }, [query]);

  useEffect(() => {
    const old = search.matches;
    if (!old) return;
    if (rewrites !== seenRewrites.current) {
      // Lines came before others: count again, keeping the current match's line if it can.
      seenRewrites.current = rewrites;
      const matches = new LogMatches(old.pattern);
      matches.scan(lines);
      setSearch((s) => {
        // A search that had found nothing shows its first match once lines bring one (earlier lines loaded).
        if (s.current < 0 && matches.total > 0) wantCurrent.current = true;
        return { ...s, matches, current: matches.total === 0 ? -1 : Math.min(Math.max(s.current, 0), matches.total - 1) };
      });
    } else if (old.scanned < lines.length) {
      const before = old.total;
      old.scan(lines);
      if (old.total !== before) {
        setSearch((s) => {
          if (s.current < 0 && old.total > 0) wantCurrent.current = true;
          return { ...s, current: s.current < 0 && old.total > 0 ? 0 : s.current };
        });
      }
    }
  }, [version]);

  const showMatch = (k: number) => {
    const m = search.matches;
    if (!m || m.total === 0) return;
    const wrapped = ((k % m.total) + m.total) % m.total;
    wantCurrent.current = true;
    setSearch((s) => ({ ...s, current: wrapped }));
  };

  // Bring the current match into view, once it is chosen.
  useLayoutEffect(() => {
    const el = scroller.current;
    const m = search.matches;
    if (!el || !m || search.current < 0 || !wantCurrent.current) return;
    wantCurrent.current = false;
    const at = m.at(search.current);
    if (!at) return;
    const index = m.lines[at.m]!;
    const rowTop = index * ROW_HEIGHT;
    if (rowTop < el.scrollTop || rowTop + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
      el.scrollTop = Math.max(0, rowTop - el.clientHeight / 2);
    }
    setFollow(false);
    setTop(el.scrollTop);
    requestAnimationFrame(() => {
      const mark = el.querySelector('mark.current');
      if (!mark) return;
      // Sideways only: the log, not the page, moves to a match off to the right.
      const box = mark.getBoundingClientRect();
      const view = el.getBoundingClientRect();
      if (box.right > view.right || box.left < view.left + 60) el.scrollLeft += box.left - view.left - view.width / 3;
    });
  }, [search]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setTop(el.scrollTop);
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT / 2;
    if (atEnd !== follow) setFollow(atEnd);
  };

  const jumpToEnd = () => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    setFollow(true);
  };

  const digits = String((lines[total - 1]?.n ?? 0) + 1).length;
  const m = search.matches;
  const pattern = m?.pattern;
  const rows = [];
  for (let i = first; i < last; i++) {
    const l = lines[i]!;
    const hit = m && pattern ? m.countOn(i) : undefined;
    // Most lines are plain text: a text node, not the HTML parser.
    let html = hit || l.line.includes('\x1b') ? htmlOf(l) : undefined;
    if (html !== undefined && hit && pattern) {
      const occ = search.current >= hit.first && search.current < hit.first + hit.count ? search.current - hit.first : -1;
      html = highlightHtml(html, pattern, occ);
    }
    rows.push(
      <div key={l.n} class={`log-row ${l.stream}`} data-n={l.n}>
        <span class="log-ln" aria-hidden="true">
          {l.n + 1}
        </span>
        {showNode && <span class="log-node">{l.node}</span>}
        {html === undefined ? (
          <span key="t" class="log-text">
            {l.line}
          </span>
        ) : (
          <span key="h" class="log-text" dangerouslySetInnerHTML={{ __html: html }} />
        )}
      </div>,
    );
  }

  const count =
    search.query === ''
      ? ''
      : !m
        ? 'searching…'
        : m.total === 0
          ? 'no matches'
          : `${(search.current + 1).toLocaleString()} of ${m.total.toLocaleString()}`;
  const where = partial && search.query !== '' ? ' in the loaded lines' : '';

  return (
    <div class="log-view">
      <div class="log-tools">
        <form
          class="log-search"
          role="search"
          aria-label="Search the log"
          onSubmit={(e) => {
            e.preventDefault();
            showMatch(search.current + 1);
          }}
        >
          <input
            type="search"
            aria-label="Search the log"
            placeholder="Search the log"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && e.shiftKey) {
                e.preventDefault();
                showMatch(search.current - 1);
              }
            }}
          />
          <span class="log-count" role="status" aria-live="polite" aria-atomic="true">
            {count}
            {where && <span class="muted">{where}</span>}
          </span>
          <button
            type="button"
            aria-label="Previous match"
            title="Previous match (Shift+Enter)"
            disabled={!m || m.total === 0}
            onClick={() => showMatch(search.current - 1)}
          >
            ↑
          </button>
          <button type="submit" aria-label="Next match" title="Next match (Enter)" disabled={!m || m.total === 0}>
            ↓
          </button>
        </form>
        {tools}
      </div>
      {before}
      <div class="log-frame">
        <div
          ref={scroller}
          class={`log-scroll${showNode ? ' with-node' : ''}`}
          role="region"
          aria-label={label}
          tabIndex={0}
          onScroll={onScroll}
          // As tall as its lines, up to --log-max: a short log takes little room, a long one scrolls.
          style={{
            '--log-row': `${ROW_HEIGHT}px`,
            '--log-digits': `${digits + 1}ch`,
            // Capped in pixels too, so a growing log stops changing the style once it is tall.
            height: `min(var(--log-max), max(var(--log-min), ${Math.min(total * ROW_HEIGHT + 2, MAX_LOG_PX)}px))`,
          }}
          data-lines={total}
        >
          {total === 0 && empty}
          <div class="log-spacer" style={{ height: `${total * ROW_HEIGHT}px` }}>
            <div class="log-rows" style={{ transform: `translateY(${first * ROW_HEIGHT}px)` }}>
              {rows}
            </div>
          </div>
        </div>
        {!follow && total > 0 && (
          <button type="button" class="log-jump" aria-label="Jump to end" onClick={jumpToEnd}>
            Jump to end ↓
          </button>
        )}
      </div>
    </div>
  );
}
