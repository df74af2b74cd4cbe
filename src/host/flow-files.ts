import { constants as fsConstants } from 'node:fs';
import { mkdtemp, open, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config, FlowConfig } from '../config/schema.js';
import type { Logger } from 'pino';
import { FlowFileThread } from './flow-file-thread.js';
import { formatProblem } from '../errors.js';
import type { FlowFileLoader } from '../hub/deps.js';
import type { Values } from '../model/values.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import { gitClient, processEnv } from '../nodes/git-client.js';
import { refProblem } from '../nodes/git-checkout.js';

/** A flow-file reference, classified as the README describes: a local file, a file in a git repo, or a URL. */
export type FlowFileRef = { kind: 'file'; path: string } | { kind: 'git'; url: string; path: string } | { kind: 'fetch'; url: string };

/** `floes/floe.yaml`, `git@github.com:floeit/floe.git/build/FLOE.yaml`, `https://host/x.yaml`. */
export function classifyFlowFile(ref: string): FlowFileRef {
  // A path inside a `.git` repository comes first: https://host/org/repo.git/build/floe.yml is git.
  const [, url, path] = /^(.*?\.git)\/(.+)$/.exec(ref) ?? [];
  if (url !== undefined && path !== undefined && (/^[\w.-]+@[\w.-]+:/.test(ref) || /^(ssh|git|file|https?):\/\//.test(ref)))
    return { kind: 'git', url, path };
  if (/^https?:\/\//.test(ref)) return { kind: 'fetch', url: ref };
  return { kind: 'file', path: ref };
}

/**
 * Flow-files hold kilobytes of tasks; this bounds the time spent parsing and checking one (1 MiB
 * of YAML takes 1-5 s on a 2-core machine; large ones are parsed off the hub's thread,
 * flow-file-thread.ts) and what a download may cost.
 */
export const MAX_FLOW_FILE = 1024 * 1024;
const TOO_LARGE = 'is larger than 1 MiB, the limit for a flow-file';
/** Problems quoted in a failed run's reason; a broken file can have thousands. */
const MAX_QUOTED_PROBLEMS = 10;
/** A flow-file that takes longer than this to arrive fails the run instead of hanging it. */
const LOAD_TIMEOUT_MS = 60_000;

/** Reads and validates a flow's flow-file when one of its runs starts. */
export class LocalFlowFiles implements FlowFileLoader {
  private readonly thread: FlowFileThread;

  /** `registry` checks the flow-files parsed in place; large ones are checked with the host's own node types (flow-file-thread.ts). */
  constructor(
    private readonly registry: NodeRegistry,
    private readonly configDir: string,
    private readonly gitKey?: string,
    log?: Pick<Logger, 'info' | 'warn'>,
  ) {
    this.thread = new FlowFileThread({
      onStart: () => log?.info('flow-file parser thread started'),
      onInPlace: (why) => log?.warn({ why }, 'large flow-files are parsed on the hub thread from now on'),
    });
  }

  async load(flow: FlowConfig, values: Values, config: Config): Promise<FlowConfig> {
    const ref = classifyFlowFile(flow.flowFile ?? '');
    const { text, file } = await this.read(ref, values, config);
    const { flow: loaded, problems } = await this.thread.parse(text, file, flow, this.registry);
    const errors = problems.filter((p) => p.severity === 'error');
    if (!loaded || errors.length > 0) throw new Error(describeErrors(errors.map(formatProblem)));
    return loaded;
  }

  /** Ends the parser thread, if one runs; a load still reading its flow-file then fails. */
  close(): Promise<void> {
    return this.thread.close();
  }

  private async read(ref: FlowFileRef, values: Values, config: Config): Promise<{ text: string; file: string }> {
    switch (ref.kind) {
      case 'file': {
        const file = path.resolve(this.configDir, ref.path);
        return { text: await readFlowFile(file, file), file };
      }
      case 'fetch': {
        // Aborted once done, so that a body left unread does not hold the connection open.
        const { default: fetch, FetchError } = await import('node-fetch'); // only hosts with fetched flow-files need it
        const done = new AbortController();
        const signal = AbortSignal.any([done.signal, AbortSignal.timeout(LOAD_TIMEOUT_MS)]);
        try {
          // `size` makes node-fetch stop reading (after decompressing) past the limit.
          const res = await fetch(ref.url, { redirect: 'follow', signal, size: MAX_FLOW_FILE });
          if (!res.ok) throw new Error(`GET ${ref.url} answered ${res.status}`);
          if (Number(res.headers.get('content-length')) > MAX_FLOW_FILE) throw new Error(`${ref.url} ${TOO_LARGE}`);
          return { text: await res.text(), file: ref.url };
        } catch (err) {
          if (err instanceof FetchError && err.type === 'max-size') throw new Error(`${ref.url} ${TOO_LARGE}`);
          throw err;
        } finally {
          done.abort();
        }
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
          const label = `${ref.url}/${ref.path}`;
          // The repository decides what the path is: a symlink to a host file must not be read.
          const file = await realpath(path.join(dir, ref.path));
          const root = await realpath(dir);
          if (!file.startsWith(root + path.sep)) throw new Error(`${label} leads outside the repository`);
          return { text: await readFlowFile(file, label), file: label };
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  }
}

/** A flow-file's text: a regular file of at most MAX_FLOW_FILE bytes (not a device or a pipe that never ends). */
async function readFlowFile(file: string, label: string): Promise<string> {
  // Non-blocking, so that opening a named pipe does not wait for a writer.
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${label} is not a regular file`);
    // Read one byte past the limit rather than trusting the size: the file may still be growing.
    const buf = Buffer.alloc(MAX_FLOW_FILE + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, size, buf.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > MAX_FLOW_FILE) throw new Error(`${label} ${TOO_LARGE}`);
    }
    return buf.subarray(0, size).toString('utf8');
  } finally {
    await handle.close();
  }
}

function describeErrors(errors: string[]): string {
  if (errors.length === 0) return 'invalid flow-file';
  const more = errors.length > MAX_QUOTED_PROBLEMS ? `; and ${errors.length - MAX_QUOTED_PROBLEMS} more errors` : '';
  return errors.slice(0, MAX_QUOTED_PROBLEMS).join('; ') + more;
}
