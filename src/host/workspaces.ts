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

  async prepare(ref: RunRef, flow: FlowConfig): Promise<string> {
    const dir = path.resolve(this.root, safeSegment(flow.id), flow.reuseSpace ? 'single' : safeSegment(ref.run));
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}
