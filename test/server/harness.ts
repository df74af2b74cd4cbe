import { rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import type { PublishedEvent } from '../../src/model/events.js';
import type { RunStatus } from '../../src/model/run.js';
import { serveHost, type Serving } from '../../src/server/serve.js';
import type { Logger } from 'pino';
import { createLogger } from '../../src/host/logger.js';
import type { WebappFiles } from '../../src/server/webapp/files.js';
import { startRealHost, type RealHost } from '../e2e/harness.js';

export const ADMIN = 'test-admin-token';

export interface Reply<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  text: string;
}

export interface ApiHost {
  real: RealHost;
  serving: Serving;
  /** scheme://127.0.0.1:port */
  url: string;
  /** url + base-url, e.g. http://127.0.0.1:1234/build/api */
  api: string;
  events: PublishedEvent[];
  ended(run: string): Promise<{ status: RunStatus; reason?: string }>;
  /** Calls the API (path relative to base-url) with the admin token unless `headers` says otherwise. */
  call<T = { message: string; payload: any }>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply<T>>;
  close(): Promise<void>;
}

/** A real host (LevelDB, processes) serving its API on 127.0.0.1, port 0. */
export async function startApiHost(
  yaml: string,
  opts: {
    sessionTtlMs?: number;
    now?: () => number;
    baseUrl?: string;
    eventHistory?: number;
    log?: Logger;
    webapp?: WebappFiles;
    fanoutSliceMs?: number;
    corkPaceMs?: number;
  } = {},
): Promise<ApiHost> {
  const real = await startRealHost(yaml, { keepDir: true, eventHistory: opts.eventHistory });
  const serving = await serveHost({
    host: real.host,
    hostName: 'h1',
    tags: ['master'],
    adminToken: ADMIN,
    pub: { bind: '127.0.0.1:0' },
    log: opts.log ?? createLogger({ level: 'silent', pretty: false }),
    sessionTtlMs: opts.sessionTtlMs,
    now: opts.now,
    webapp: opts.webapp,
    fanoutSliceMs: opts.fanoutSliceMs,
    corkPaceMs: opts.corkPaceMs,
  });
  const url = serving.pubUrl;
  const api = `${url}${real.host.config.common.baseUrl.replace(/\/+$/, '')}`;
  const agent = new Agent({ keepAlive: false });
  return {
    real,
    serving,
    url,
    api,
    events: real.events,
    ended: real.ended,
    call: (method, path, body, headers) => call(agent, `${api}${path}`, method, body, headers ?? { 'X-Floe-Auth': ADMIN }),
    close: async () => {
      await serving.close();
      await real.close();
      await rm(real.dir, { recursive: true, force: true });
    },
  };
}

/** One HTTP request with node:http (no client-side magic); a string body is sent as is. */
export function call<T>(
  agent: Agent | undefined,
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const h: Record<string, string> = { ...headers };
  if (data !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: h, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        if (text !== '' && /json/.test(String(res.headers['content-type']))) parsed = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}
