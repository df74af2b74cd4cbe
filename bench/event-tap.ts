import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface TapOptions {
  /** Only events that happened on this host: in a cluster a host streams its peers' too. */
  host?: string;
  /** Keep each run's first output line (parsing every output frame); off, output frames are only counted. */
  firstLines?: boolean;
}

const OUTPUT_PREFIX = '{"type":"event","event":{"kind":"node-output"';

/**
 * Lines of a node-output frame, read from its `first` and `last` without parsing the frame: those
 * keys come before its lines, and no string in JSON holds `"first":` unescaped.
 */
export function outputFrameLines(text: string): number {
  const first = text.indexOf('"first":');
  const last = text.indexOf('"last":', first);
  if (first < 0 || last < 0) return 0;
  return parseInt(text.slice(last + 7, last + 27), 10) - parseInt(text.slice(first + 8, first + 28), 10) + 1;
}

/** One websocket client on a host's event stream, keeping what the benchmarks wait for. */
export class EventTap {
  /** Output lines received (in node-output frames). */
  outputLines = 0;
  /** `end` events received, and performance.now() of the last. */
  endCount = 0;
  lastEndAt = 0;
  private readonly ended = new Map<string, string>();
  private readonly endWaiters = new Map<string, Array<(status: string) => void>>();
  private readonly lines = new Map<string, string>();
  private readonly lineWaiters = new Map<string, Array<(line: string) => void>>();
  private readonly endListeners = new Set<(status: string) => void>();
  private closedWith: number | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: TapOptions,
  ) {
    ws.on('message', (data: Buffer) => this.frame(data.toString()));
    ws.on('close', (code) => (this.closedWith = code));
  }

  static async connect(url: string, token: string, opts: TapOptions = {}): Promise<EventTap> {
    const ws = new WebSocket(url, { headers: { 'X-Floe-Auth': token } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new EventTap(ws, opts);
  }

  /** Resolves with the run's end status, at once if it ended already. */
  end(run: string): Promise<string> {
    const status = this.ended.get(run);
    if (status !== undefined) return Promise.resolve(status);
    return new Promise((resolve) => this.endWaiters.set(run, [...(this.endWaiters.get(run) ?? []), resolve]));
  }

  /** Resolves with the run's first output line (needs `firstLines`). */
  firstLine(run: string): Promise<string> {
    const line = this.lines.get(run);
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.lineWaiters.set(run, [...(this.lineWaiters.get(run) ?? []), resolve]));
  }

  /** Calls `fn` with the status of every run that ends from now on; returns an unsubscribe. */
  onEnd(fn: (status: string) => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /** The close code, when the host closed the stream. */
  get closeCode(): number | undefined {
    return this.closedWith;
  }

  close(): void {
    this.ws.terminate();
  }

  private frame(text: string): void {
    // Output frames can come by the million: count them without parsing unless lines are wanted.
    if (!this.opts.firstLines && text.startsWith(OUTPUT_PREFIX)) {
      this.outputLines += outputFrameLines(text);
      return;
    }
    const f = JSON.parse(text) as {
      type: string;
      event?: { kind: string; host?: string; ref?: { run: string }; status?: string; lines?: string[] };
    };
    const e = f.event;
    if (f.type !== 'event' || !e?.ref || (this.opts.host !== undefined && e.host !== this.opts.host)) return;
    const run = e.ref.run;
    if (e.kind === 'node-output') {
      this.outputLines += e.lines?.length ?? 0;
      if (this.lines.has(run)) return;
      const line = e.lines?.[0] ?? '';
      this.lines.set(run, line);
      for (const w of this.lineWaiters.get(run) ?? []) w(line);
      this.lineWaiters.delete(run);
    } else if (e.kind === 'end') {
      this.endCount++;
      this.lastEndAt = performance.now();
      this.ended.set(run, e.status ?? '');
      for (const fn of this.endListeners) fn(e.status ?? '');
      for (const w of this.endWaiters.get(run) ?? []) w(e.status ?? '');
      this.endWaiters.delete(run);
    }
  }
}
