export type OutputStream = 'stdout' | 'stderr' | 'floe';

export interface OutputLine {
  node: string;
  stream: OutputStream;
  line: string;
  at: number;
  /** Position of the line within the run's output, from 0. */
  n: number;
}
