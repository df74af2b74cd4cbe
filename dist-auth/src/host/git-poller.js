import { gitClient, processEnv } from '../nodes/git-client.js';
/** `git ls-remote` for poll-git triggers. */
export const gitPoller = {
    async listRefs(url, patterns, gitKey) {
        const out = await gitClient(undefined, { env: processEnv(), keyFile: gitKey }).listRemote([url, ...patterns]);
        const refs = [];
        for (const line of out.split('\n')) {
            const [hash, ref] = line.trim().split(/\s+/);
            if (hash && ref && !ref.endsWith('^{}'))
                refs.push({ ref, hash });
        }
        return refs;
    },
};
//# sourceMappingURL=git-poller.js.map