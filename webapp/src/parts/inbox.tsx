import { post } from '../api.js';
import type { FlowListing } from '../api-types.js';
import type { InboxItem } from '../pages/dash-runs.js';
import { Link, to } from '../router.js';
import { canAct } from '../session.js';
import { Ago } from './ago.js';
import { FormView } from './form-view.js';
import './inbox.css';

export interface InboxProps {
  items: InboxItem[];
  /** Flow names by id. */
  flows: ReadonlyMap<string, FlowListing>;
  /** Called once an answer was taken: the item goes before its event comes. */
  onAnswered: (item: InboxItem, message: string) => void;
  /** What the host said of the last answer. */
  said?: string;
}

const keyOf = (i: InboxItem) => `${i.run.ref.run}/${i.ask.node}`;
/** Element ids from run and node ids, which may hold characters an id should not. */
const idOf = (i: InboxItem) => `ask-${keyOf(i).replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** One data node waiting: where it is, how long it has waited, and its form to answer in place. */
function Ask({ item, flows, onAnswered }: { item: InboxItem; flows: InboxProps['flows']; onAnswered: InboxProps['onAnswered'] }) {
  const { run, ask } = item;
  const flow = run.ref.flowRef.id;
  const id = idOf(item);
  const answer = async (values: Record<string, string | boolean>) => {
    const res = await post('/push/data', { ref: { id: flow }, run: run.ref.run, form: { id: ask.node, values } });
    onAnswered(item, res.message);
  };
  return (
    <li class="ask" data-run={run.ref.run} data-node={ask.node}>
      <article aria-labelledby={`${id}-title`}>
        <h3 id={`${id}-title`} class="ask-title">
          <Link href={to.run(flow, run.ref.run, ask.node)}>{ask.name}</Link>
        </h3>
        <p class="ask-where muted">
          <Link href={to.flow(flow)}>{flows.get(flow)?.name ?? flow}</Link> · run{' '}
          <Link href={to.run(flow, run.ref.run)} class="mono">
            {run.ref.run}
          </Link>
          {run.execHost && <> · on {run.execHost}</>} · asked <Ago at={ask.since} />
        </p>
        <FormView form={ask.form} idPrefix={id} submitLabel="Answer" disabled={!canAct()} onSubmit={answer} />
      </article>
    </li>
  );
}

/**
 * Every data node waiting for input anywhere in the cluster. It stands out while something
 * waits and stays one quiet line when nothing does.
 */
export function Inbox({ items, flows, onAnswered, said }: InboxProps) {
  const waiting = items.length > 0;
  return (
    <section class={`inbox${waiting ? ' waiting' : ''}`} aria-labelledby="inbox-title">
      <h2 id="inbox-title">Waiting for you{waiting && <span class="inbox-count"> ({items.length})</span>}</h2>
      <p class="inbox-said" role="status">
        {said && <>✓ {said}</>}
      </p>
      {!waiting ? (
        <p class="muted inbox-empty">No run waits for input.</p>
      ) : (
        <>
          {!canAct() && <p class="muted">You may read these, but your role (viewer) may not answer them.</p>}
          <ul class="asks">
            {items.map((i) => (
              <Ask key={keyOf(i)} item={i} flows={flows} onAnswered={onAnswered} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
