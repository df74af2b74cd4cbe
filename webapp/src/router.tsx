import { signal } from '@preact/signals';
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';

/** Where the app is: the path under /app and the query, as the address bar says. */
export interface Place {
  path: string;
  query: URLSearchParams;
}

function here(): Place {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export const place = signal<Place>(here());

addEventListener('popstate', () => {
  place.value = here();
});

/** Goes to `href` (a path under /app, with its query) without reloading the page. */
export function navigate(href: string, opts: { replace?: boolean; keepScroll?: boolean } = {}): void {
  if (href === location.pathname + location.search + location.hash) return;
  if (opts.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  place.value = here();
  // A new page starts at its top, as a link in a plain site would; a link within a page (a node
  // of a run) keeps its place.
  if (!opts.replace && !opts.keepScroll) scrollTo(0, 0);
}

/** The current address, to come back to after a login. */
export function currentHref(): string {
  return location.pathname + location.search + location.hash;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren; keepScroll?: boolean };

/** A real link (it can be opened in a new tab or copied), followed in the page on a plain click. */
export function Link({ href, children, keepScroll, ...rest }: LinkProps) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href, { keepScroll });
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

/** Pages' addresses, one place, so every deep link is built the same way. */
export const to = {
  dash: () => '/app/dash',
  hosts: () => '/app/hosts',
  login: (next?: string) => (next ? `/app/login?next=${encodeURIComponent(next)}` : '/app/login'),
  flow: (flow: string, query?: Record<string, string>) => `/app/flows/${encodeURIComponent(flow)}${qs(query)}`,
  run: (flow: string, run: string, node?: string) =>
    `/app/flows/${encodeURIComponent(flow)}/runs/${encodeURIComponent(run)}${node ? `?node=${encodeURIComponent(node)}` : ''}`,
};

function qs(query?: Record<string, string>): string {
  if (!query) return '';
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== ''));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Matches `/app/flows/:flow/runs/:run`-style patterns; values are decoded. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i]!;
    const got = s[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      try {
        out[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) return undefined;
  }
  return out;
}
