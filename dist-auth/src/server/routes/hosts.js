import { respond } from '../respond.js';
/** GET /hosts: this host and what it knows of its peers (peers are not contacted yet). */
export function registerHosts(router, deps) {
    router.get('/hosts', (ctx) => {
        const self = {
            id: deps.host.name,
            url: deps.host.url,
            tags: deps.host.tags,
            online: true,
            self: true,
            runs: { pending: deps.hub.listPending().length, active: deps.hub.listActive().length },
        };
        const peers = deps.config.common.hosts
            .filter((url) => url !== deps.host.url)
            .map((url) => ({ id: undefined, url, tags: [], online: false, self: false, runs: undefined }));
        respond(ctx, 'hosts', { hosts: [self, ...peers] });
    });
}
//# sourceMappingURL=hosts.js.map