import { FloeError } from '../../errors.js';
import type { ApiDeps, ApiRouter } from '../api.js';
import { sessionOf } from '../api.js';
import { describeValue, Fields, readJson } from '../body.js';
import { takesNoQuery } from '../query.js';
import { respond } from '../respond.js';

/** A form's submitted values before the form checks them: one scalar per field. */
type SubmittedValues = Record<string, string | number | boolean>;

/**
 * POST /push/data `{ref: {id, ver?}, run?, form?: {id?, values?}}`, keys in any case as floe's
 * clients send `Ref`, `Form`, `Values`. Without `run` it fires the flow's data trigger `form.id`
 * (the first data trigger when no id is given); with `run` it answers that run's data node `form.id`.
 */
export function registerPush(router: ApiRouter, deps: ApiDeps): void {
  const { hub } = deps;

  router.post('/push/data', async (ctx) => {
    takesNoQuery(ctx.query);
    const body = new Fields('body', await readJson(ctx));
    const ref = body.object('ref');
    const flowId = ref.string('id');
    const ver = ref.int('ver', { optional: true });
    const run = body.string('run', { optional: true });
    const form = body.object('form', { optional: true });
    const formId = form?.string('id', { optional: true });
    const values = submittedValues(form);
    const by = sessionOf(ctx).user;

    if (run !== undefined) {
      if (formId === undefined) throw new FloeError('bad-request', `body.form.id must name the data node of run ${run} to answer`);
      // The host that holds the run answers it, whichever host was asked.
      const at = await hub.views.locate(run);
      const r = at?.record;
      const sameFlow = r && r.ref.flowRef.id === flowId && (ver === undefined || r.ref.flowRef.ver === ver);
      if (!at || !sameFlow) {
        const other = r ? ` (it is a run of flow ${r.ref.flowRef.id} version ${r.ref.flowRef.ver})` : '';
        throw new FloeError('not-found', `no run ${run} of flow ${flowId}${ver === undefined ? '' : ` version ${ver}`}${other}`);
      }
      await hub.views.answer(at, formId, values, by);
      respond(ctx, `answered ${formId} of run ${run}`, { run, node: formId });
      return;
    }

    // hub.trigger picks the data trigger (or says why there is none), checks the values, and
    // resolves once the pends are persisted, so the ids answered survive a crash.
    const refs = await hub.trigger(flowId, { ver, trigger: formId, values, by });
    const runs = refs.map((r) => r.run);
    respond(ctx, `flow ${flowId} triggered: ${runs.join(', ')}`, { runs });
  });
}

/** `form.values`: an object of strings, numbers and booleans; the form itself checks them further. */
function submittedValues(form: Fields | undefined): SubmittedValues {
  const raw = form?.raw('values');
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FloeError('bad-request', `body.form.values must be a JSON object of field id -> value, got ${describeValue(raw)}`);
  }
  const out: SubmittedValues = {};
  // Keys as sent: a form-less trigger passes them on as they are (form fields match in any case).
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new FloeError('bad-request', `body.form.values.${k} must be a string, number or boolean, got ${describeValue(v)}`);
    }
    out[k] = v;
  }
  return out;
}
