import { post } from '../api.js';
import type { FlowDetail } from '../api-types.js';
import { navigate, to } from '../router.js';
import { canAct } from '../session.js';
import { Ago } from './ago.js';
import { FormView } from './form-view.js';
import { formatDuration, now, When } from './status.js';

type Trigger = FlowDetail['triggers'][number];

/** `every 5 min`, `every 1 h`, `every 90 s`: a period as a person would say it. */
export function everyText(sec: number): string {
  if (sec >= 3600 && sec % 3600 === 0) return `every ${sec / 3600} h`;
  if (sec >= 60 && sec % 60 === 0) return `every ${sec / 60} min`;
  return `every ${sec} s`;
}

/** `in 42 s`, `in 3 m 05 s`: whole seconds, so a ticking countdown does not flicker decimals. */
function inText(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s < 60 ? `in ${s} s` : `in ${formatDuration(s * 1000)}`;
}

/**
 * A timer's next firing, ticking. Timers fire at every multiple of their period, so once the
 * moment the host told has passed, the next one is known without asking again.
 */
function NextFire({ at, period }: { at: number; period?: number }) {
  const t = now.value;
  let next = at;
  if (period && period > 0 && next <= t) next += Math.ceil((t - next + 1) / (period * 1000)) * period * 1000;
  return (
    <>
      <When at={next} /> <span class="muted nowrap">({inText(next - t)})</span>
    </>
  );
}

function Owner({ owner }: { owner?: string }) {
  return owner ? (
    <>
      fired by <strong>{owner}</strong>
    </>
  ) : (
    <span class="muted">no host known to fire it yet</span>
  );
}

/** opts.refs or opts.exclude-refs as a list: the config takes one value as a list of one. */
function refList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x));
  if (typeof v === 'string' || typeof v === 'number') return [String(v)];
  return [];
}

function TimerCard({ t }: { t: Trigger }) {
  return (
    <section class="trigger-card" aria-labelledby={`trigger-${t.id}`}>
      <h3 id={`trigger-${t.id}`}>
        <span class="trigger-kind">timer</span> {t.name}
      </h3>
      <dl class="trigger-facts">
        <dt>Period</dt>
        <dd>{t.period !== undefined ? everyText(t.period) : <span class="muted">–</span>}</dd>
        <dt>Next firing</dt>
        <dd>{t.nextFire !== undefined ? <NextFire at={t.nextFire} period={t.period} /> : <span class="muted">not known</span>}</dd>
        <dt>Host</dt>
        <dd>
          <Owner owner={t.owner} />
        </dd>
      </dl>
    </section>
  );
}

function PollCard({ t }: { t: Trigger }) {
  const url = typeof t.opts.url === 'string' ? t.opts.url : undefined;
  const refs = refList(t.opts.refs);
  const excluded = refList(t.opts['exclude-refs']);
  const seen = Object.entries(t.lastSeen ?? {});
  return (
    <section class="trigger-card" aria-labelledby={`trigger-${t.id}`}>
      <h3 id={`trigger-${t.id}`}>
        <span class="trigger-kind">git poll</span> {t.name}
      </h3>
      <dl class="trigger-facts">
        <dt>Repository</dt>
        <dd class="mono any-wrap">{url ?? <span class="muted">–</span>}</dd>
        <dt>Refs</dt>
        <dd>
          {refs.length > 0 ? <span class="mono">{refs.join(', ')}</span> : 'every branch'}
          {excluded.length > 0 && <span class="muted"> (not {excluded.join(', ')})</span>}
        </dd>
        <dt>Period</dt>
        <dd>{t.period !== undefined ? everyText(t.period) : <span class="muted">–</span>}</dd>
        <dt>Last polled</dt>
        <dd>
          {t.lastPolled !== undefined ? (
            <>
              <When at={t.lastPolled} />{' '}
              <span class="muted nowrap">
                (<Ago at={t.lastPolled} />)
              </span>
            </>
          ) : (
            <span class="muted">not yet, as far as this host knows</span>
          )}
        </dd>
        <dt>Host</dt>
        <dd>
          <Owner owner={t.owner} />
        </dd>
      </dl>
      {seen.length > 0 ? (
        <table class="poll-seen" aria-label={`Last seen by ${t.name}`}>
          <thead>
            <tr>
              <th scope="col">Ref</th>
              <th scope="col">Last hash seen</th>
            </tr>
          </thead>
          <tbody>
            {seen.map(([ref, hash]) => (
              <tr key={ref}>
                <td class="mono any-wrap">{ref}</td>
                <td class="mono" title={hash}>
                  {hash.slice(0, 12)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No hash seen yet.</p>
      )}
    </section>
  );
}

/**
 * A data trigger's form and its Launch button. A CI user launching a build wants to watch it,
 * so a launch goes to the new run; the host checks the values and its errors show by their fields.
 */
function LaunchCard({ flow, t }: { flow: FlowDetail; t: Trigger }) {
  const acts = canAct();
  const form = t.form ?? { title: '', fields: [] };
  const launch = async (values: Record<string, string | boolean>) => {
    const res = await post<{ runs: string[] }>('/push/data', { ref: { id: flow.id, ver: flow.ver }, form: { id: t.id, values } });
    const run = res.payload.runs[0];
    if (run) navigate(to.run(flow.id, run));
  };
  return (
    <section class="trigger-card launch" aria-labelledby={`trigger-${t.id}`}>
      <h3 id={`trigger-${t.id}`}>
        <span class="trigger-kind">launch</span> {t.name}
      </h3>
      {/* A disabled fieldset disables every field in it: a viewer sees the form, greyed. */}
      <fieldset class="bare-fieldset" disabled={!acts}>
        <FormView
          key={`${flow.ver}/${t.id}`}
          form={{ title: form.title || t.name, fields: form.fields }}
          idPrefix={`launch-${t.id}`}
          submitLabel="Launch"
          disabled={!acts}
          onSubmit={launch}
        />
      </fieldset>
      {!acts && <p class="muted">Your role may look but not launch runs.</p>}
    </section>
  );
}

/** Every trigger of the flow: data triggers as forms to launch with, timers and git polls as facts. */
export function FlowTriggers({ flow }: { flow: FlowDetail }) {
  const data = flow.triggers.filter((t) => t.type === 'data');
  const other = flow.triggers.filter((t) => t.type !== 'data');
  if (flow.triggers.length === 0) return <p class="muted">This flow has no triggers.</p>;
  return (
    <div class="flow-triggers">
      {data.map((t) => (
        <LaunchCard key={t.id} flow={flow} t={t} />
      ))}
      {other.map((t) => (t.type === 'timer' ? <TimerCard key={t.id} t={t} /> : <PollCard key={t.id} t={t} />))}
    </div>
  );
}
