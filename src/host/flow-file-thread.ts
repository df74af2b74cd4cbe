import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import { parseFlowFile, type FlowFileResult } from '../config/validate.js';
import type { FlowConfig } from '../config/schema.js';
import { createNodeRegistry } from '../nodes/index.js';
import type { NodeRegistry } from '../nodes/node-type.js';

/*
 * Large flow-files are parsed and checked on a worker thread: the hub's thread took ~0.8 s for a
 * 289 KB one (YAML ~70% of it, the checks the rest), and the API, the websocket and every run
 * of the host waited for it. Small ones, nearly all of them, are parsed in place, where a
 * thread would cost more than the parse.
 *
 * The worker loads the module this code is in (the host's bundle, or dist/src in tests), which
 * exports `serveFlowFileParsing`, and checks with the host's own node types. Starting it costs
 * ~220 ms and ~26 MB while it lives: it starts on the first large flow-file and ends after
 * IDLE_MS without one, and never keeps the host running. Should it not start (the module was
 * replaced on disk since the host loaded it, say by a rebuild), the flow-file is parsed in
 * place, as a small one is.
 */

/** Flow-files this long (UTF-16 characters, as JavaScript counts them) or longer are parsed on the worker. */
export const OFF_THREAD_CHARS = 32 * 1024;
/** The worker ends after this long without a flow-file to parse. */
const IDLE_MS = 30_000;

interface ParseRequest {
  id: number;
  text: string;
  file: string;
  base: FlowConfig;
}

type WorkerMessage = { ready: true } | { id: number; result: FlowFileResult } | { id: number; error: string };

interface Waiting {
  resolve(r: FlowFileResult): void;
  reject(err: Error): void;
  /** In place, should the worker fail before it was ready. */
  inPlace(): void;
}

export interface FlowFileThreadOptions {
  /** Default OFF_THREAD_CHARS. */
  offThreadChars?: number;
  /** The module the worker loads for `serveFlowFileParsing`; default this one (tests point elsewhere). */
  moduleUrl?: string;
  /** The thread is ready to parse. */
  onStart?: () => void;
  /** From now on large flow-files are parsed in place after all, and why; called once. */
  onInPlace?: (why: string) => void;
}

/** Parses flow-files (`parseFlowFile`), large ones off the hub's thread. */
export class FlowFileThread {
  private worker: Worker | undefined;
  private ready = false;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  private readonly offThreadChars: number;
  private readonly moduleUrl: string;
  /** The module's file on disk (inode, size, times) when the host loaded it. */
  private readonly moduleStamp: string | undefined;
  /** Why the thread is not used (it failed to start, or its module changed): parses stay in place. */
  private unusable: string | undefined;
  private closed = false;

  constructor(private readonly opts: FlowFileThreadOptions = {}) {
    this.offThreadChars = opts.offThreadChars ?? OFF_THREAD_CHARS;
    this.moduleUrl = opts.moduleUrl ?? import.meta.url;
    this.moduleStamp = stampOf(this.moduleUrl);
  }

  /**
   * What `parseFlowFile` answers. A small flow-file is checked in place with `registry`, a large
   * one on the worker with the node types of `createNodeRegistry`, the host's (`registry` is
   * code, and cannot be sent). Rejects only if the worker failed in the middle of the parse.
   */
  parse(text: string, file: string, base: FlowConfig, registry: NodeRegistry): Promise<FlowFileResult> {
    if (this.closed) return Promise.reject(new Error('the host is stopping'));
    const inPlace = () => parseFlowFile(text, file, base, registry);
    if (text.length < this.offThreadChars) return Promise.resolve(inPlace());
    const worker = this.started();
    if (!worker) return Promise.resolve(inPlace());
    const id = this.nextId++;
    clearTimeout(this.idle);
    return new Promise<FlowFileResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, inPlace: () => resolve(inPlace()) });
      // Held while it parses: a host waiting only for this must not exit.
      worker.ref();
      try {
        worker.postMessage({ id, text, file, base } satisfies ParseRequest);
      } catch (err) {
        this.settled(id, worker);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Ends the worker for good: what it was parsing, and any later parse, is rejected. */
  close(): Promise<void> {
    this.closed = true;
    return this.stop();
  }

  /** Ends the worker; what it was parsing is rejected. A later parse starts another. */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the host is stopping'), false);
    await w?.terminate();
  }

  /** The worker, started if need be; undefined when the module it would load is not the host's. */
  private started(): Worker | undefined {
    if (this.worker) return this.worker;
    if (this.unusable !== undefined) return undefined;
    if (this.moduleStamp === undefined || stampOf(this.moduleUrl) !== this.moduleStamp) {
      this.giveUp(`${fileURLToPath(this.moduleUrl)} is not the file the host loaded (replaced since it started?)`);
      return undefined;
    }
    const code = `import(${JSON.stringify(this.moduleUrl)}).then((m) => m.serveFlowFileParsing())`;
    // No execArgv: the host's preloads (the bench's leash, which ends the host when its stdin
    // closes) are not for this thread, whose stdin is closed.
    const w = new Worker(code, { eval: true, execArgv: [] });
    this.ready = false;
    w.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {
        if (this.worker !== w) return;
        this.ready = true;
        this.opts.onStart?.();
        return;
      }
      const waiting = this.settled(m.id, w);
      if (!waiting) return;
      if ('error' in m) waiting.reject(new Error(`could not check it: ${m.error}`));
      else waiting.resolve(m.result);
    });
    const gone = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      clearTimeout(this.idle);
      // Before it was ready the thread, not a flow-file, failed: those waiting are parsed in
      // place, and so is every later one, rather than paying for a thread that fails each time.
      if (!this.ready) this.giveUp(`the thread ${why} before it was ready`);
      this.failAll(new Error(`the flow-file parser thread ${why}`), !this.ready);
    };
    w.on('error', (err) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited with code ${code}`));
    this.worker = w;
    return w;
  }

  /** From now on large flow-files are parsed in place; said once. */
  private giveUp(why: string): void {
    this.unusable = why;
    this.opts.onInPlace?.(why);
  }

  /** Forgets parse `id`, letting the worker go idle when it was the last; answers who waited for it. */
  private settled(id: number, w: Worker): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) {
      w.unref();
      if (this.worker === w) this.idleSoon(w);
    }
    return waiting;
  }

  private idleSoon(w: Worker): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.worker !== w || this.waiting.size > 0) return;
      this.worker = undefined;
      void w.terminate();
    }, IDLE_MS);
    this.idle.unref();
  }

  private failAll(err: Error, inPlace: boolean): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) {
      if (inPlace) w.inPlace();
      else w.reject(err);
    }
  }
}

/**
 * What tells the file at `url` from a replacement: inode, size and times (npm sets every file's
 * mtime to one date, but a rewrite changes the ctime, which cannot be set back); undefined
 * when there is none to read.
 */
function stampOf(url: string): string | undefined {
  try {
    const s = statSync(fileURLToPath(url));
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return undefined;
  }
}

/** The worker's side: parses what it is sent, with the host's node types, until it is ended. */
export function serveFlowFileParsing(): void {
  const port = parentPort;
  if (!port) throw new Error('serveFlowFileParsing runs on a worker thread');
  const registry = createNodeRegistry();
  port.on('message', ({ id, text, file, base }: ParseRequest) => {
    try {
      port.postMessage({ id, result: parseFlowFile(text, file, base, registry) } satisfies WorkerMessage);
    } catch (err) {
      port.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
    }
  });
  port.postMessage({ ready: true } satisfies WorkerMessage);
}
