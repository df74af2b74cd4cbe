import { Auth } from './auth.js';
import { createApp } from './app.js';
import { closeAll, listen } from './listen.js';
import { Metrics } from './metrics.js';
import { attachWebsocket } from './ws.js';
/** Puts a host's hub on the network: the API, the websocket, metrics. */
export async function serveHost(opts) {
    const { host, log } = opts;
    const auth = new Auth({ adminToken: opts.adminToken, sessionTtlMs: opts.sessionTtlMs ?? 12 * 3600_000, now: opts.now ?? Date.now });
    const metrics = new Metrics(host.hub);
    const self = { name: opts.hostName, tags: opts.tags, url: undefined };
    const deps = { hub: host.hub, auth, config: host.config, host: self, log, metrics };
    const app = createApp(deps);
    const listening = await listen(app.callback(), opts.pub, opts.prv);
    const pubUrl = listening.find((l) => l.roles.includes('pub')).url;
    self.url = pubUrl;
    const ws = attachWebsocket(listening.map((l) => l.server), deps);
    for (const l of listening)
        log.info({ url: l.url, serves: l.roles }, `listening on ${l.url}`);
    return {
        urls: listening.map((l) => l.url),
        pubUrl,
        auth,
        close: async () => {
            await ws.close();
            await closeAll(listening.map((l) => l.server));
        },
    };
}
//# sourceMappingURL=serve.js.map