import type { Config } from '../../config/schema.js';
import { parseConfig } from '../../config/validate.js';
import { endNode } from '../../nodes/end.js';
import { createNodeRegistry } from '../../nodes/index.js';
import type { NodeContext, NodeRegistry, NodeResult, NodeType } from '../../nodes/node-type.js';

/**
 * The default flows (tasks are of type `work`): one without tags, two that share resource tag
 * `db` (one of them also takes `a`), one with `a` alone, and one whose host-tag `gpu` only odd
 * hosts have.
 */
export const DEFAULT_FLOWS = `
flows:
  - id: plain
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: work }
      - { name: check, listen: task.build.good, type: work }
  - id: migrate
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: up, listen: trigger.good, type: work }
      - { name: verify, listen: task.up.good, type: work }
  - id: backup
    resource-tags: [a, db]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: dump, listen: trigger.good, type: work }
  - id: index
    resource-tags: [a]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: scan, listen: trigger.good, type: work }
  - id: render
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: frames, listen: trigger.good, type: work }
`;

export interface WorkOpts {
  minMs: number;
  maxMs: number;
  /** Chance that the task exits 1. */
  failRate: number;
}

/** Runs one task: the simulation records it and waits a seeded time. */
export type WorkExec = (ctx: NodeContext, opts: WorkOpts, signal: AbortSignal) => Promise<NodeResult>;

/** The task type of the simulated flows: records its execution and takes a seeded time. */
export function simRegistry(execute: WorkExec): NodeRegistry {
  const work: NodeType<WorkOpts> = {
    type: 'work',
    parseOpts: (raw, check) => {
      const num = (key: string, dflt: number) => {
        const v = raw[key];
        if (v === undefined) return dflt;
        if (typeof v === 'number' && v >= 0) return v;
        check.error(key, 'must be a number >= 0');
        return dflt;
      };
      return { minMs: num('min-ms', 10), maxMs: num('max-ms', 200), failRate: num('fail-rate', 0.05) };
    },
    execute,
  };
  return createNodeRegistry([work, endNode] as NodeType[]);
}

/** Parses the simulation's config; a bad one is a mistake in the test, so it throws. */
export function parseSimConfig(yaml: string): Config {
  const never: WorkExec = () => Promise.reject(new Error('the parse-time registry runs nothing'));
  const { config, problems } = parseConfig(yaml, 'sim.yml', simRegistry(never));
  const errors = problems.filter((p) => p.severity === 'error');
  if (!config || errors.length > 0) throw new Error(`bad simulation config:\n${errors.map((p) => p.message).join('\n')}`);
  return config;
}
