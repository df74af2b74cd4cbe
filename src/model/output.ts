export type OutputStream = 'stdout' | 'stderr' | 'floe';

export interface OutputLine {
  node: string;
  stream: OutputStream;
  line: string;
  at: number;
  /** Position of the line within the run's output, from 0. */
  n: number;
}

/**
 * Consecutive lines of a run's output, of one node and stream: `lines[i]` is line `first + i`.
 * Output travels in these (issue 10), not line by line: one node-output event each, and the
 * store takes them as they are.
 */
export interface OutputBatch {
  node: string;
  stream: OutputStream;
  /** When the host read them, epoch ms. */
  at: number;
  first: number;
  lines: string[];
}
