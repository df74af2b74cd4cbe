import type { FlowConfig, TriggerConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../model/clock.js';
import type { GitPoller, GitRefState, HubLog } from './deps.js';
import type { Values } from '../model/values.js';
import { nextTimerFire, pollSeenKey } from './trigger-state.js';

/** A timer instant reached later than this is not fired (see TimerTrigger). */
const LATE_FIRE_MS = 1_000;

export interface TriggerSourceContext {
  flow: FlowConfig;
  trigger: TriggerConfig;
  clock: Clock;
  store: Store;
  log?: HubLog;
  /** Adopt a run of the flow with these values. */
  fire(values: Values): Promise<unknown>;
  /** Whether this host fires this trigger now: one online host of the cluster does. */
  isOwner(): boolean;
  /** Pass a poll's record of seen refs, polled at `at`, to the other hosts, which may own the trigger next. */
  shareSeen?(key: string, seen: Record<string, string>, at: number): void;
  /** A poll of the trigger stored under `key` got the remote's refs at `at`. */
  polled?(key: string, at: number): void;
}

/** Something that fires a flow's trigger by itself (timers, pollers). */
export interface TriggerSource {
  start(signal: AbortSignal): void;
}

/**
 * Fires at every multiple of `period` seconds of the clock (since the epoch), on the one host
 * that owns the trigger at that instant. Every host computes the same instants, so when the
 * owner is lost the next owner fires the next instant, never one already fired.
 */
export class TimerTrigger implements TriggerSource {
  constructor(private readonly ctx: TriggerSourceContext) {}

  start(signal: AbortSignal): void {
    const loop = async () => {
      for (;;) {
        const now = this.ctx.clock.now();
        const instant = nextTimerFire(this.ctx.trigger.periodSec ?? 60, now);
        await this.ctx.clock.after(instant - now, signal);
        // Woken late (the host was paused, or its loop busy): a peer may have taken the instant
        // over meanwhile, so it is skipped. A peer takes over only after 2 s of silence.
        if (this.ctx.clock.now() - instant > LATE_FIRE_MS) continue;
        if (!this.ctx.isOwner()) continue;
        await this.ctx.fire({ period: String(this.ctx.trigger.periodSec ?? 60) }).catch((err: unknown) => {
          if (!signal.aborted) this.ctx.log?.error({ err, flow: this.ctx.flow.id, trigger: this.ctx.trigger.id }, 'timer trigger failed');
        });
      }
    };
    loop().catch(() => {}); // ends when the host stops (AbortError)
  }
}

/**
 * Polls a git repository every `period` seconds and fires once per ref whose hash changed
 * since the last poll. The first poll of a trigger only records what is there, so starting a
 * host does not fire a run for every branch. A ref is recorded as seen in the store only after
 * its run was adopted, so a failed adoption is retried on the next poll and a restart misses
 * nothing (a crash between adoption and the record fires that change again: at least once).
 */
export class GitPollTrigger implements TriggerSource {
  constructor(
    private readonly ctx: TriggerSourceContext,
    private readonly poller: GitPoller,
    private readonly gitKey?: string,
  ) {}

  private get metaKey(): string {
    return pollSeenKey(this.ctx.flow, this.ctx.trigger);
  }

  start(signal: AbortSignal): void {
    const periodMs = (this.ctx.trigger.periodSec ?? 60) * 1000;
    const loop = async () => {
      for (;;) {
        if (this.ctx.isOwner())
          await this.pollOnce().catch((err: unknown) =>
            this.ctx.log?.warn({ err, flow: this.ctx.flow.id, trigger: this.ctx.trigger.id }, 'poll-git failed'),
          );
        await this.ctx.clock.after(periodMs, signal);
      }
    };
    loop().catch(() => {});
  }

  async pollOnce(): Promise<void> {
    const opts = this.ctx.trigger.opts;
    const url = String(opts.url);
    const include = toList(opts.refs, ['refs/heads/*']);
    const exclude = toList(opts['exclude-refs'], []).map(globToRegExp);
    const refs = (await this.poller.listRefs(url, include, this.gitKey)).filter(
      (r) => include.map(globToRegExp).some((re) => re.test(r.ref)) && !exclude.some((re) => re.test(r.ref)),
    );
    const at = this.ctx.clock.now();
    try {
      await this.record(refs, at);
    } finally {
      // Told once what it saw is stored, so a view never pairs this poll's time with the last poll's refs.
      this.ctx.polled?.(this.metaKey, at);
    }
  }

  /** Fires each ref that changed and stores it as seen, or (the first poll) stores what is there. */
  private async record(refs: GitRefState[], at: number): Promise<void> {
    const raw = await this.ctx.store.getMeta(this.metaKey);
    if (!raw) {
      const baseline: Record<string, string> = {};
      for (const r of refs) baseline[r.ref] = r.hash;
      await this.ctx.store.putMeta(this.metaKey, JSON.stringify(baseline));
      this.ctx.shareSeen?.(this.metaKey, baseline, at);
      return;
    }
    const seen = JSON.parse(raw) as Record<string, string>;
    for (const ref of Object.keys(seen)) if (!refs.some((r) => r.ref === ref)) delete seen[ref];
    for (const r of refs) {
      if (seen[r.ref] === r.hash) continue;
      await this.ctx.fire(valuesOf(r)); // throws when adoption fails: this ref stays unseen
      seen[r.ref] = r.hash;
      await this.ctx.store.putMeta(this.metaKey, JSON.stringify(seen));
      this.ctx.shareSeen?.(this.metaKey, { ...seen }, at);
    }
  }
}

function valuesOf(r: GitRefState): Values {
  const short = r.ref.replace(/^refs\/(heads|tags)\//, '');
  return { ref: short, branch: short, hash: r.hash, 'git-ref': r.ref };
}

function toList(v: unknown, dflt: string[]): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return dflt;
}

/** `refs/heads/*` style globs: `*` matches within one path segment, `**` across segments. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
