import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fetch from 'node-fetch';
import { parseFlowFile } from '../config/validate.js';
import { formatProblem } from '../errors.js';
import { gitClient, processEnv } from '../nodes/git-client.js';
/** `floes/floe.yaml`, `git@github.com:floeit/floe.git/build/FLOE.yaml`, `https://host/x.yaml`. */
export function classifyFlowFile(ref) {
    if (/^https?:\/\//.test(ref))
        return { kind: 'fetch', url: ref };
    const git = /^(.*?\.git)\/(.+)$/.exec(ref);
    if (git && (/^[\w.-]+@[\w.-]+:/.test(ref) || /^(ssh|git|file|https?):\/\//.test(ref)))
        return { kind: 'git', url: git[1], path: git[2] };
    return { kind: 'file', path: ref };
}
const MAX_FLOW_FILE = 1024 * 1024;
/** Reads and validates a flow's flow-file when one of its runs starts. */
export class LocalFlowFiles {
    registry;
    configDir;
    gitKey;
    constructor(registry, configDir, gitKey) {
        this.registry = registry;
        this.configDir = configDir;
        this.gitKey = gitKey;
    }
    async load(flow, values, config) {
        const ref = classifyFlowFile(flow.flowFile ?? '');
        const { text, file } = await this.read(ref, values, config);
        const { flow: loaded, problems } = parseFlowFile(text, file, flow, this.registry);
        const errors = problems.filter((p) => p.severity === 'error');
        if (!loaded || errors.length > 0)
            throw new Error(errors.map(formatProblem).join('; ') || 'invalid flow-file');
        return loaded;
    }
    async read(ref, values, config) {
        switch (ref.kind) {
            case 'file': {
                const file = path.resolve(this.configDir, ref.path);
                return { text: await readFile(file, 'utf8'), file };
            }
            case 'fetch': {
                const res = await fetch(ref.url, { redirect: 'follow' });
                if (!res.ok)
                    throw new Error(`GET ${ref.url} answered ${res.status}`);
                const text = await res.text();
                if (text.length > MAX_FLOW_FILE)
                    throw new Error(`${ref.url} is larger than 1 MiB`);
                return { text, file: ref.url };
            }
            case 'git': {
                const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-flow-file-'));
                try {
                    const git = gitClient(dir, { env: processEnv(), keyFile: this.gitKey ?? config.common.gitKey });
                    await git.init();
                    await git.addRemote('origin', ref.url);
                    await git.fetch(['--depth', '1', 'origin', values.ref || 'HEAD']);
                    await git.checkout(['--detach', 'FETCH_HEAD']);
                    const file = path.join(dir, ref.path);
                    return { text: await readFile(file, 'utf8'), file: `${ref.url}/${ref.path}` };
                }
                finally {
                    await rm(dir, { recursive: true, force: true });
                }
            }
        }
    }
}
//# sourceMappingURL=flow-files.js.map