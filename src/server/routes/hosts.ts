import type { HostEntry, HostView } from '../../cluster/host-view.js';
import type { ApiDeps, ApiRouter } from '../api.js';
import { respond } from '../respond.js';

/**
 * GET /hosts: this host, then every peer as this host sees it, and the resource tags every
 * online host owns (asked of each at once, as run lists are).
 */
export function registerHosts(router: ApiRouter, deps: ApiDeps): void {
  router.get('/hosts', async (ctx) => {
    // Tags first: asking a silent peer takes up to 2 s, and the hosts' states must be as of the
    // answer, not of the request (a peer that went offline meanwhile shows so).
    const { tags, unreachable } = await deps.hub.clusterTags();
    const view = deps.hub.clusterView();
    const hosts = view.hosts.map((v) => entryOf(v, deps));
    // A host that runs alone (not in common.hosts, or with none) has no peers in its view; it
    // still lists the configured ones, offline, as it did before hosts met each other.
    for (const url of deps.config.common.hosts) {
      if (hosts.some((h) => h.url === url) || url === deps.host.url) continue;
      hosts.push({ url, self: false, tags: [], online: false, heldTags: [], known: [] });
    }
    respond(ctx, 'hosts', { hosts, tags, unreachable });
  });
}

function entryOf(v: HostView, deps: ApiDeps): HostEntry {
  const { name, runs, url, ...rest } = v;
  // This host counts its own runs itself: its view may list only the first 100 ids.
  const counts = v.self
    ? { pending: deps.hub.listPending().length, active: deps.hub.listActive().length }
    : v.load && { pending: v.load.pending, active: v.load.active };
  return {
    id: name,
    // A host on its own has no common.hosts entry (the hub has a placeholder): its public URL stands for it.
    url: v.self && !/^https?:\/\//i.test(url) ? (deps.host.url ?? url) : url,
    ...rest,
    runs: counts,
    runIds: runs,
  };
}
