// Real-browser tests of the dashboard (issue 9, Proof), as ../shared/browser-e2e.md says:
// Debian's chromium driven by playwright-core, one browser per test file, a fresh context per test.
import { readFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AxeResults, Result } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type WebSocketRoute } from 'playwright-core';

export type Scheme = 'light' | 'dark';

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** How long a page may take to reach a state the test waits for: a deadline, not a measure. */
export const PAGE_TIMEOUT_MS = 20_000;

// Compiled to dist*/test/browser/: screenshots go to the repository's git-ignored test-output/.
const SCREENSHOTS = fileURLToPath(new URL('../../../test-output/screenshots/', import.meta.url));

/** Chromium for one test file (start-dash.ts starts and closes it with the file's hosts). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
}

export interface TestPage {
  page: Page;
  context: BrowserContext;
  /** What went wrong inside the page: uncaught errors and Content-Security-Policy refusals. */
  problems: string[];
  /** How many times the page was loaded (not navigated within the app): live pages need no reload. */
  loads: () => number;
}

/**
 * A page in a fresh context (own cookies, own websocket), at laptop size, in `scheme` (the
 * system's `prefers-color-scheme`). `baseURL` lets the test say `/app/dash`. With a test `t` it is closed after that test
 * however it ends, and problems in the page are said in its output as they happen (so a test
 * that then times out shows why); without, the caller closes the context.
 */
export async function openPage(
  t: TestContext | undefined,
  browser: Browser,
  baseURL: string,
  opts: { scheme?: Scheme } = {},
): Promise<TestPage> {
  const context = await browser.newContext({
    baseURL,
    colorScheme: opts.scheme ?? 'light',
    viewport: LAPTOP,
    reducedMotion: 'reduce',
  });
  t?.after(() => context.close());
  context.setDefaultTimeout(PAGE_TIMEOUT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  let loads = 0;
  page.on('load', () => loads++);
  const problem = (p: string) => {
    problems.push(p);
    t?.diagnostic(p);
  };
  page.on('pageerror', (err) => problem(`uncaught in the page: ${err.stack ?? err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problem(`CSP: ${m.text()}`);
  });
  return { page, context, problems, loads: () => loads };
}

/**
 * Moves the app to `path` as its own links do (history and the router's popstate), without
 * loading the page again: what was injected into it (axe) stays.
 */
export async function goInApp(page: Page, path: string): Promise<void> {
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'));`);
  await page.waitForURL((u) => u.pathname + u.search === path);
}

/**
 * Logs in through the login page as a person would; resolves once the page has left it (for
 * the page login was asked to return to, or the dashboard).
 */
export async function logIn(page: Page, user: string, password: string): Promise<void> {
  if (!new URL(page.url(), 'http://x').pathname.startsWith('/app/login')) await page.goto('/app/login');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password or token').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/app/login'));
}

/**
 * Logs the context in over the API (its cookie jar is the pages'), for tests about something
 * else than the login page: one page load less per test.
 */
export async function signIn(context: BrowserContext, apiUrl: string, user: string, password: string): Promise<void> {
  const res = await context.request.post(`${apiUrl}/login`, { data: { user, password } });
  if (!res.ok()) throw new Error(`login as ${user} at ${apiUrl}: HTTP ${res.status()}: ${await res.text()}`);
}

/** The page's path and query, as the address bar shows them. */
export function pathOf(page: Page): string {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

/**
 * Saves `test-output/screenshots/<name>-<scheme>[-phone].png` for a person to look at, the
 * whole page. Resolves with the file's path.
 */
export async function screenshot(page: Page, name: string, scheme: Scheme, phone = false): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}-${scheme}${phone ? '-phone' : ''}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

let axeSource: string | undefined;

