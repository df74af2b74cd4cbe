/**
 * `p`, or a rejection naming `what` after `ms`: a run that never ends is a hang to report, and
 * must not hang the bench (nor leave its hosts running) with it.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${(ms / 1000).toFixed(0)} s (a hang?)`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
