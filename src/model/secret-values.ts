import type { FormConfig } from './form.js';
import type { Values } from './values.js';

/** What API answers, events and peers' view replies show instead of the value of a secret form field. */
export const SECRET_SHOWN = '(secret)';

/** Ids of a form's secret fields; undefined when it has none (or no form). */
export function secretFieldIds(form: FormConfig | undefined): string[] | undefined {
  const ids = (form?.fields ?? []).filter((f) => f.secret === true).map((f) => f.id);
  return ids.length > 0 ? ids : undefined;
}

/** `values` with each value named in `secret` replaced by SECRET_SHOWN; `values` itself when none is. */
export function shownValues(values: Values, secret: readonly string[] | undefined): Values {
  // A record from a peer is checked only as far as the hub relies on it: anything but a list of ids hides nothing.
  const ids: readonly unknown[] = Array.isArray(secret) ? secret : [];
  const hidden = ids.filter((id): id is string => typeof id === 'string' && Object.hasOwn(values, id));
  if (hidden.length === 0) return values;
  const out: Values = { ...values };
  for (const id of hidden) out[id] = SECRET_SHOWN;
  return out;
}

/** What a run records of its trigger, as far as hiding goes (run.ts's TriggerRecord). */
interface TriggerValues {
  values: Values;
  /** Ids of the values given in secret fields. */
  secret?: string[];
}

/** A run's trigger as listings show it: secret values hidden, and which ones they are left out. */
export function shownTrigger<T extends TriggerValues>(t: T): Omit<T, 'secret'> {
  const { secret, ...rest } = t;
  return { ...rest, values: shownValues(t.values, secret) };
}

/** What a run records, as far as hiding goes (run.ts's RunRecord). */
interface RecordValues {
  trigger: TriggerValues;
  nodes: Record<string, { values?: Values; form?: FormConfig }>;
}

/**
 * A copy of a run record for a view (a peer's `run` reply): trigger values and data node
 * answers of secret fields hidden. Which ones are secret stays with it, so hiding again is harmless.
 */
export function shownRecord<R extends RecordValues>(r: R): R {
  const nodes: RecordValues['nodes'] = {};
  for (const [id, n] of Object.entries(r.nodes)) nodes[id] = n.values ? { ...n, values: shownValues(n.values, secretFieldIds(n.form)) } : n;
  return { ...r, trigger: { ...r.trigger, values: shownValues(r.trigger.values, r.trigger.secret) }, nodes };
}
