import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  text: string;
}

/** Kept-alive connections, as a dashboard or a script that triggers often would use. */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface CallOptions {
  body?: unknown;
  token?: string;
  timeoutMs?: number;
}

/** One request to a host's API; `url` is the full URL. Rejects only when no answer came. */
export async function call(method: string, url: string, opts: CallOptions = {}): Promise<Answer> {
  try {
    return await callOnce(method, url, opts);
  } catch (err) {
    // A kept-alive connection the host closed as idle just as it was reused: the request never
    // reached the host, so it is sent again, once, on a new connection (as Node's docs advise).
    if (err instanceof StaleSocketError) return callOnce(method, url, opts);
    throw err;
  }
}

class StaleSocketError extends Error {}

function callOnce(method: string, url: string, opts: CallOptions): Promise<Answer> {
  const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = {};
  if (data !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.token !== undefined) headers['X-Floe-Auth'] = opts.token;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers, timeout: opts.timeoutMs ?? 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${opts.timeoutMs ?? 60_000} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up');
      reject(stale ? new StaleSocketError(err.message, { cause: err }) : err);
    });
    req.end(data);
  });
}

/** GET that must answer 200, parsed; the error quotes the answer. */
export async function getJson(url: string, token: string): Promise<unknown> {
  const a = await call('GET', url, { token });
  if (a.status !== 200) throw new Error(`GET ${url} answered ${a.status}: ${a.text.slice(0, 300)}`);
  return JSON.parse(a.text);
}

/** POST /push/data for `flow`'s data trigger `start`; resolves with the new run's id. */
export async function triggerRun(api: string, token: string, flow: string): Promise<string> {
  const a = await call('POST', `${api}/push/data`, { token, body: { ref: { id: flow }, form: { id: 'start', values: {} } } });
  if (a.status !== 200) throw new Error(`push/data for ${flow} answered ${a.status}: ${a.text.slice(0, 300)}`);
  const run = (JSON.parse(a.text) as { payload?: { runs?: unknown[] } }).payload?.runs?.[0];
  if (typeof run !== 'string') throw new Error(`push/data for ${flow} named no run: ${a.text.slice(0, 300)}`);
  return run;
}

/** Closes the kept-alive connections, so the bench can exit. */
export function closeConnections(): void {
  agent.destroy();
}
