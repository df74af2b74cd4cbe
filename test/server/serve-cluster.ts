import { createLogger } from '../../src/host/logger.js';
import { serveHost, type Serving } from '../../src/server/serve.js';
import type { TestCluster } from '../cluster/fakes.js';
import { ADMIN } from './harness.js';

/** One hub of an in-memory cluster served over real HTTP and websocket on 127.0.0.1 (admin token ADMIN). */
export function serveClusterHost(c: TestCluster, name: string): Promise<Serving> {
  const hub = c.hub(name).hub;
  return serveHost({
    host: { hub, config: hub.config },
    hostName: name,
    tags: ['linux'],
    adminToken: ADMIN,
    pub: { bind: '127.0.0.1:0' },
    log: createLogger({ level: 'silent', pretty: false }),
  });
}
