import type { HostEntry } from '../api-types.js';

/** A host's name; a peer never heard from is known by its URL alone. */
export function hostLabel(h: HostEntry): string {
  return h.id ?? h.url;
}

/** Online, offline, refused, or never heard from: in colour and in words. */
export function HostState({ host }: { host: HostEntry }) {
  if (host.online) return <span class="badge s-good host-state">online</span>;
  if (host.refused) return <span class="badge s-bad host-state">refused</span>;
  if (host.id === undefined && host.lastContact === undefined) return <span class="badge s-stopped host-state">never heard from</span>;
  return <span class="badge s-bad host-state">offline</span>;
}
