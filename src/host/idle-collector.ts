import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';
import vm from 'node:vm';

/*
 * Gives memory back once the host goes quiet (issue 10, memory targets). V8 grows the young
 * generation to its 16 MB semi-space maximum (about 31 MB resident) under a burst of runs or
 * output and only shrinks it in a full collection that sees a low allocation rate, which an
 * idle host never triggers by itself: measured, the new space stayed at 31 MB for 30 s idle.
 * A few full collections spaced out after the last event let V8's own heuristic see the quiet
 * and shrink it (back to ~1 MB), and they return freed old-space pages as well.
 * Measured on Node 20: one collection right after a burst does not shrink it; the shrink comes
 * after ~2.5 s of collections at least 200 ms apart, so the series is spaced, not a tight loop.
 */

export interface IdleCollectorOptions {
  /** No activity for this long starts a series of collections; default 500 ms. */
  quietMs?: number;
  /** Between two collections of a series; default 250 ms (closer ones never show V8 the quiet). */
  gapMs?: number;
  /** At most this many collections per quiet spell; default 16 (4 s at 250 ms). */
  rounds?: number;
  /** A full, synchronous collection; default V8's own gc(). */
  collect?: () => void;
  /** After the series' `round`th collection (from 1): whether it can stop; default {@link settledCheck} of V8's spaces. */
  isSettled?: (round: number) => boolean;
  /** Milliseconds on a monotonic clock; default performance.now (tests pass a mocked one). */
  now?: () => number;
  /** The heap's size, MB; default V8's total heap size. */
  heapMb?: () => number;
  /** A quiet spell starts a series only if the heap grew by this much since the last one ended; default 2 MB. */
  growthMb?: number;
  /**
   * Called after each collection, to give memory freed outside V8's heap back to the system
   * (malloc_trim, src/host/malloc-trim.ts); default none. Not only once a series ends: a series
   * may run its 16 rounds (4 s) while the old space stays a little fragmented, and the memory
   * the first collection freed was worth giving back at once.
   */
  release?: () => void;
}

export interface IdleCollector {
  /** Something happened: a series in progress stops, and a new one starts after the next quiet spell. */
  poke(): void;
  /** No further collections. */
  close(): void;
}

/** Starts watching for quiet; the first series runs after `quietMs`, for the garbage of start-up. */
export function collectWhenIdle(o: IdleCollectorOptions = {}): IdleCollector {
  const quietMs = o.quietMs ?? 500;
  const gapMs = o.gapMs ?? 250;
  const rounds = o.rounds ?? 16;
  const collect = o.collect ?? exposedGc();
  const isSettled = o.isSettled ?? settledCheck(() => v8.getHeapSpaceStatistics());
  const now = o.now ?? (() => performance.now());
  const heapMb = o.heapMb ?? (() => v8.getHeapStatistics().total_heap_size / 1024 / 1024);
  const growthMb = o.growthMb ?? 2;
  // A host only a little busy (a line a second, a timer) pauses often but grows nothing: without
  // this it would pay a full collection after every pause, for ever.
  let settledMb = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let lastActivity = now();
  let done = 0;
  let closed = false;

  const arm = (ms: number): void => {
    timer = setTimeout(step, ms);
    // A host stops when its server closes; a pending collection must not keep it running.
    timer.unref();
  };
  // One timer per quiet spell, not one per event: a poke only notes the time, and a step that
  // finds the host busy again waits out the rest of the quiet period.
  const step = (): void => {
    timer = undefined;
    if (closed) return;
    const quiet = now() - lastActivity;
    if (quiet < quietMs) {
      done = 0;
      arm(quietMs - quiet);
      return;
    }
    // A new series starts only from a poke's timer (or the first): a quiet host is not collected forever.
    if (done === 0 && heapMb() < settledMb + growthMb) return;
    collect();
    // The collection just freed the buffers the burst's JavaScript held (pipe reads, frames);
    // malloc keeps that memory until asked. A throw must not end the series or the host.
    try {
      o.release?.();
    } catch {
      // Nothing to give back is not worth a log line on an idle host.
    }
    done++;
    if (done < rounds && !isSettled(done)) arm(gapMs);
    else {
      done = 0;
      settledMb = heapMb();
    }
  };
  arm(quietMs);
  return {
    poke() {
      lastActivity = now();
      if (!closed && timer === undefined) arm(quietMs);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** V8's gc(), without starting node with --expose-gc: the flag set now reaches new contexts only. */
function exposedGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  if (typeof gc !== 'function') return () => {};
  const full = gc as () => void;
  return () => full();
}

type SpaceStats = Pick<v8.HeapSpaceInfo, 'space_name' | 'physical_space_size' | 'space_used_size'>;

const MB = 1024 * 1024;

/**
 * The young generation is back to its idle size (2 MB) and the old space holds at most 2 MB it
 * does not use. One collection frees old-space objects, but their pages go back to the system only
 * once a later collection finds them swept: after 10,000 runs a host stopped at 22 MB of old space
 * holding 11, because its young generation had already settled and ended the series.
 */
export function heapSettled(spaces: readonly SpaceStats[]): boolean {
  const old = spaceOf(spaces, 'old_space');
  return youngSettled(spaces) && (old === undefined || old.physical_space_size - old.space_used_size <= 2 * MB);
}

/**
 * The default `isSettled`: {@link heapSettled}, or else the young generation is back and the old
 * space has stopped shrinking (no smaller than two collections before; freed pages go back one
 * collection late). A heap whose live objects are spread thin never gets within 2 MB of its
 * use (review: 53 MB unused of 82 after 16 rounds), and its series would otherwise run all 16
 * full collections, 35 to 50 ms each, for nothing.
 */
export function settledCheck(read: () => readonly SpaceStats[]): (round: number) => boolean {
  let olds: number[] = [];
  return (round) => {
    if (round <= 1) olds = [];
    const spaces = read();
    if (!youngSettled(spaces)) return false;
    if (heapSettled(spaces)) return true;
    const old = spaceOf(spaces, 'old_space')?.physical_space_size ?? 0;
    olds.push(old);
    return olds.length >= 3 && old >= olds[olds.length - 3]!;
  };
}

/** The young generation is back to its idle 2 MB. */
function youngSettled(spaces: readonly SpaceStats[]): boolean {
  return (spaceOf(spaces, 'new_space')?.physical_space_size ?? 0) <= 2 * MB;
}

function spaceOf(spaces: readonly SpaceStats[], name: string): SpaceStats | undefined {
  return spaces.find((s) => s.space_name === name);
}
