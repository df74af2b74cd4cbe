import { useEffect, useRef, useState } from 'preact/hooks';
import { get, seg } from '../api.js';
import type { OutputLine, OutputPage, PublishedEvent, RunDetail } from '../api-types.js';
import { live } from '../live.js';
import { stripAnsi } from './ansi-html.js';
import { OutputLines } from './output-lines.js';

/** Lines a log view starts with: the last ones, as the API's `tail` gives them. */
export const TAIL_LINES = 1000;
/** The most lines the API gives per request (`limit`, `tail`). */
export const PAGE_LINES = 5000;
/** Windows of PAGE_LINES line numbers one "load earlier" goes back at most for a node's few lines. */
const MAX_WINDOWS = 20;

interface Held {
  lines: OutputLines;
  loaded: boolean;
  loading?: Promise<void>;
  error?: string;
}

type OutputQuery = { tail: number } | { from: number; limit: number };

/**
 * A run's output as the page holds it: all nodes' lines, and each node looked at. It loads the
 * tail over HTTP, appends the lines of `node-output` events as they come (by `n`, so twice is once),
 * and when an event's lines jump past a line never heard (a forwarded event lost, a resync), it fetches the
 * missing lines over HTTP, so the log never shows a hole.
 */
export class RunOutput {
  private readonly all: Held = { lines: new OutputLines(), loaded: false };
  private readonly byNode = new Map<string, Held>();
  /** All lines from `all.lines.heldFrom` up to this `n` are held. */
  private contiguousTo = -1;
  private filling = false;
  private fillToEnd = false;
  private gone = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly flow: string,
    readonly run: string,
  ) {}

  /** Who hears that lines were added (or a load ended); returns how to stop. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** The lines of one node, or of all when `node` is undefined; loads them on first use. */
  view(node: string | undefined): Held {
    if (node === undefined) {
      if (!this.all.loaded && !this.all.loading) this.all.loading = this.loadTail(this.all, undefined);
      return this.all;
    }
    let held = this.byNode.get(node);
    if (!held) {
      held = { lines: new OutputLines(), loaded: false };
      this.byNode.set(node, held);
      if (this.all.loaded && this.all.lines.heldFrom === 0) {
        // Every line of the run is here already: no need to ask.
        held.lines.addAll(this.all.lines.lines.filter((l) => l.node === node));
        held.loaded = true;
      } else held.loading = this.loadTail(held, node);
    }
    return held;
  }

  stop(): void {
    this.gone = true;
  }

  private async page(q: OutputQuery, node: string | undefined): Promise<OutputPage> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) p.set(k, String(v));
    if (node !== undefined) p.set('node', node);
    const d = await get<RunDetail>(`/flows/${seg(this.flow)}/runs/${seg(this.run)}?${p.toString()}`);
    return d.output;
  }

  private async loadTail(held: Held, node: string | undefined): Promise<void> {
    try {
      const { lines } = await this.page({ tail: TAIL_LINES }, node);
      if (this.gone) return;
      held.lines.addAll(lines);
      held.lines.heldFrom = lines.length < TAIL_LINES ? 0 : lines[0]!.n;
      held.loaded = true;
      held.error = undefined;
      if (held === this.all) {
        this.contiguousTo = held.lines.heldFrom - 1;
        this.advance();
        // Events heard while loading may have left a hole above the tail.
        if (this.holeAbove()) void this.fill(false);
      }
    } catch (err) {
      held.error = (err as Error).message;
    } finally {
      held.loading = undefined;
      this.changed();
    }
  }

  /** Moves `contiguousTo` up over the lines held after it. */
  private advance(): void {
    const lines = this.all.lines.lines;
    let i = this.all.lines.indexFrom(this.contiguousTo + 1);
    while (lines[i]?.n === this.contiguousTo + 1) {
      this.contiguousTo++;
      i++;
    }
  }

  /** The `n` of the first line held above a hole, if there is a hole. */
  private holeAbove(): number | undefined {
    const lines = this.all.lines;
    const next = lines.lines[lines.indexFrom(this.contiguousTo + 1)];
    return next && next.n > this.contiguousTo + 1 ? next.n : undefined;
  }

  private addLine(l: OutputLine): void {
    this.all.lines.add(l);
    const held = this.byNode.get(l.node);
    if (held && (!held.loaded || l.n >= held.lines.heldFrom)) held.lines.add(l);
  }

  /** Applies a websocket event: lines of this run are added, missed ones fetched. */
  onEvent(e: PublishedEvent): void {
    if (e.kind === 'trigger' || e.ref.run !== this.run) return;
    if (e.kind === 'end') {
      // The last lines' events may have been lost (events of other hosts are best effort).
      void this.fill(true);
      return;
    }
    if (e.kind !== 'node-output') return;
    e.lines.forEach((line, i) => this.addLine({ node: e.node, stream: e.stream, line, n: e.first + i, at: e.at }));
    if (this.all.loaded) {
      this.advance();
      if (this.holeAbove() !== undefined) void this.fill(false);
    }
    this.changed();
  }

  /** After a resync (events missed for good): fetch what came after the last line held. */
  catchUp(): void {
    void this.fill(true);
  }

  /**
   * Fetches the lines missing between those held; with `toEnd`, also every line after the last
   * one held. One fill runs at a time; asking during one extends it.
   */
  private async fill(toEnd: boolean): Promise<void> {
    this.fillToEnd ||= toEnd;
    if (this.filling || !this.all.loaded) return;
    this.filling = true;
    try {
      for (;;) {
        if (this.gone) return;
        const from = this.contiguousTo + 1;
        const upTo = this.holeAbove();
        if (upTo === undefined && !this.fillToEnd) break;
        const limit = upTo === undefined ? PAGE_LINES : Math.min(PAGE_LINES, upTo - from);
        const page = await this.page({ from, limit }, undefined);
        for (const l of page.lines) this.addLine(l);
        const before = this.contiguousTo;
        this.advance();
        this.changed();
        if (upTo === undefined) {
          if (page.next === undefined) this.fillToEnd = false;
          if (this.contiguousTo === before) break;
        } else if (this.contiguousTo === before) {
          // The host has no such lines: go on past the hole rather than ask for ever.
          this.contiguousTo = upTo - 1;
          this.advance();
        }
      }
    } catch {
      // A failed fill is tried again by the next event that finds the hole.
    } finally {
      this.filling = false;
    }
  }

  /**
   * Loads lines before those held: one page back, or with `all` everything back to the first
   * line. A node's lines are looked for in windows of line numbers, since its lines are spread
   * among the others'.
   */
  async loadEarlier(node: string | undefined, all: boolean): Promise<void> {
    const held = node === undefined ? this.all : this.byNode.get(node);
    if (!held?.loaded) return;
    const lines = held.lines;
    let windows = 0;
    let got = 0;
    while (lines.heldFrom > 0 && !this.gone) {
      const to = lines.heldFrom;
      const from = Math.max(0, to - PAGE_LINES);
      let at = from;
      for (;;) {
        const page = await this.page({ from: at, limit: PAGE_LINES }, node);
        const earlier = page.lines.filter((l) => l.n < to);
        got += lines.addAll(earlier);
        if (page.next === undefined || page.next >= to) break;
        at = page.next;
      }
      lines.heldFrom = from;
      this.changed();
      windows++;
      if (!all && (got > 0 || windows >= MAX_WINDOWS)) break;
    }
    if (held === this.all) {
      this.contiguousTo = Math.max(this.contiguousTo, lines.heldFrom - 1);
      this.advance();
    }
  }
}

