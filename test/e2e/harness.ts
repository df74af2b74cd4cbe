import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/host/logger.js';
import { startHost, type Host } from '../../src/host/host.js';
import type { PublishedEvent } from '../../src/model/events.js';
import type { RunStatus } from '../../src/model/run.js';
import { isFinished } from '../../src/model/run.js';

export interface RealHost {
  host: Host;
  dir: string;
  events: PublishedEvent[];
  ended: (run: string) => Promise<{ status: RunStatus; reason?: string }>;
  /** Stop the host (gracefully) and remove its temp dir. */
  close(): Promise<void>;
}

/** A temp dir for a test, removed by the returned cleanup. */
export async function tempDir(prefix = 'floe-e2e-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Starts a real host (LevelDB store, real processes) on `yaml`, written into a temp dir. */
export async function startRealHost(
  yaml: string,
  opts: { dir?: string; hostName?: string; tags?: string[]; keepDir?: boolean; eventHistory?: number } = {},
): Promise<RealHost> {
  const dir = opts.dir ?? (await tempDir());
  const file = path.join(dir, 'floe.yml');
  await writeFile(file, yaml);
  const host = await startHost({
    configFile: file,
    hostName: opts.hostName ?? 'h1',
    tags: opts.tags ?? ['master'],
    log: createLogger({ level: 'silent', pretty: false }),
    graceMs: 2_000,
    eventHistory: opts.eventHistory,
  });
  const events: PublishedEvent[] = [];
  const ends = new Map<string, { status: RunStatus; reason?: string }>();
  const waiters = new Map<string, (e: { status: RunStatus; reason?: string }) => void>();
  host.hub.subscribe((e) => {
    events.push(e);
    if (e.kind === 'end') {
      const v = { status: e.status, reason: e.reason };
      ends.set(e.ref.run, v);
      waiters.get(e.ref.run)?.(v);
    }
  });
  return {
    host,
    dir,
    events,
    ended: async (run) => {
      const seen = ends.get(run);
      if (seen) return seen;
      const archived = await host.hub.findRun(run);
      if (archived && isFinished(archived.status)) {
        return { status: archived.status, reason: archived.reason };
      }
      return new Promise((r) => waiters.set(run, r));
    },
    close: async () => {
      await host.stop();
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The run's output lines for one node, as text. */
export async function outputOf(h: RealHost, run: string, node: string): Promise<string[]> {
  return (await h.host.hub.getOutput(run, { node })).filter((l) => l.stream !== 'floe').map((l) => l.line);
}
