/** Fires every `period` seconds while the host runs. */
export class TimerTrigger {
    ctx;
    constructor(ctx) {
        this.ctx = ctx;
    }
    start(signal) {
        const periodMs = (this.ctx.trigger.periodSec ?? 60) * 1000;
        const loop = async () => {
            for (;;) {
                await this.ctx.clock.after(periodMs, signal);
                await this.ctx.fire({ period: String(this.ctx.trigger.periodSec ?? 60) });
            }
        };
        loop().catch(() => { }); // ends when the host stops (AbortError)
    }
}
/**
 * Polls a git repository every `period` seconds and fires once per ref whose hash changed
 * since the last poll. The first poll of a trigger only records what is there, so starting a
 * host does not fire a run for every branch. Seen hashes are kept in the store, so a restart
 * neither misses nor repeats a change.
 */
export class GitPollTrigger {
    ctx;
    poller;
    gitKey;
    constructor(ctx, poller, gitKey) {
        this.ctx = ctx;
        this.poller = poller;
        this.gitKey = gitKey;
    }
    get metaKey() {
        return `poll-git/${this.ctx.flow.id}/${this.ctx.flow.ver}/${this.ctx.trigger.id}`;
    }
    start(signal) {
        const periodMs = (this.ctx.trigger.periodSec ?? 60) * 1000;
        const loop = async () => {
            for (;;) {
                await this.pollOnce().catch((err) => this.ctx.log?.warn({ err, flow: this.ctx.flow.id, trigger: this.ctx.trigger.id }, 'poll-git failed'));
                await this.ctx.clock.after(periodMs, signal);
            }
        };
        loop().catch(() => { });
    }
    async pollOnce() {
        const opts = this.ctx.trigger.opts;
        const url = String(opts.url);
        const include = toList(opts.refs, ['refs/heads/*']);
        const exclude = toList(opts['exclude-refs'], []).map(globToRegExp);
        const refs = (await this.poller.listRefs(url, include, this.gitKey)).filter((r) => include.map(globToRegExp).some((re) => re.test(r.ref)) && !exclude.some((re) => re.test(r.ref)));
        const raw = await this.ctx.store.getMeta(this.metaKey);
        const seen = raw ? JSON.parse(raw) : undefined;
        const now = {};
        for (const r of refs)
            now[r.ref] = r.hash;
        if (seen) {
            for (const r of refs)
                if (seen[r.ref] !== r.hash)
                    await this.ctx.fire(valuesOf(r));
        }
        await this.ctx.store.putMeta(this.metaKey, JSON.stringify(now));
    }
}
function valuesOf(r) {
    const short = r.ref.replace(/^refs\/(heads|tags)\//, '');
    return { ref: short, branch: short, hash: r.hash, 'git-ref': r.ref };
}
function toList(v, dflt) {
    if (typeof v === 'string')
        return [v];
    if (Array.isArray(v))
        return v.filter((x) => typeof x === 'string');
    return dflt;
}
/** `refs/heads/*` style globs: `*` matches within one path segment, `**` across segments. */
export function globToRegExp(glob) {
    let re = '';
    for (let i = 0; i < glob.length; i++) {
        const c = glob[i];
        if (c === '*' && glob[i + 1] === '*') {
            re += '.*';
            i++;
        }
        else if (c === '*')
            re += '[^/]*';
        else if (c === '?')
            re += '[^/]';
        else
            re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
}
//# sourceMappingURL=trigger-sources.js.map