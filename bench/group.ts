import type { Row } from './row.js';

export interface BenchContext {
  /** Small counts, to see that every benchmark still runs (`--quick`). */
  quick: boolean;
  /** A progress line on stderr; the table goes to stdout. */
  say(message: string): void;
}

/** A few measures that share their setup (a host, a filled store), in one module. */
export interface Group {
  id: string;
  /** Its rows' ids and titles, in table order; a group that fails reports them as errors. */
  rows: ReadonlyArray<{ id: string; measure: string }>;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** The admin token of every host the bench starts. */
export const TOKEN = 'bench-admin-token';

/** `full` for the real run, `quick` for --quick. */
export function pick<T>(ctx: BenchContext, full: T, quick: T): T {
  return ctx.quick ? quick : full;
}
