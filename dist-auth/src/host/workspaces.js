import { mkdir } from 'node:fs/promises';
import path from 'node:path';
/**
 * One directory per run under the workspace root: `<root>/<flow>/<run>`, or the flow's one
 * shared `<root>/<flow>/single` with reuse-space (placement keeps its runs apart).
 */
export class LocalWorkspaces {
    root;
    constructor(root) {
        this.root = root;
    }
    async prepare(ref, flow) {
        const dir = path.resolve(this.root, safeSegment(flow.id), flow.reuseSpace ? 'single' : safeSegment(ref.run));
        await mkdir(dir, { recursive: true });
        return dir;
    }
}
function safeSegment(s) {
    return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}
//# sourceMappingURL=workspaces.js.map