import type { FlowConfig, TriggerConfig } from '../config/schema.js';
import { checkFormValues } from '../config/form.js';
import { FloeError } from '../errors.js';
import type { Deferred, HubCore, TriggerEvent } from './core.js';
import type { RunRef } from '../model/refs.js';
import type { RunStatus, RunRecord } from '../model/run.js';
import type { Values } from '../model/values.js';
import type { ClusterLink } from './cluster-link.js';
import { secretFieldIds, shownValues } from '../model/secret-values.js';

/** Where a trigger being adopted goes at once, when that is clear already (Placer.placeAtAdoption). */
export type AdoptionPlace = { here: true } | { here?: never; placedOn: string; waiting: string };

/** What the adoption of a trigger asks of the placer and the run side, to place it at once. */
export interface AtAdoption {
  /** Where a trigger of `flow` goes at once; undefined: adopt it as a pend, for the next placement pass. */
  place(flow: FlowConfig): AdoptionPlace | undefined;
  /** Sends `take` for a pend being adopted with `placedOn` a peer. */
  handOver(record: RunRecord): void;
  /** Adopts the run `build` makes straight into the active list; `start` starts its first tasks. */
  startHere(flow: FlowConfig, build: (runNumber: number) => RunRecord): Promise<{ record: RunRecord; start: () => Promise<void> }>;
}

/** Pends: triggers adopted into runs, and placed on this host when their tags allow. */
export class Pends {
  constructor(
    private readonly core: HubCore,
    private readonly link: ClusterLink,
    private readonly atAdoption: AtAdoption,
  ) {}

  async adopt(flow: FlowConfig, trig: TriggerConfig, values: Values, by?: string): Promise<RunRef[]> {
    if (!this.core.ready) throw new FloeError('shutting-down', 'host has not started');
    // Recovery fills the pending list first; a pend adopted before that would be listed twice.
    await this.core.ready;
    const event: TriggerEvent = {
      kind: 'trigger',
      tag: 'trigger.good',
      flowRef: { id: flow.id, ver: flow.ver },
      trigger: trig.id,
      triggerType: trig.type,
      values,
      by,
    };
    return new Promise((resolve, reject) => this.core.enqueue({ kind: 'trigger', event, done: { resolve, reject } }));
  }

  async handleTrigger(e: TriggerEvent, done: Deferred<RunRef[]>): Promise<void> {
    const flow = this.core.flowsByKey.get(`${e.flowRef.id}/${e.flowRef.ver}`);
    // The run keeps the values as given; what is published (websocket, peers, history) hides the secret ones.
    const secret = secretFieldIds(flow?.triggers.find((t) => t.id === e.trigger)?.form);
    const shown = shownValues(e.values, secret);
    this.core.publish({ ...e, values: shown });
    const place = flow && this.atAdoption.place(flow);
    const build = (n: number): RunRecord => ({
      ref: { flowRef: { ...e.flowRef }, run: `${this.core.deps.hostName}-${n}` },
      adoptedBy: this.core.deps.hostName,
      status: 'pending',
      trigger: { id: e.trigger, type: e.triggerType, values: e.values, by: e.by, ...(secret && { secret }) },
      createdAt: this.core.deps.clock.now(),
      nodes: {},
      ...(flow && flow.resourceTags.length > 0 && { resourceTags: [...flow.resourceTags].sort() }),
    });
    if (flow && place?.here) {
      // Nothing to wait for: one write makes it active, and its first tasks start in this turn.
      const { record, start } = await this.atAdoption.startHere(flow, build);
      this.core.publish({ kind: 'add-pend', tag: 'sys.add-pend', ref: record.ref, trigger: e.trigger, values: shown });
      done.resolve([record.ref]);
      return start();
    }
    const handOver = place && !place.here ? { placedOn: place.placedOn, waiting: place.waiting } : undefined;
    // The take goes out before anything else, as soon as the run's number may be shown: while the
    // pend is written, when the store allows (issue 10). Until that write is done the trigger is
    // not acknowledged, and a crash or a failed write forgets the run here altogether, number
    // and all, so nothing can place it anywhere else: it runs on that host or nowhere.
    let taken = false;
    const take = (r: RunRecord): void => {
      taken = true;
      this.atAdoption.handOver(r);
    };
    const record = await this.core.lists.adopt((n) => ({ ...build(n), ...handOver }), handOver && take);
    const { ref, waiting } = record;
    if (handOver && !taken) take(record);
    this.core.publish({ kind: 'add-pend', tag: 'sys.add-pend', ref, trigger: e.trigger, values: shown });
    if (waiting !== undefined) this.core.publish({ kind: 'pend-waiting', tag: 'sys.pend-waiting', ref, reason: waiting });
    done.resolve([ref]);
    this.core.schedulePlace();
  }

  async archivePend(record: RunRecord, status: RunStatus, reason: string): Promise<void> {
    if (record.placedOn !== undefined && record.placedOn !== this.link.selfUrl) {
      throw new FloeError(
        'conflict',
        `run ${record.ref.run} is being handed to ${this.link.membership.nameOf(record.placedOn)}; act on it there`,
      );
    }
    record.status = status;
    record.reason = reason;
    record.endTime = this.core.deps.clock.now();
    record.waiting = undefined;
    // Whatever it held or queued for is given back, once the archive is on disk.
    await this.core.lists.archivePend(record);
    this.core.publish({ kind: 'remove-pend', tag: 'sys.remove-pend', ref: record.ref });
    this.core.publish({ kind: 'end', tag: 'sys.end', ref: record.ref, status, reason });
    // Pends placed behind this one in the same pass were told it holds their tags.
    this.core.schedulePlace();
  }

  /** The data trigger a request starts: `id`, or the flow's first data trigger. */
  pickTrigger(flow: FlowConfig, id: string | undefined): TriggerConfig {
    const data = flow.triggers.filter((t) => t.type === 'data');
    if (id !== undefined && !data.some((t) => t.id === id)) {
      const other = flow.triggers.find((t) => t.id === id);
      const why = other ? `trigger ${id} is a ${other.type} trigger, not a data trigger` : `no data trigger ${id}`;
      const has = data.map((t) => t.id).join(', ') || 'none';
      throw new FloeError('not-found', `flow ${flow.id} version ${flow.ver} has ${why} (its data triggers: ${has})`);
    }
    const t = id === undefined ? data[0] : data.find((x) => x.id === id);
    if (!t) throw new FloeError('not-found', `flow ${flow.id} version ${flow.ver} has no data trigger, so it cannot be started by request`);
    return t;
  }

  checkTriggerValues(flow: FlowConfig, trig: TriggerConfig, values: Record<string, unknown>): Values {
    if (trig.form) {
      const checked = checkFormValues(trig.form, values);
      if ('errors' in checked)
        throw new FloeError('bad-request', `bad values for trigger ${trig.id} of flow ${flow.id}: ${checked.errors.join('; ')}`);
      return checked.values;
    }
    const out: Values = {};
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'object' && v !== null) throw new FloeError('bad-request', `value ${k} must be a string, number or boolean`);
      out[k] = String(v);
    }
    return out;
  }
}
