import { useEffect, useRef, useState } from 'preact/hooks';
import { get, seg } from '../api.js';
import type { OutputPage, RunDetail } from '../api-types.js';
import { live } from '../live.js';
import { stripAnsi } from './ansi-html.js';
import { PAGE_LINES, RunOutput, type Held, type OutputQuery } from './run-output-state.js';

export { RunOutput, shownLines } from './run-output-state.js';

/** A page of the run's output over HTTP: all nodes' lines, or one node's. */
async function readOutput(flow: string, run: string, q: OutputQuery, node: string | undefined): Promise<OutputPage> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) p.set(k, String(v));
  if (node !== undefined) p.set('node', node);
  const d = await get<RunDetail>(`/flows/${seg(flow)}/runs/${seg(run)}?${p.toString()}`);
  return d.output;
}

/** Re-renders of a log fed faster than this wait: a line or 3,000 a second cost one render a tick. */
const MIN_RENDER_INTERVAL_MS = 100;

/**
 * The run's output for the page, live. It lives as long as the page, whichever node is shown:
 * lines once loaded stay. It re-renders nothing by itself (see useOutputView).
 */
export function useRunOutput(flow: string, run: string): RunOutput {
  const ref = useRef<RunOutput | undefined>(undefined);
  if (!ref.current) ref.current = new RunOutput(run, (q, node) => readOutput(flow, run, q, node));
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
    const page = await readOutput(flow, run, { from, limit: PAGE_LINES }, node);
    for (const l of page.lines) parts.push(node === undefined ? `[${l.node}] ${stripAnsi(l.line)}` : stripAnsi(l.line));
    count += page.lines.length;
    progress(count);
    if (page.next === undefined) break;
    from = page.next;
  }
  return parts.length > 0 ? `${parts.join('\n')}\n` : '';
}
