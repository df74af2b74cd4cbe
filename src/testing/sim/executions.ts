/** One execution of one task of a run, as the simulated task type saw it. */
export interface Execution {
  run: string;
  node: string;
  host: string;
  /** Which start of the host ran it (1 for the first). */
  boot: number;
  start: number;
  /** Unset while it runs; a killed host's tasks end at the kill. */
  end?: number;
  /** Resource tags of the run's flow. */
  tags: readonly string[];
}

/**
 * Every task execution of a simulation, checked as each one starts: no task of a run runs
 * twice (on any host, across restarts), no two runs whose flows share a resource tag have
 * tasks running at the same moment, and no host runs more runs at once than its max_runs. A start that breaks either is reported, never refused:
 * the simulation records what the cluster did.
 */
export class ExecutionLedger {
  readonly all: Execution[] = [];
  private readonly byTask = new Map<string, Execution>();
  private readonly running = new Set<Execution>();

  /** `time` shows a moment in messages (e.g. as ms since the simulation began). */
  constructor(private readonly time: (at: number) => string = String) {}

  /**
   * Records a start; returns the execution and what it breaks (empty when nothing). `maxRuns`
   * is the host's limit of runs at once (`-max_runs`), if it has one.
   */
  start(e: Omit<Execution, 'end'>, maxRuns?: number): { exec: Execution; broken: string[] } {
    const exec: Execution = { ...e };
    const broken: string[] = [];
    const key = `${e.run}\u0000${e.node}`;
    const first = this.byTask.get(key);
    if (first) {
      broken.push(`run ${e.run} task ${e.node} executed twice: on ${this.where(first)}, and again on ${this.where(exec)}`);
    } else this.byTask.set(key, exec);
    for (const other of this.running) {
      if (other.run === e.run) continue;
      const shared = e.tags.filter((t) => other.tags.includes(t));
      if (shared.length > 0) {
        broken.push(
          `runs ${other.run} and ${e.run} both hold resource tag ${shared.join(', ')}: ` +
            `${other.run} task ${other.node} runs on ${this.where(other)} when ${e.run} task ${e.node} starts on ${this.where(exec)}`,
        );
      }
    }
    this.all.push(exec);
    this.running.add(exec);
    if (maxRuns !== undefined) {
      const runs = new Set(this.runningOn(e.host, e.boot).map((x) => x.run));
      if (runs.size > maxRuns)
        broken.push(`${e.host} has max_runs ${maxRuns} but runs tasks of ${runs.size} runs at once: ${[...runs].join(', ')}`);
    }
    return { exec, broken };
  }

  end(exec: Execution, at: number): void {
    if (exec.end !== undefined) return;
    exec.end = at;
    this.running.delete(exec);
  }

  /** Executions still running on one start of a host. */
  runningOn(host: string, boot: number): Execution[] {
    return [...this.running].filter((e) => e.host === host && e.boot === boot);
  }

  private where(e: Execution): string {
    return `${e.host} (boot ${e.boot}) at ${this.time(e.start)}`;
  }
}
