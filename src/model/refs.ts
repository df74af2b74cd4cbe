/** One version of one flow: `build` version 1. */
export interface FlowRef {
  id: string;
  ver: number;
}

/** An adopted, globally unique reference to one run: `h1-3` of flow build/1. */
export interface RunRef {
  flowRef: FlowRef;
  run: string;
}
