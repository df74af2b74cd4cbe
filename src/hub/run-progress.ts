import type { FlowConfig } from '../config/schema.js';
import { runSummary, type DataWaiting, type RunProgress, type RunRecord, type RunSummary } from '../model/run.js';

/** Whether a task type ends its run when reached (`end`) rather than doing work. */
export type EndsRun = (type: string) => boolean;

/**
 * The summary of a run executing here, with its progress and the data nodes waiting for input:
 * what a dashboard shows of every active run in the cluster without asking for each one's detail.
 * `flow` is the flow the run follows: its flow-file's once loaded.
 */
export function activeRunSummary(r: RunRecord, flow: FlowConfig, endsRun: EndsRun): RunSummary {
  return { ...runSummary(r), progress: runProgress(r, flow, endsRun), dataWaiting: dataWaitingOf(r, flow) };
}

/** Nodes that could run and those of them that ended; an `end` node is where the run stops, not work done. */
export function runProgress(r: RunRecord, flow: FlowConfig, endsRun: EndsRun): RunProgress {
  let done = 0;
  let total = 0;
  for (const n of flow.nodes) {
    if (n.class === 'task' && endsRun(n.type)) continue;
    total++;
    const status = r.nodes[n.id]?.status;
    if (status === 'good' || status === 'bad') done++;
  }
  return { done, total };
}

/**
 * The data nodes waiting for input, in the order they started, named as `flow` names them (by
 * id when it does not know them). A data node asks as it starts, so it waits since its start.
 */
export function dataWaitingOf(r: RunRecord, flow: FlowConfig | undefined): DataWaiting[] {
  const out: DataWaiting[] = [];
  for (const n of Object.values(r.nodes)) {
    if (n.status !== 'waiting-data' || !n.form) continue;
    const name = flow?.nodes.find((c) => c.id === n.id)?.name ?? n.id;
    out.push({ node: n.id, name, form: n.form, since: n.startTime });
  }
  return out;
}
