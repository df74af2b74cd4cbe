import { rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { serveHost } from '../../src/server/serve.js';
import { createLogger } from '../../src/host/logger.js';
import { startRealHost } from '../e2e/harness.js';
export const ADMIN = 'test-admin-token';
/** A real host (LevelDB, processes) serving its API on 127.0.0.1, port 0. */
export async function startApiHost(yaml, opts = {}) {
    const real = await startRealHost(yaml, { keepDir: true });
    const serving = await serveHost({
        host: real.host,
        hostName: 'h1',
        tags: ['master'],
        adminToken: ADMIN,
        pub: { bind: '127.0.0.1:0' },
        log: createLogger({ level: 'silent', pretty: false }),
        sessionTtlMs: opts.sessionTtlMs,
        now: opts.now,
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
export function call(agent, url, method, body, headers = {}) {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type'))
        h['Content-Type'] = 'application/json';
    return new Promise((resolve, reject) => {
        const req = httpRequest(url, { method, headers: h, agent }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let parsed = text;
                if (/json/.test(String(res.headers['content-type'])))
                    parsed = JSON.parse(text);
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
            });
        });
        req.on('error', reject);
        if (data !== undefined)
            req.write(data);
        req.end();
    });
}
//# sourceMappingURL=harness.js.map