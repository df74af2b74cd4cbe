import type { Browser } from 'playwright-core';
import { hashPassword } from '../../src/server/password.js';
import { startCluster, type Cluster, type ClusterHostSpec } from '../e2e/cluster-harness.js';
import { StampDir } from '../e2e/stamps.js';
import { launchBrowser } from './browser.js';

/** A user of the config's `users`, who logs in with a password rather than the admin token. */
export const ALICE = { user: 'alice', password: 'alice-browser-pw' };

export interface DashOptions {
  /** Gates a test may leave shut: opened before the hosts stop, so no task holds a host in its grace. */
  gates?: () => string[];
  /**
   * Alice in the config's users, who logs in with her password. Without users, `admin` logs in
   * with the admin token (docs/api.md, POST /login), which costs no password hashing per login.
   */
  users?: boolean;
}

/** What one test file drives: real hosts, a stamp dir for gates, one browser. */
export interface Dash {
  cluster: Cluster;
  stamps: StampDir;
  browser: Browser;
  /** Who logs in: alice with `users`, else admin with the admin token. */
  login: { user: string; password: string };
  /** Closes the browser, opens every gate, stops every host and removes the temp dirs; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Real hosts (`bin/floe.js`: the shared dist/ build, which serves dist/webapp) and a browser for
 * one test file, started side by side. If either fails to start, the other is stopped before
 * this rejects, so a failed `before` leaves nothing running.
 */
export async function startDash(hosts: ClusterHostSpec[], flows: (s: StampDir) => string, opts: DashOptions = {}): Promise<Dash> {
  const stamps = await StampDir.create();
  const [c, b] = await Promise.allSettled([
    (async () =>
      startCluster({
        hosts,
        flows: flows(stamps),
        ...(opts.users && { common: { users: [{ user: ALICE.user, password: await hashPassword(ALICE.password), role: 'admin' }] } }),
      }))(),
    launchBrowser(),
  ]);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await stamps.openAll(opts.gates?.() ?? []);
        await Promise.allSettled([b.status === 'fulfilled' && b.value.close(), c.status === 'fulfilled' && c.value.stop()]);
      } finally {
        await stamps.remove();
      }
    })());
  if (c.status === 'rejected' || b.status === 'rejected') {
    await stop();
    throw c.status === 'rejected' ? c.reason : (b as PromiseRejectedResult).reason;
  }
  const login = opts.users ? ALICE : { user: 'admin', password: c.value.adminToken };
  return { cluster: c.value, stamps, browser: b.value, login, stop };
}
