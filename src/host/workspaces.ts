import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FlowConfig } from '../config/schema.js';
import type { Workspaces } from '../hub/deps.js';
import type { RunRef } from '../model/refs.js';

/**
 * One directory per run under the workspace root: `<root>/<flow>/<run>`, or the flow's one
 * shared `<root>/<flow>/single` with reuse-space (placement keeps its runs apart).
 */
export class LocalWorkspaces implements Workspaces {
  constructor(private readonly root: string) {}

  pathOf(ref: RunRef, flow: FlowConfig): string {
    return path.resolve(this.root, safeSegment(flow.id), flow.reuseSpace ? 'single' : safeSegment(ref.run));
  }

  async prepare(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}
