import type { ApiDeps, ApiRouter } from '../api.js';
import { Query } from '../query.js';
import { respond } from '../respond.js';
import { RUN_LIST_PARAMS, runListQuery } from './run-list-query.js';

/** GET /runs: the runs of every flow on every host, as GET /flows/:id lists one flow's. */
export function registerRuns(router: ApiRouter, deps: ApiDeps): void {
  const { hub } = deps;
  router.get('/runs', async (ctx) => {
    const list = runListQuery(new Query(ctx.query, RUN_LIST_PARAMS), hub.views);
    const { pending, active, archive, next, unreachable } = await hub.views.listRuns(list);
    const message = `${pending.length} pending, ${active.length} active, ${archive.length} archived runs`;
    respond(ctx, message, { pending, active, archive, next, unreachable });
  });
}
