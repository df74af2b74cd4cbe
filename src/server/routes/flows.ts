import type { ApiDeps, ApiRouter } from '../api.js';

/** GET /flows, GET /flows/:id, GET /flows/:id/runs/:runId, cancel, rerun. (issue 4: routes helper) */
export function registerFlows(router: ApiRouter, deps: ApiDeps): void {
  void router;
  void deps;
}
