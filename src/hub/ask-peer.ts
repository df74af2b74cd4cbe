import type { PeerState } from '../cluster/membership.js';
import type { PeerReply, PeerRequest } from '../cluster/messages.js';
import type { Clock } from '../model/clock.js';

/** A peer's reply to `req`, or a rejection once `ms` pass on the clock without one. */
export async function askPeer(
  send: (url: string, req: PeerRequest) => Promise<PeerReply>,
  clock: Clock,
  url: string,
  req: PeerRequest,
  ms: number,
): Promise<PeerReply> {
  const timer = new AbortController();
  const timeout = clock.after(ms, timer.signal).then(() => {
    throw new Error(`no answer within ${ms} ms`);
  });
  try {
    return await Promise.race([send(url, req), timeout]);
  } finally {
    timer.abort();
    timeout.catch(() => {}); // the aborted timer rejects; the race has its answer
  }
}

/** Why a peer was not asked: refused, never heard from, or offline since when. */
export function offlineReason(p: PeerState): string {
  if (p.refused) return `refused: ${p.refused}`;
  if (p.lastContact === undefined) return 'offline: not heard from since this host started';
  return `offline since ${new Date(p.offlineSince ?? p.lastContact).toISOString()}`;
}

/** Why a reply of the wrong kind is no answer. */
export function replyReason(reply: PeerReply): string {
  if (reply.kind === 'refused') return `refused: ${reply.reason}`;
  if (reply.kind === 'error') return reply.message;
  return `answered ${reply.kind}`;
}
