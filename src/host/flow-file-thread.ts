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
 * exports `serveFlowFileParsing`, and checks with the host's own node types. It is started on
 * the first large flow-file and ends after IDLE_MS without one; it never keeps the host running.
 */

/** Flow-files this long (characters) or longer are parsed on the worker. */
export const OFF_THREAD_CHARS = 32 * 1024;
/** The worker ends after this long without a flow-file to parse. */
const IDLE_MS = 30_000;

interface ParseRequest {
  id: number;
  text: string;
  file: string;
  base: FlowConfig;
}

type ParseReply = { id: number; result: FlowFileResult } | { id: number; error: string };

interface Waiting {
  resolve(r: FlowFileResult): void;
  reject(err: Error): void;
}

/** Parses flow-files (`parseFlowFile` with the host's node types), large ones off the hub's thread. */
export class FlowFileThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly offThreadChars = OFF_THREAD_CHARS) {}

  /**
   * What `parseFlowFile` answers. A small flow-file is checked in place with `registry`, a large
   * one on the worker with the node types of `createNodeRegistry` (the host's: `registry` is
   * code, and cannot be sent). Rejects only if the worker failed; the next parse starts another.
   */
  parse(text: string, file: string, base: FlowConfig, registry: NodeRegistry): Promise<FlowFileResult> {
    if (text.length < this.offThreadChars) return Promise.resolve(parseFlowFile(text, file, base, registry));
    const worker = this.started();
    const id = this.nextId++;
    clearTimeout(this.idle);
    // Held while it parses: a host waiting only for this must not exit.
    worker.ref();
    return new Promise<FlowFileResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, text, file, base } satisfies ParseRequest);
    });
  }

  /** Ends the worker; what it was parsing is rejected. */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the host is stopping'));
    await w?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const code = `import(${JSON.stringify(import.meta.url)}).then((m) => m.serveFlowFileParsing())`;
    const w = new Worker(code, { eval: true });
    w.on('message', (reply: ParseReply) => {
      const waiting = this.waiting.get(reply.id);
      if (!waiting) return;
      this.waiting.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`flow-file check failed: ${reply.error}`));
      else waiting.resolve(reply.result);
      if (this.waiting.size === 0) {
        w.unref();
        this.idleSoon(w);
      }
    });
    const gone = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failAll(new Error(`the flow-file parser thread ${why}`));
    };
    w.on('error', (err) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited with code ${code}`));
    this.worker = w;
    return w;
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

  private failAll(err: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }
}

/** The worker's side: parses what it is sent, with the host's node types, until it is ended. */
export function serveFlowFileParsing(): void {
  const port = parentPort;
  if (!port) throw new Error('serveFlowFileParsing runs on a worker thread');
  const registry = createNodeRegistry();
  port.on('message', ({ id, text, file, base }: ParseRequest) => {
    try {
      port.postMessage({ id, result: parseFlowFile(text, file, base, registry) } satisfies ParseReply);
    } catch (err) {
      port.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies ParseReply);
    }
  });
}
