import type { OutputLine, OutputPage, PublishedEvent } from '../api-types.js';
import { OutputLines } from './output-lines.js';

/** Lines a log view starts with: the last ones, as the API's `tail` gives them. */
export const TAIL_LINES = 1000;
/** The most lines the API gives per request (`limit`, `tail`). */
export const PAGE_LINES = 5000;
/** Windows of PAGE_LINES line numbers one "load earlier" goes back at most for a node's few lines. */
const MAX_WINDOWS = 20;
/** A failed fill is tried again after this, doubling; after FILL_TRIES the hole is passed over. */
const FILL_RETRY_MS = 1000;
const FILL_TRIES = 5;

export interface RunOutputOptions {
  /** Lines a view's first page holds; default TAIL_LINES. */
  tailLines?: number;
  /** First wait before a failed fill is tried again; default FILL_RETRY_MS. */
  retryMs?: number;
}

export interface Held {
  lines: OutputLines;
  loaded: boolean;
  loading?: Promise<void>;
  error?: string;
}

export type OutputQuery = { tail: number } | { from: number; limit: number };

/** Reads a page of the run's output over HTTP: all nodes' lines, or one node's. */
export type ReadOutput = (q: OutputQuery, node: string | undefined) => Promise<OutputPage>;

const NO_LINES: readonly OutputLine[] = [];

/**
 * What a log view shows of what it holds: nothing until its first page came. Lines heard live
 * before it are kept, not shown: the page will bring the lines before them.
 */
export function shownLines(held: Held): readonly OutputLine[] {
  return held.loaded ? held.lines.lines : NO_LINES;
}

/**
 * A run's output as the page holds it: all nodes' lines, and each node looked at. It loads the
 * tail over HTTP and appends the lines of `node-output` events as they come (by `n`, so twice is
 * once). It never shows a hole: a line heard after one never heard (an event lost while the page
 * changed, a forwarded event lost, a resync) waits, unshown, while the missing lines are fetched.
 */
export class RunOutput {
  private readonly all: Held = { lines: new OutputLines(), loaded: false };
  private readonly byNode = new Map<string, Held>();
  /** Every line from `all.lines.heldFrom` up to this `n` is shown. */
  private contiguousTo = -1;
  /**
   * Lines heard before the first page of all nodes' lines came, or after a hole: each is shown
   * once every line before it is.
   */
  private readonly waiting = new OutputLines();
  private filling = false;
  private fillToEnd = false;
  /** Counts the asks for every line to the end: one made during a read is not answered by it. */
  private endAsks = 0;
  private fillFailures = 0;
  private gone = false;
  private readonly listeners = new Set<() => void>();
  private readonly tailLines: number;
  private readonly retryMs: number;

  constructor(
    readonly run: string,
    private readonly read: ReadOutput,
    opts: RunOutputOptions = {},
  ) {
    this.tailLines = opts.tailLines ?? TAIL_LINES;
    this.retryMs = opts.retryMs ?? FILL_RETRY_MS;
  }

  /** Who hears that lines were added (or a load ended); returns how to stop. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** The lines of one node, or of all when `node` is undefined; loads them on first use (again after a failure). */
  view(node: string | undefined): Held {
    const all = this.all;
    if (!all.loaded && !all.loading) all.loading = this.loadTail(all, undefined);
    if (node === undefined) return all;
    let held = this.byNode.get(node);
    if (!held) {
      held = { lines: new OutputLines(), loaded: false };
      this.byNode.set(node, held);
      if (all.loaded && all.lines.heldFrom === 0) {
        // Every line of the run up to the last shown is here already: no need to ask.
        held.lines.addAll(all.lines.lines.filter((l) => l.node === node));
        held.loaded = true;
        return held;
      }
    }
    // Asked only once all nodes' first page is in (a render asks again when it comes): the
    // node's page then holds every line of it up to a moment after that page, and what came
    // after reaches it from all nodes' lines. Asked before, lines printed between the two would
    // be in neither (the node's page too early, all nodes' page too short to reach back).
    if (!held.loaded && !held.loading && all.loaded) held.loading = this.loadTail(held, node);
    return held;
  }

  stop(): void {
    this.gone = true;
  }

  private async loadTail(held: Held, node: string | undefined): Promise<void> {
    try {
      const { lines } = await this.read({ tail: this.tailLines }, node);
      if (this.gone) return;
      held.lines.addAll(lines);
      held.lines.startAt(lines.length < this.tailLines ? 0 : lines[0]!.n);
      held.loaded = true;
      held.error = undefined;
      if (held === this.all) {
        // A node's log asked for before these lines were printed gets them from here.
        for (const l of lines) this.showInNode(l);
        // The host's lines are whole: the tail has no hole.
        this.contiguousTo = lines.length > 0 ? lines[lines.length - 1]!.n : held.lines.heldFrom - 1;
        this.release();
        // Lines heard while loading may be past a hole above the tail; an end or a resync heard
        // meanwhile asked for every line after it.
        if (this.holeAbove() !== undefined || this.fillToEnd) void this.fill(false);
      }
    } catch (err) {
      held.error = (err as Error).message;
    } finally {
      held.loading = undefined;
      this.changed();
    }
  }

