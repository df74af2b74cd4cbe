import type { Locator, Page } from 'playwright-core';
import { textsOf, until } from './browser.js';

/** What the run page shows of a run: its state in words, its host and its output lines. */
export interface RunShown {
  status: string;
  host: string;
  lines: string[];
}

export function runSummary(page: Page): Locator {
  return page.getByRole('region', { name: 'Run summary' });
}

/** The run's output as the log shows it: what the tasks wrote, not floe's own lines. */
export function logLines(page: Page): Locator {
  return page.getByRole('region', { name: /^Log of / }).locator('.log-row:not(.floe) .log-text');
}

/** The run as the page shows it now. */
export async function runShown(page: Page): Promise<RunShown> {
  const head = runSummary(page);
  const status = (await head.locator('.run-title .badge').innerText()).trim();
  const hostFact = head.locator('div', { has: page.locator('dt', { hasText: /^Host$/ }) }).locator('dd');
  const host = (await hostFact.innerText()).trim();
  return { status, host, lines: await textsOf(logLines(page)) };
}

/**
 * Waits until the run page shows `want` lines and `status`. Every state seen on the way must
 * show a beginning of `want`: a line out of order, shown twice or made up fails at once.
 */
export async function untilRunShows(page: Page, want: { status: string; lines: string[] }, what: string): Promise<RunShown> {
  let last: RunShown | undefined;
  return until(
    what,
    async () => {
      const seen = await runShown(page);
      last = seen;
      const prefix = want.lines.slice(0, seen.lines.length);
      if (seen.lines.length > want.lines.length || seen.lines.some((l, i) => l !== prefix[i])) {
        throw new Error(
          `${what}: the page showed lines that are not a beginning of ${JSON.stringify(want.lines)}: ${JSON.stringify(seen.lines)}`,
        );
      }
      return seen.status === want.status && seen.lines.length === want.lines.length ? seen : undefined;
    },
    () => last,
  );
}
