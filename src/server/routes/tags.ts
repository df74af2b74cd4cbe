import type { Context } from 'koa';
import { FloeError } from '../../errors.js';
import type { ApiDeps, ApiRouter } from '../api.js';
import { sessionOf } from '../api.js';
import { Fields, readJson } from '../body.js';
import { takesNoQuery } from '../query.js';
import { respond } from '../respond.js';
import { adminRoute } from '../route-access.js';

/** POST /tags/:tag/release: a person frees a resource tag held by a run whose host was lost (admin only). */
export function registerTags(router: ApiRouter, deps: ApiDeps): void {
  router.post('/tags/:tag/release', adminRoute, async (ctx) => {
    takesNoQuery(ctx.query);
    const tag = ctx.params.tag;
    if (tag === undefined) throw new FloeError('internal', `route ${ctx.path} has no :tag`);
    const run = hasBody(ctx) ? new Fields('body', await readJson(ctx)).string('run', { optional: true }) : undefined;
    const released = await deps.hub.releaseTag(tag, sessionOf(ctx).user, run);
    const held = released.run === undefined ? '' : ` held by run ${released.run}`;
    respond(ctx, `released resource tag ${tag}${held}`, { tag, run: released.run });
  });
}

/** Whether the request sends a body at all: the body of this route may be left out. */
function hasBody(ctx: Context): boolean {
  const length = ctx.get('content-length');
  return ctx.get('transfer-encoding') !== '' || (length !== '' && length !== '0');
}
