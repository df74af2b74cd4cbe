import type { GitPoller, GitRefState } from '../hub/deps.js';
import { gitClient, processEnv } from '../nodes/git-client.js';

/** `git ls-remote` for poll-git triggers. */
export const gitPoller: GitPoller = {
  async listRefs(url, patterns, gitKey): Promise<GitRefState[]> {
    const out = await gitClient(undefined, { env: processEnv(), keyFile: gitKey }).listRemote([url, ...patterns]);
    const refs: GitRefState[] = [];
    for (const line of out.split('\n')) {
      const [hash, ref] = line.trim().split(/\s+/);
      if (hash && ref && !ref.endsWith('^{}')) refs.push({ ref, hash });
    }
    return refs;
  },
};
