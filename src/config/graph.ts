import { escapeControls } from '../quote-value.js';
import type { FlowConfig, NodeConfig, TriggerConfig } from './schema.js';
import { canEmit, parseTag, sampleTags } from './tags.js';
import type { EndsRun } from './tags.js';

/** Without a registry, the `end` type is the one that ends a run. */
const endType: EndsRun = (type) => type === 'end';

/**
 * The text `floe check` prints for a flow: its triggers, which nodes each event tag starts,
 * and the tags nobody listens to (these end the run: good ones once it is idle, bad ones
 * at once).
 */
export function describeFlowGraph(flow: FlowConfig, endsRun: EndsRun = endType): string {
  const lines = [header(flow)];
  const triggers = flow.triggers.map(describeTrigger).join(', ');
  lines.push(`  triggers: ${triggers || 'none (nothing can start this flow)'}`);
  if (flow.nodes.length === 0) {
    if (flow.flowFile !== undefined) lines.push(`  tasks: from flow-file ${flow.flowFile} when a run starts`);
    else lines.push('  tasks: none');
    return oneLineEach(lines);
  }

  const listeners = new Map<string, NodeConfig[]>();
  const hear = (tag: string, n: NodeConfig): void => {
    const list = listeners.get(tag) ?? [];
    if (!list.includes(n)) list.push(n);
    listeners.set(tag, list);
  };
  for (const n of flow.nodes) {
    if (n.class === 'task') hear(n.listen, n);
    else n.wait.forEach((t) => hear(t, n));
  }

  const order = tagOrder(flow, [...listeners.keys()], endsRun);
  const width = Math.max(...order.map((t) => t.length));
  for (const tag of order) {
    const heard = listeners
      .get(tag)!
      .map((n) => describeListener(n, endsRun))
      .join(', ');
    const never = tag !== 'trigger.good' && !flow.nodes.some((n) => canEmit(n, tag, endsRun)) ? '  (never emitted)' : '';
    lines.push(`  ${tag.padEnd(width)}  -> ${heard}${never}`);
  }
  lines.push(...unheard(flow, listeners, endsRun));
  return oneLineEach(lines);
}

/** Joins the lines, escaping what a value written in the config could hold to split one. */
function oneLineEach(lines: string[]): string {
  return lines.map(escapeControls).join('\n');
}

function header(flow: FlowConfig): string {
  const parts = [`flow ${flow.id} v${flow.ver} ${JSON.stringify(flow.name)}`];
  if (flow.hostTags.length > 0) parts.push(`host-tags [${flow.hostTags.join(', ')}]`);
  if (flow.resourceTags.length > 0) parts.push(`resource-tags [${flow.resourceTags.join(', ')}]`);
  if (flow.reuseSpace) parts.push('reuse-space');
  if (flow.flowFile !== undefined) parts.push(`flow-file ${flow.flowFile}`);
  if (flow.env.length > 0) parts.push(`env [${flow.env.map((e) => e.slice(0, e.indexOf('='))).join(', ')}]`);
  return parts.join('  ');
}

function describeTrigger(t: TriggerConfig): string {
  switch (t.type) {
    case 'data':
      return t.form ? `${t.id} (data: ${t.form.fields.map((f) => f.id).join(', ') || 'no fields'})` : `${t.id} (data)`;
    case 'timer':
      return `${t.id} (timer ${t.periodSec}s)`;
    case 'poll-git': {
      const refs = Array.isArray(t.opts.refs) ? t.opts.refs.join(' ') : '';
      return `${t.id} (poll-git ${String(t.opts.url)} ${refs} every ${t.periodSec}s)`;
    }
  }
}

function describeListener(n: NodeConfig, endsRun: EndsRun): string {
  if (n.class === 'merge') return `${n.id} [${n.type}: ${n.wait.join(' ')}]`;
  const flags = [n.type];
  if (n.ignoreFail) flags.push('ignore-fail');
  if (n.useStatus) flags.push('use-status');
  if (endsRun(n.type) && n.type !== 'end') flags.push('ends the run');
  return `${n.id} (${flags.join(', ')})`;
}

/** trigger.good first, then each node's tags in file order; tags nothing emits come last. */
function tagOrder(flow: FlowConfig, heard: string[], endsRun: EndsRun): string[] {
  const byNode = (tag: string): number => {
    if (tag === 'trigger.good') return -1;
    const i = flow.nodes.findIndex((n) => canEmit(n, tag, endsRun));
    return i < 0 ? flow.nodes.length : i;
  };
  const rank = (tag: string): number => {
    const s = parseTag(tag).suffix;
    if (s === 'good') return -2;
    if (s === 'bad') return -1;
    return /^\d+$/.test(s) ? Number(s) : Number.MAX_SAFE_INTEGER;
  };
  return [...heard].sort((a, b) => byNode(a) - byNode(b) || rank(a) - rank(b));
}

function unheard(flow: FlowConfig, listeners: Map<string, NodeConfig[]>, endsRun: EndsRun): string[] {
  const good: string[] = [];
  const bad: string[] = [];
  const statuses: string[] = [];
  if (flow.triggers.length > 0 && !listeners.has('trigger.good')) good.push('trigger.good');
  for (const n of flow.nodes) {
    if (n.class === 'task' && n.useStatus && !endsRun(n.type)) {
      const heard = [...listeners.keys()]
        .filter((t) => canEmit(n, t, endsRun))
        .map((t) => Number(parseTag(t).suffix))
        .sort((a, b) => a - b);
      statuses.push(heard.length === 0 ? `task.${n.id}.<any status>` : `task.${n.id}.<status other than ${heard.join(', ')}>`);
      continue;
    }
    for (const tag of sampleTags(n, endsRun)) {
      if (listeners.has(tag)) continue;
      (parseTag(tag).suffix === 'bad' ? bad : good).push(tag);
    }
  }
  const out: string[] = [];
  if (good.length > 0) out.push(`  unheard, the run ends good once idle: ${good.join(', ')}`);
  if (bad.length > 0) out.push(`  unheard, the run ends bad at once:    ${bad.join(', ')}`);
  if (statuses.length > 0) out.push(`  unheard exit statuses:                ${statuses.join(', ')}`);
  return out;
}
