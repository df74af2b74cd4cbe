/** pass/miss: judged against issue 10's target; info: not judged (no target, or a quick run's smaller counts). */
export type Verdict = 'pass' | 'miss' | 'info' | 'error';

export type Unit = 'ms' | 'lines/s' | 'runs/s' | 'MB' | 'clients';

/** One line of the table and of results.json. */
export interface Row {
  /** Stable id, as `--only` takes it: `chain-20-local`. */
  id: string;
  measure: string;
  unit: Unit;
  /** The figure the target speaks of: a median unless the target names a p99. */
  value: number;
  p90?: number;
  /** The same work's bare cost on this machine, measured interleaved with the samples. */
  floor?: number;
  floorWhat?: string;
  /** value / floor. */
  ratio?: number;
  target: string;
  verdict: Verdict;
  /** Samples behind `value`. */
  n: number;
  /** Why it is info, or what went wrong. */
  note?: string;
  /** Everything else measured on the way, for results.json. */
  extra?: Record<string, number | string | boolean>;
}

export interface RowInput {
  id: string;
  measure: string;
  unit: Unit;
  value: number;
  p90?: number;
  floor?: number;
  floorWhat?: string;
  target: string;
  /** Whether the target is met; undefined: not judged. */
  meets?: boolean;
  /** False when this run's counts are not the target's (a quick run): the verdict is then info. */
  atTargetScale: boolean;
  n: number;
  extra?: Record<string, number | string | boolean>;
}

/** A row with its ratio and verdict worked out. */
export function makeRow(r: RowInput): Row {
  const ratio = r.floor !== undefined && r.floor !== 0 ? r.value / r.floor : undefined;
  let verdict: Verdict = 'info';
  let note: string | undefined;
  if (r.meets !== undefined && !r.atTargetScale) note = 'quick run: smaller counts than the target';
  else if (r.meets !== undefined) verdict = r.meets ? 'pass' : 'miss';
  return {
    id: r.id,
    measure: r.measure,
    unit: r.unit,
    value: r.value,
    p90: r.p90,
    floor: r.floor,
    floorWhat: r.floorWhat,
    ratio,
    target: r.target,
    verdict,
    n: r.n,
    note,
    extra: r.extra,
  };
}

/** The rows of a group that failed: no value, and why. */
export function errorRow(id: string, measure: string, err: unknown): Row {
  const message = err instanceof Error ? err.message : String(err);
  return { id, measure, unit: 'ms', value: NaN, target: '', verdict: 'error', n: 0, note: message };
}
