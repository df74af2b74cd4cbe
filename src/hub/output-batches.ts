import type { HubEvent, PublishedEvent } from '../model/events.js';
import type { OutputBatch, OutputStream } from '../model/output.js';
import type { RunRef } from '../model/refs.js';
import type { Store } from '../store/store.js';

/** Lines in one node-output event, at most: a chunk of one-character lines stays a few events. */
export const MAX_EVENT_LINES = 8192;
/** Characters of line text in one node-output event, about: an event stays far below a peer's 8 MiB request. */
export const MAX_EVENT_CHARS = 256 * 1024;

type OutputEvent = Extract<HubEvent, { kind: 'node-output' }>;

/** The lines of one node and stream gathered for the next event. */
interface OpenBatch {
  node: string;
  stream: OutputStream;
  lines: string[];
  chars: number;
}

/** A run's output on its way out: the event being gathered, and the lines the store has yet to get. */
export class RunOutput {
  /** `n` of the run's next line. */
  next = 0;
  open?: OpenBatch;
  /** Published, not yet handed to the store: they go in one write once the write under way is done. */
  unsaved: OutputBatch[] = [];
  saving = false;
  /** Settles once every line handed to the store so far is stored. */
  saved: Promise<void> = Promise.resolve();
  /** The run ended: later lines (a straggler of a stopped task) are dropped. */
  ended = false;

  constructor(readonly ref: RunRef) {}
}

export interface OutputBatchesDeps {
  /** Numbers, keeps and hands the event to subscribers; answers it as published. */
  publish(e: OutputEvent): PublishedEvent;
  store: Pick<Store, 'appendOutput'>;
  saveFailed(err: unknown, run: string): void;
  /** Lines per event, at most; default MAX_EVENT_LINES. */
  maxLines?: number;
  /** Characters per event, about (an event holds at least a line); default MAX_EVENT_CHARS. */
  maxChars?: number;
}

/**
 * Task output, batched (issue 10: an event, a history slot, a websocket frame and a store key per
 * line held a host to 27,000 lines a second). The lines of one node and stream that arrive in one
 * turn of the loop (one chunk read from a pipe) become one `node-output` event, published once the
 * chunk is split, or before any other event, so events keep the order things happened in.
 * Published lines go to the store in one write at a time per run, never awaited by the hub's
 * queue: what arrives during a write goes in the next, so a flood makes fewer, larger writes.
 */
export class OutputBatches {
  private readonly gathering = new Set<RunOutput>();
  private flushQueued = false;
  private readonly maxLines: number;
  private readonly maxChars: number;

  constructor(private readonly deps: OutputBatchesDeps) {
    this.maxLines = deps.maxLines ?? MAX_EVENT_LINES;
    this.maxChars = deps.maxChars ?? MAX_EVENT_CHARS;
  }

  /** Takes one line of a run's node; it is published with the others of this turn. */
  add(out: RunOutput, node: string, stream: OutputStream, line: string): void {
    if (out.ended) return;
    let b = out.open;
    if (b && (b.node !== node || b.stream !== stream || b.lines.length >= this.maxLines || b.chars >= this.maxChars)) {
      this.close(out);
      b = undefined;
    }
    if (!b) {
      b = out.open = { node, stream, lines: [], chars: 0 };
      this.gathering.add(out);
      this.queueFlush();
    }
    b.lines.push(line);
    b.chars += line.length;
  }

  /** Publishes every batch being gathered. */
  flush(): void {
    for (const out of this.gathering) this.close(out);
  }

  /**
   * The run is ending: publishes its last batch and hands the store every line at once, even
   * with a write under way, so the store has been given the whole log before the run's archive.
   */
  end(out: RunOutput): void {
    this.close(out);
    out.ended = true;
    if (out.unsaved.length === 0) return;
    const write = this.write(out, out.unsaved);
    out.unsaved = [];
    out.saved = Promise.all([out.saved, write]).then(() => {});
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // A microtask runs once the chunk that brought the lines is split, before the loop reads on.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private close(out: RunOutput): void {
    const b = out.open;
    this.gathering.delete(out);
    if (!b) return;
    out.open = undefined;
    const first = out.next;
    out.next += b.lines.length;
    const { node, stream, lines } = b;
    const e = this.deps.publish({
      kind: 'node-output',
      tag: 'sys.node-output',
      ref: out.ref,
      node,
      stream,
      first,
      last: out.next - 1,
      lines,
    });
    // The event's array, shared: neither the history nor the store changes it.
    out.unsaved.push({ node, stream, at: e.at, first, lines });
    this.save(out);
  }

  private save(out: RunOutput): void {
    if (out.saving || out.unsaved.length === 0) return;
    out.saving = true;
    out.saved = (async () => {
      try {
        while (out.unsaved.length > 0) {
          const batches = out.unsaved;
          out.unsaved = [];
          await this.write(out, batches);
        }
      } finally {
        out.saving = false;
      }
    })();
  }

  private write(out: RunOutput, batches: OutputBatch[]): Promise<void> {
    const run = out.ref.run;
    const failed = (err: unknown) => this.deps.saveFailed(err, run);
    try {
      return this.deps.store.appendOutput(run, batches).catch(failed);
    } catch (err) {
      failed(err);
      return Promise.resolve();
    }
  }
}
