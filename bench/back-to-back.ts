import { performance } from 'node:perf_hooks';
import { triggerRun } from './api-client.js';
import type { EventTap } from './event-tap.js';
import { TOKEN } from './group.js';

/** No run ending for this long means a hang. */
const STALL_MS = 60_000;

export interface BackToBackHost {
  api: string;
  /** Hears this host's own events only, so that a run is counted once, where it ran. */
  tap: EventTap;
}

/**
 * `count` runs of `flow` sent by `clients` clients at once, each posting its next trigger as
 * soon as the last was answered, round robin over `hosts`: runs per second from the first
 * trigger to the last run's end.
 */
export async function runsPerSecond(hosts: readonly BackToBackHost[], flow: string, count: number, clients = 8): Promise<number> {
  let ended = 0;
  let bad = 0;
  let allEnded: () => void = () => {};
  let stalled: (err: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    allEnded = resolve;
    stalled = reject;
  });
  done.catch(() => {}); // awaited below, once the triggers are sent; a stall before that is not unhandled
  let lastProgress = performance.now();
  const offs = hosts.map((h) =>
    h.tap.onEnd((status) => {
      lastProgress = performance.now();
      if (status !== 'good') bad++;
      if (++ended === count) allEnded();
    }),
  );
  // A run that never ends is a hang to report; it must not hang the bench too.
  const guard = setInterval(() => {
    if (performance.now() - lastProgress > STALL_MS)
      stalled(new Error(`${flow}: ${ended} of ${count} runs ended, then none for ${STALL_MS / 1000} s`));
  }, 1_000);
  try {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < count) {
          const h = hosts[next++ % hosts.length]!;
          await triggerRun(h.api, TOKEN, flow);
        }
      }),
    );
    await done;
    const secs = (performance.now() - t0) / 1000;
    if (bad > 0) throw new Error(`${bad} of ${count} runs of ${flow} did not end good`);
    return count / secs;
  } finally {
    clearInterval(guard);
    for (const off of offs) off();
  }
}
