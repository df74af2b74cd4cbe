import type { ApiDeps, ApiRouter } from '../api.js';

/** POST /push/data. (issue 4: routes helper) */
export function registerPush(router: ApiRouter, deps: ApiDeps): void {
  void router;
  void deps;
}
