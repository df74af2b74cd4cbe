// The test/webapp tests load these modules from their source at run time and call them through
// types declared by hand (test/webapp/modules.ts). Here tsc checks that each real module fits
// what its tests declare, so a change to a module's exports that its tests would call wrongly
// fails `npm run lint` rather than passing unnoticed (the tests' own compile cannot see webapp
// code: it is not part of the host's program).
import type * as dashRuns from './src/pages/dash-runs.js';
import type * as formErrors from './src/parts/form-errors.js';
import type * as runOutputState from './src/parts/run-output-state.js';
import type { DashRunsModule, FormErrorsModule, RunOutputModule, RunOutputOptions } from '../test/webapp/modules.js';

/** `Real` where it can stand for `Declared`; a compile error where it cannot. */
type Fits<Real extends Declared, Declared> = [Real, Declared];

export type Contracts = [
  Fits<typeof dashRuns, DashRunsModule>,
  Fits<typeof formErrors, FormErrorsModule>,
  Fits<typeof runOutputState, RunOutputModule>,
  // Options are all optional, so a renamed one would still fit: every name the tests pass must exist.
  Fits<keyof RunOutputOptions, keyof runOutputState.RunOutputOptions>,
];