  /** Shows a line of the run: in all nodes' log (unless before what it holds), and in its node's if that is open. */
  private show(l: OutputLine): void {
    if (l.n >= this.all.lines.heldFrom) this.all.lines.add(l);
    this.showInNode(l);
  }

  private showInNode(l: OutputLine): void {
    const held = this.byNode.get(l.node);
    if (held && (!held.loaded || l.n >= held.lines.heldFrom)) held.lines.add(l);
  }

  /** Takes a line from an event or a page: shown if every line before it is, else kept waiting. */
  private take(l: OutputLine): void {
    if (!this.all.loaded || l.n > this.contiguousTo + 1) {
      this.waiting.add(l);
      return;
    }
    this.show(l);
    if (l.n === this.contiguousTo + 1) {
      this.contiguousTo++;
      this.release();
    }
  }

  /** Shows the waiting lines that no longer follow a hole. */
  private release(): void {
    const w = this.waiting.lines;
    let i = 0;
    for (; i < w.length && w[i]!.n <= this.contiguousTo + 1; i++) {
      const l = w[i]!;
      this.show(l);
      if (l.n === this.contiguousTo + 1) this.contiguousTo++;
    }
    if (i > 0) w.splice(0, i);
  }

  /** The `n` of the first line waiting above a hole, if there is a hole. */
  private holeAbove(): number | undefined {
    return this.all.loaded ? this.waiting.first?.n : undefined;
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
    e.lines.forEach((line, i) => this.take({ node: e.node, stream: e.stream, line, n: e.first + i, at: e.at }));
    if (this.holeAbove() !== undefined) void this.fill(false);
    this.changed();
  }

  /** After a resync (events missed for good): fetch what came after the last line held. */
  catchUp(): void {
    void this.fill(true);
  }

  /**
   * Fetches the lines missing below those waiting; with `toEnd`, also every line after the last
   * one held. One fill runs at a time; asking during one extends it.
   */
  private async fill(toEnd: boolean): Promise<void> {
    if (toEnd) {
      this.fillToEnd = true;
      this.endAsks++;
    }
    if (this.filling || !this.all.loaded) return;
    this.filling = true;
    let failed = false;
    try {
      for (;;) {
        if (this.gone) return;
        const from = this.contiguousTo + 1;
        const upTo = this.holeAbove();
        if (upTo === undefined && !this.fillToEnd) break;
        const limit = upTo === undefined ? PAGE_LINES : Math.min(PAGE_LINES, upTo - from);
        const asked = this.endAsks;
        const page = await this.read({ from, limit }, undefined);
        if (this.gone) return;
        this.fillFailures = 0;
        const before = this.contiguousTo;
        for (const l of page.lines) this.take(l);
        let done = false;
        if (upTo === undefined) {
          // An end heard while this page was read may have lines the page was read too soon for.
          const stale = this.endAsks !== asked;
          if (page.next === undefined && !stale) this.fillToEnd = false;
          // Nothing more after the last line, unless the page itself started past a hole.
          done = !stale && this.contiguousTo === before && this.holeAbove() === undefined;
        } else if (this.contiguousTo === before) {
          // The host has no such lines: go on past the hole rather than ask for ever.
          this.contiguousTo = upTo - 1;
          this.release();
        }
        this.changed();
        if (done) break;
      }
    } catch {
      failed = true;
    } finally {
      this.filling = false;
    }
    if (failed && !this.gone) this.fillFailed();
  }

  /**
   * A fill failed: tried again later, as no event may come to ask (the run ended). After
   * FILL_TRIES the lines waiting are shown past the hole rather than hidden for good.
   */
  private fillFailed(): void {
    if (++this.fillFailures < FILL_TRIES) {
      setTimeout(() => void this.fill(false), this.retryMs * 2 ** (this.fillFailures - 1));
      return;
    }
    this.fillFailures = 0;
    this.fillToEnd = false;
    const upTo = this.holeAbove();
    if (upTo === undefined) return;
    this.contiguousTo = upTo - 1;
    this.release();
    this.changed();
    // Lines may wait past a further hole.
    if (this.holeAbove() !== undefined) void this.fill(false);
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
        const page = await this.read({ from: at, limit: PAGE_LINES }, node);
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
  }
}