/** Re-renders of a log fed faster than this wait: a line or 3,000 a second cost one render a tick. */
const MIN_RENDER_INTERVAL_MS = 100;

/**
 * The run's output for the page, live. It lives as long as the page, whichever node is shown:
 * lines once loaded stay. It re-renders nothing by itself (see useOutputView).
 */
export function useRunOutput(flow: string, run: string): RunOutput {
  const ref = useRef<RunOutput | undefined>(undefined);
  if (!ref.current) ref.current = new RunOutput(flow, run);
  const output = ref.current;
  useEffect(() => {
    const offEvent = live.on((e) => output.onEvent(e));
    const offReload = live.onReload(() => output.catchUp());
    return () => {
      output.stop();
      offEvent();
      offReload();
    };
  }, [output]);
  return output;
}

export interface OutputView {
  held: Held;
  /** Changes whenever lines were added: for re-rendering, not for reading. */
  version: number;
}

/**
 * The lines of one node (or all) for the component that shows them, re-rendered as lines come,
 * at most once a frame and once per MIN_RENDER_INTERVAL_MS: only the log re-renders, not the page.
 */
export function useOutputView(output: RunOutput, node: string | undefined): OutputView {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let pending = false;
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let frame = 0;
    const off = output.onChange(() => {
      if (pending) return;
      pending = true;
      timer = setTimeout(
        () => {
          frame = requestAnimationFrame(() => {
            pending = false;
            last = performance.now();
            setVersion((v) => v + 1);
          });
        },
        Math.max(0, last + MIN_RENDER_INTERVAL_MS - performance.now()),
      );
    });
    return () => {
      off();
      clearTimeout(timer);
      cancelAnimationFrame(frame);
    };
  }, [output]);
  // Loads all nodes' tail too, whatever is shown: it finds holes by line number.
  output.view(undefined);
  return { held: output.view(node), version };
}

/** Fetches a log whole, a page at a time, as text without escape sequences; all nodes' lines name their node. */
export async function fetchWholeLog(
  flow: string,
  run: string,
  node: string | undefined,
  progress: (lines: number) => void,
): Promise<string> {
  const parts: string[] = [];
  let from = 0;
  let count = 0;
  for (;;) {
    const p = new URLSearchParams({ from: String(from), limit: String(PAGE_LINES) });
    if (node !== undefined) p.set('node', node);
    const d = await get<RunDetail>(`/flows/${seg(flow)}/runs/${seg(run)}?${p.toString()}`);
    for (const l of d.output.lines) parts.push(node === undefined ? `[${l.node}] ${stripAnsi(l.line)}` : stripAnsi(l.line));
    count += d.output.lines.length;
    progress(count);
    if (d.output.next === undefined) break;
    from = d.output.next;
  }
  return parts.length > 0 ? `${parts.join('\n')}\n` : '';
}
