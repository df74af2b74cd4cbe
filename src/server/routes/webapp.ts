import type { Middleware } from 'koa';
import type { ApiState } from '../api.js';
import { respond } from '../respond.js';
import type { WebappFiles } from '../webapp/files.js';

export interface WebappRouteOptions {
  files: WebappFiles;
  /** The API's base URL path (`/build/api`), told to the page so it knows where to call. */
  apiBase: string;
  hostName: string;
}

/*
 * The page runs only its own bundle: no inline script or style, nothing from elsewhere, never
 * framed. connect-src 'self' covers the websocket on the same host and port in current browsers.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function indexHtml(js: string, css: string, apiBase: string, hostName: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="floe-base" content="${escapeAttr(apiBase)}">
<meta name="floe-host" content="${escapeAttr(hostName)}">
<title>floe</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/assets/${escapeAttr(css)}">
<script type="module" src="/app/assets/${escapeAttr(js)}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

/**
 * The dashboard at `/app/*`, outside the API's base URL and before its auth: the page itself is
 * public (its login form must load), every piece of data it shows comes from the API, which
 * asks for a session. Any path under /app that is not a file is the page, so a deep link
 * works when pasted; the page's router decides what it shows. `/` leads to the dashboard.
 */
export function webappRoute(opts: WebappRouteOptions): Middleware<ApiState> {
  return async (ctx, next) => {
    const p = ctx.path;
    if (p !== '/' && p !== '/app' && !p.startsWith('/app/')) {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      respond(ctx, `${ctx.method} is not allowed on ${p} (allowed: GET, HEAD)`, null, 405);
      return;
    }
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (p === '/' || p === '/app' || p === '/app/') {
      ctx.redirect('/app/dash');
      return;
    }
    if (p.startsWith('/app/assets/')) {
      const asset = await opts.files.asset(p.slice('/app/assets/'.length));
      if (!asset) {
        respond(ctx, `no file ${p}`, null, 404);
        return;
      }
      ctx.type = asset.type;
      // Names carry a content hash (a source map does not need one: it is fetched with its file).
      ctx.set('Cache-Control', asset.type.startsWith('application/json') ? 'no-cache' : 'public, max-age=31536000, immutable');
      ctx.body = asset.body;
      return;
    }
    const manifest = await opts.files.manifest();
    if (!manifest) {
      respond(ctx, 'the dashboard is not built: run `npm run build`', null, 503);
      return;
    }
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = indexHtml(manifest.js, manifest.css, opts.apiBase, opts.hostName);
  };
}
