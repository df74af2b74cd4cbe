import type { FormConfig } from './form.js';
import type { OutputStream } from './output.js';
import type { FlowRef, RunRef } from './refs.js';
import type { RunStatus, TriggerType } from './run.js';
import type { Values } from './values.js';

/**
 * Everything that happens in a hub is one of these. The same shapes travel over the
 * websocket and between hosts, so add fields rather than rename them.
 */
export type HubEvent =
  /** An un-adopted trigger: matched to its flow and adopted into a run. */
  | { kind: 'trigger'; tag: 'trigger.good'; flowRef: FlowRef; trigger: string; triggerType: TriggerType; values: Values; by?: string }
  /** A node inside a run emitted its tag (`trigger.good`, `task.build.good`, `task.test.3`, `merge.signed.good`). */
  | { kind: 'node'; tag: string; ref: RunRef; node: string; good: boolean; status?: number }
  | { kind: 'add-pend'; tag: 'sys.add-pend'; ref: RunRef; trigger: string; values: Values }
  | { kind: 'pend-waiting'; tag: 'sys.pend-waiting'; ref: RunRef; reason: string }
  | { kind: 'remove-pend'; tag: 'sys.remove-pend'; ref: RunRef }
  | { kind: 'activate'; tag: 'sys.activate'; ref: RunRef; execHost: string; workspace: string }
  | { kind: 'node-start'; tag: 'sys.node-start'; ref: RunRef; node: string; attempt: number }
  /**
   * Lines a node printed on one stream in one turn of the host's loop, in order (issue 10: an
   * event per line held a host to 27,000 lines a second): `lines[i]` is line `first + i` of the
   * run's output, `last` is `first + lines.length - 1`, and the run's next lines go on from `last + 1`.
   */
  | {
      kind: 'node-output';
      tag: 'sys.node-output';
      ref: RunRef;
      node: string;
      stream: OutputStream;
      first: number;
      last: number;
      lines: string[];
    }
  | { kind: 'node-end'; tag: 'sys.node-end'; ref: RunRef; node: string; status: number; good: boolean; emitted: string; reason?: string }
  | { kind: 'data-required'; tag: 'sys.data-required'; ref: RunRef; node: string; form: FormConfig }
  | { kind: 'data-answered'; tag: 'sys.data-answered'; ref: RunRef; node: string; by: string }
  | { kind: 'end'; tag: 'sys.end'; ref: RunRef; status: RunStatus; reason?: string };

/**
 * An event as published to subscribers: numbered in publication order on this host (`seq`), and
 * named by the host where it happened (`host`). An event of another host, forwarded here for this
 * host's websocket clients (issue 8), keeps its host and its `at`, and carries its seq there as
 * `originSeq`.
 */
export type PublishedEvent = HubEvent & { seq: number; at: number; host: string; originSeq?: number };

/** Tags that nodes may listen to; `sys.*` is reserved for system events. */
export function isSystemTag(tag: string): boolean {
  return tag.startsWith('sys.');
}
