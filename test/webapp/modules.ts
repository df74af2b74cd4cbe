// What the test/webapp tests call of the dashboard modules they load from source at run time
// (bundled or transformed by esbuild, so they cannot import them as modules of this program).
// Declared here by hand, and checked against the real modules by tsc through
// webapp/test-contracts.ts (npm run lint): a module that drifts from what its tests call fails
// the build, not the test run.
import type { PublishedEvent } from '../../src/model/events.js';
import type { FormField } from '../../src/model/form.js';
import type { OutputLine } from '../../src/model/output.js';
import type { RunSummary } from '../../src/model/run.js';

// webapp/src/parts/run-output-state.ts
export type OutputQuery = { tail: number } | { from: number; limit: number };
export interface OutputPage {
  lines: OutputLine[];
  next?: number;
}
export interface Held {
  lines: { lines: OutputLine[]; heldFrom: number };
  loaded: boolean;
}
// Members are written as properties, not methods: TypeScript compares a method's parameters
// both ways, so a real module that narrowed one would still fit.
export interface RunOutput {
  view: (node: string | undefined) => Held;
  onEvent: (e: PublishedEvent) => void;
  catchUp: () => void;
  stop: () => void;
}
export interface RunOutputOptions {
  tailLines?: number;
  retryMs?: number;
}
export interface RunOutputModule {
  RunOutput: new (
    run: string,
    read: (q: OutputQuery, node: string | undefined) => Promise<OutputPage>,
    opts?: RunOutputOptions,
  ) => RunOutput;
  // A method: it takes back what `view` gave, whose real `lines` (a class) the tests need not spell.
  shownLines(held: Held): readonly OutputLine[];
  TAIL_LINES: number;
}

// webapp/src/pages/dash-runs.ts
export interface DashRuns {
  pending: RunSummary[];
  active: RunSummary[];
  archive: RunSummary[];
  hasOlder: boolean;
  unreachable: Array<{ host: string; reason: string }>;
}
export interface RunList {
  pending: RunSummary[];
  active: RunSummary[];
  archive: RunSummary[];
  next?: number | string;
  unreachable: Array<{ host: string; reason: string }>;
}
export interface DashRunsModule {
  fromPage: (page: RunList) => DashRuns;
  mergePage: (prev: DashRuns, page: RunList) => DashRuns | undefined;
  applyRunEvent: (s: DashRuns, e: PublishedEvent) => DashRuns | 'reload';
  inboxOf: (s: DashRuns) => Array<{ run: RunSummary; ask: { node: string } }>;
  recentRunsByFlow: (s: DashRuns, older: ReadonlyMap<string, RunSummary[]>) => Map<string, RunSummary[]>;
  RECENT_RUNS: number;
}

// webapp/src/parts/form-errors.ts
export type ErrorsByField = (message: string, fields: FormField[]) => Record<string, string>;
export interface FormErrorsModule {
  errorsByField: ErrorsByField;
}
