import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fetch from 'node-fetch';
import type { Config, FlowConfig } from '../config/schema.js';
import { parseFlowFile } from '../config/validate.js';
import { formatProblem } from '../errors.js';
import type { FlowFileLoader } from '../hub/deps.js';
import type { Values } from '../hub/events.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import { gitClient, processEnv } from '../nodes/git-client.js';
import { refProblem } from '../nodes/git-checkout.js';

/** A flow-file reference, classified as the README describes: a local file, a file in a git repo, or a URL. */
export type FlowFileRef =
  | { kind: 'file'; path: string }
  | { kind: 'git'; url: string; path: string }
  | { kind: 'fetch'; url: string };

/** `floes/floe.yaml`, `git@github.com:floeit/floe.git/build/FLOE.yaml`, `https://host/x.yaml`. */
export function classifyFlowFile(ref: string): FlowFileRef {
  // A path inside a `.git` repository comes first: https://host/org/repo.git/build/floe.yml is git.
  const git = /^(.*?\.git)\/(.+)$/.exec(ref);
  if (git && (/^[\w.-]+@[\w.-]+:/.test(ref) || /^(ssh|git|file|https?):\/\//.test(ref))) return { kind: 'git', url: git[1], path: git[2] };
  if (/^https?:\/\//.test(ref)) return { kind: 'fetch', url: ref };
  return { kind: 'file', path: ref };
}

const MAX_FLOW_FILE = 1024 * 1024;
/** A flow-file that takes longer than this to arrive fails the run instead of hanging it. */
const LOAD_TIMEOUT_MS = 60_000;

/** Reads and validates a flow's flow-file when one of its runs starts. */
export class LocalFlowFiles implements FlowFileLoader {
  constructor(
    private readonly registry: NodeRegistry,
    private readonly configDir: string,
    private readonly gitKey?: string,
  ) {}

  async load(flow: FlowConfig, values: Values, config: Config): Promise<FlowConfig> {
    const ref = classifyFlowFile(flow.flowFile ?? '');
    const { text, file } = await this.read(ref, values, config);
    const { flow: loaded, problems } = parseFlowFile(text, file, flow, this.registry);
    const errors = problems.filter((p) => p.severity === 'error');
    if (!loaded || errors.length > 0) throw new Error(errors.map(formatProblem).join('; ') || 'invalid flow-file');
    return loaded;
  }

  private async read(ref: FlowFileRef, values: Values, config: Config): Promise<{ text: string; file: string }> {
    switch (ref.kind) {
      case 'file': {
        const file = path.resolve(this.configDir, ref.path);
        return { text: await readFile(file, 'utf8'), file };
      }
      case 'fetch': {
        const res = await fetch(ref.url, { redirect: 'follow', signal: AbortSignal.timeout(LOAD_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`GET ${ref.url} answered ${res.status}`);
        const text = await res.text();
        if (text.length > MAX_FLOW_FILE) throw new Error(`${ref.url} is larger than 1 MiB`);
        return { text, file: ref.url };
      }
      case 'git': {
        const gitRef = values.ref || 'HEAD';
        const problem = refProblem(gitRef);
        if (problem) throw new Error(`ref ${JSON.stringify(gitRef)} ${problem}`);
        const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-flow-file-'));
        try {
          const signal = AbortSignal.timeout(LOAD_TIMEOUT_MS);
          const git = gitClient(dir, { env: processEnv(), keyFile: this.gitKey ?? config.common.gitKey, signal });
          await git.init();
          await git.addRemote('origin', ref.url);
          await git.fetch(['--depth', '1', 'origin', gitRef]);
          await git.checkout(['--detach', 'FETCH_HEAD']);
          const file = path.join(dir, ref.path);
          return { text: await readFile(file, 'utf8'), file: `${ref.url}/${ref.path}` };
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  }
}


