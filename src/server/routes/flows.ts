import { FloeError } from '../../errors.js';
import type { LocatedRun } from '../../hub/cluster-views.js';
import type { OutputQuery } from '../../store/store.js';
import type { ApiContext, ApiDeps, ApiRouter } from '../api.js';
import { sessionOf } from '../api.js';
import { Query, takesNoQuery } from '../query.js';
import { respond } from '../respond.js';
import { flowDetail, flowListing, runDetail, type OutputPage } from './flow-view.js';
import { RUN_LIST_PARAMS, runListQuery } from './run-list-query.js';

/** Output lines of a run detail without `?tail=` or `?limit=`: the last ones, as a log view starts. */
const OUTPUT_TAIL = 200;
/** Largest `?tail=` or `?limit=` for output lines. */
const OUTPUT_MAX = 5_000;

const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** GET /flows, GET /flows/:id, GET /flows/:id/runs/:runId, cancel, rerun. */
export function registerFlows(router: ApiRouter, deps: ApiDeps): void {
  const { hub } = deps;

  router.get('/flows', async (ctx) => {
    takesNoQuery(ctx.query);
    const flows = await Promise.all(hub.flows().map(async (f) => flowListing(f, await hub.triggerStates(f))));
    respond(ctx, `${flows.length} flows`, { flows });
  });

  router.get('/flows/:id', async (ctx) => {
    const q = new Query(ctx.query, ['ver', ...RUN_LIST_PARAMS]);
    const id = routeParam(ctx, 'id');
    const ver = q.int('ver', COUNT);
    const list = runListQuery(q, hub.views);
    const flow = hub.findFlow(id, ver);
    if (!flow) throw new FloeError('not-found', `no flow ${id}${ver === undefined ? '' : ` version ${ver}`}`);
    // Runs are listed for the flow id, every version: the archive is kept per flow id.
    const { pending, active, archive, next, unreachable } = await hub.views.listRuns({ ...list, flow: id });
    respond(ctx, `flow ${flow.id} version ${flow.ver}`, {
      config: flowDetail(flow, await hub.triggerStates(flow)),
      runs: { pending, active, archive },
      next,
      unreachable,
    });
  });

  router.get('/flows/:id/runs/:runId', async (ctx) => {
    const q = new Query(ctx.query, ['tail', 'from', 'limit', 'node']);
    const oq = outputQuery(q);
    const at = await runOfFlow(deps, ctx);
    const r = at.record;
    const output = await outputPage(deps, at, oq);
    const flow = hub.findFlow(r.ref.flowRef.id, r.ref.flowRef.ver);
    respond(ctx, `run ${r.ref.run} (${r.status})`, runDetail(r, flow, output));
  });

  router.post('/flows/:id/runs/:runId/cancel', async (ctx) => {
    takesNoQuery(ctx.query);
    const at = await runOfFlow(deps, ctx);
    await hub.views.cancel(at, sessionOf(ctx).user);
    respond(ctx, `cancelled run ${at.record.ref.run}`, { run: at.record.ref.run });
  });

  router.post('/flows/:id/runs/:runId/rerun', async (ctx) => {
    takesNoQuery(ctx.query);
    const at = await runOfFlow(deps, ctx);
    const refs = await hub.views.rerun(at, sessionOf(ctx).user);
    const runs = refs.map((ref) => ref.run);
    respond(ctx, `run ${at.record.ref.run} started again as ${runs.join(', ')}`, { runs });
  });
}

/** The run `:runId` on whichever host holds it, which must belong to flow `:id`; 404 otherwise. */
async function runOfFlow(deps: ApiDeps, ctx: ApiContext): Promise<LocatedRun> {
  const id = routeParam(ctx, 'id');
  const runId = routeParam(ctx, 'runId');
  const at = await deps.hub.views.locate(runId);
  if (!at || at.record.ref.flowRef.id !== id) {
    const other = at ? ` (it is a run of flow ${at.record.ref.flowRef.id})` : '';
    throw new FloeError('not-found', `no run ${runId} in flow ${id}${other}`);
  }
  return at;
}

/** `?tail=N` (default 200), or `?from=&limit=` paging; `?node=` filters either. */
function outputQuery(q: Query): OutputQuery {
  const node = q.string('node');
  const tail = q.int('tail', { min: 0, max: OUTPUT_MAX });
  const from = q.int('from', COUNT);
  const limit = q.int('limit', { min: 1, max: OUTPUT_MAX });
  if (tail !== undefined && (from !== undefined || limit !== undefined)) {
    throw new FloeError('bad-request', 'give either tail, or from and limit, not both');
  }
  if (from === undefined && limit === undefined) return { node, tail: tail ?? OUTPUT_TAIL };
  return { node, from: from ?? 0, limit: limit ?? OUTPUT_TAIL };
}

async function outputPage(deps: ApiDeps, at: LocatedRun, q: OutputQuery): Promise<OutputPage> {
  if (q.tail !== undefined) return { lines: (await deps.hub.views.output(at, q)).lines };
  const limit = q.limit ?? OUTPUT_TAIL;
  // One line more than asked says whether another page exists; so does a reply its host cut short.
  const { lines, cut } = await deps.hub.views.output(at, { ...q, limit: limit + 1 });
  const shown = lines.slice(0, limit);
  const last = shown[shown.length - 1];
  if ((lines.length <= limit && !cut) || !last) return { lines };
  return { lines: shown, next: last.n + 1 };
}

/** A `:name` of the matched route: the router sets each one its path names, so a missing one is a bug here. */
function routeParam(ctx: ApiContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new FloeError('internal', `route ${ctx.path} has no :${name}`);
  return value;
}