async function axeScript(): Promise<string> {
  const require = createRequire(import.meta.url);
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/** One violation per line, each with where it is: what a person needs to fix it. */
function describeViolations(violations: Result[]): string {
  return violations
    .map((v) => {
      const where = v.nodes
        .slice(0, 5)
        .map((n) => `    at ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s*\n\s*/g, ' ')}`)
        .join('\n');
      const more = v.nodes.length > 5 ? `\n    and ${v.nodes.length - 5} more` : '';
      return `  ${v.impact ?? 'unknown'} ${v.id}: ${v.help} (${v.helpUrl})\n${where}${more}`;
    })
    .join('\n');
}

/**
 * Runs axe-core on the page as it is now and throws on any `serious` or `critical` violation.
 *
 * The page's CSP (`script-src 'self'`) refuses inline and injected <script> tags, and it stays
 * on: axe's source is evaluated through the DevTools protocol (page.evaluate with a string),
 * which is the debugger's own channel and not subject to the page's CSP, so the page under test
 * is the page users get.
 */
export async function checkA11y(page: Page, what: string): Promise<void> {
  const loaded = await page.evaluate('typeof globalThis.axe === "object"');
  if (loaded !== true) await page.evaluate(await axeScript());
  // axe's default rules: WCAG 2.0 to 2.2 A and AA, and its best practices.
  const results = await page.evaluate<AxeResults>('globalThis.axe.run(document, { resultTypes: ["violations"] })');
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) throw new Error(`${what}: ${bad.length} serious or critical accessibility violations:\n${describeViolations(bad)}`);
}

/**
 * Polls `probe` until it returns something other than undefined (a state, not a time), and
 * resolves with that. A probe that throws fails at once: it saw something that must never be
 * shown. On the deadline it fails with `what` and what `seen` says was last seen.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, seen: () => unknown = () => undefined): Promise<T> {
  const deadline = Date.now() + PAGE_TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(seen())}`);
    await sleep(50);
  }
}

/** The texts of what `locator` matches now, trimmed, in document order. */
export async function textsOf(locator: Locator): Promise<string[]> {
  return (await locator.allInnerTexts()).map((s) => s.trim());
}

/** Waits until `locator`'s text matches `want`; resolves with that text. */
export async function untilText(locator: Locator, want: RegExp, what: string): Promise<string> {
  let seen: string | undefined;
  return until(
    what,
    async () => {
      seen = (await locator.count()) > 0 ? (await locator.first().innerText()).trim() : undefined;
      return seen !== undefined && want.test(seen) ? seen : undefined;
    },
    () => seen,
  );
}

/** The page's websocket to its host, as the test controls it. */
export interface LinkControl {
  /** How many sockets of the page reached the host so far. */
  readonly connected: number;
  /** The host's side closes every open socket of the page, as a host or proxy dropping it would. */
  drop(): Promise<void>;
  /** From now on the page's new sockets are closed as soon as they open: the host is unreachable. */
  refuse(): void;
  /** New sockets reach the host again. */
  admit(): void;
}

/**
 * Puts the page's websocket (`<base-url>/ws`) through the test, before the page opens it: each
 * socket is connected to the real host (frames pass both ways untouched) unless refused.
 */
export async function controlLink(page: Page): Promise<LinkControl> {
  const open = new Set<{ page: WebSocketRoute; host: WebSocketRoute }>();
  let refusing = false;
  let connected = 0;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (refusing) {
      // Not connected to the host: Playwright opens it in the page, and it closes at once.
      void ws.close({ code: 1012, reason: 'refused by the test' });
      return;
    }
    const host = ws.connectToServer();
    connected++;
    open.add({ page: ws, host });
  });
  return {
    get connected() {
      return connected;
    },
    async drop() {
      const all = [...open];
      open.clear();
      // The host's side is closed, and the page told so with the same code (Playwright does not
      // pass on a close of the host's side that the test itself made).
      await Promise.all(
        all.map(async (s) => {
          await s.host.close({ code: 1012, reason: 'dropped by the test' });
          await s.page.close({ code: 1012, reason: 'dropped by the test' });
        }),
      );
    },
    refuse() {
      refusing = true;
    },
    admit() {
      refusing = false;
    },
  };
}
