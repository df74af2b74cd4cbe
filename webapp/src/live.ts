import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { API_BASE } from './api.js';
import type { PublishedEvent } from './api-types.js';
import { loadSession } from './session.js';

/** What the page says of its link to the host: live, or trying again after a drop. */
export type LinkState = 'connecting' | 'live' | 'reconnecting';

export const linkState = signal<LinkState>('connecting');
/** When (epoch ms) the next attempt is made while reconnecting, for the banner's countdown. */
export const retryAt = signal<number>(0);

export interface Follow {
  flow?: string;
  run?: string;
}

type Listener = (e: PublishedEvent) => void;

/** First retry after a drop, doubling to MAX_BACKOFF_MS: a restarting host is not hammered. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

type ServerFrame =
  | { type: 'hello'; lastSeq: number }
  | { type: 'event'; event: PublishedEvent }
  | { type: 'subscribed'; lastSeq: number }
  | { type: 'resync'; lastSeq: number }
  | { type: 'error'; message: string };

/**
 * The page's one websocket to its host. It keeps the seq of the last event heard, and after a
 * drop it reconnects with backoff and subscribes from that seq, so the host replays what was
 * missed (docs/api.md, "Following runs without missing events"). When the host cannot (it
 * restarted, or too much happened), listeners are told to reload what they show over HTTP.
 */
class LiveLink {
  private ws: WebSocket | undefined;
  private lastSeq: number | undefined;
  private follow: Follow = {};
  private listeners = new Set<Listener>();
  private reloaders = new Set<() => void>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /** Which events to hear: one run, one flow, or all. Resubscribes from the last seq heard. */
  setFollow(f: Follow): void {
    if (f.flow === this.follow.flow && f.run === this.follow.run) return;
    this.follow = f;
    this.subscribe();
  }

  on(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called when events were missed for good: reload over HTTP. */
  onReload(fn: () => void): () => void {
    this.reloaders.add(fn);
    return () => this.reloaders.delete(fn);
  }

  private connect(): void {
    clearTimeout(this.timer);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The session cookie authenticates the upgrade (same origin).
    const ws = new WebSocket(`${proto}//${location.host}${API_BASE}/ws`, ['floe']);
    this.ws = ws;
    ws.onmessage = (m) => this.frame(m.data);
    ws.onclose = (c) => this.closed(ws, c.code);
  }

  private frame(data: unknown): void {
    if (typeof data !== 'string') return;
    let f: ServerFrame;
    try {
      f = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    switch (f.type) {
      case 'hello': {
        this.attempt = 0;
        linkState.value = 'live';
        const first = this.lastSeq === undefined;
        if (first) this.lastSeq = f.lastSeq;
        this.subscribe();
        // The page's first loads may have been read before this hello: what was published
        // between one and the other is in neither, so what the page shows is read again.
        if (first) for (const fn of this.reloaders) fn();
        break;
      }
      case 'event':
        if (this.lastSeq !== undefined && f.event.seq <= this.lastSeq) return;
        this.lastSeq = f.event.seq;
        for (const fn of this.listeners) fn(f.event);
        break;
      case 'resync':
        this.lastSeq = f.lastSeq;
        for (const fn of this.reloaders) fn();
        this.subscribe();
        break;
      default:
        break;
    }
  }

  private subscribe(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.lastSeq === undefined) return;
    ws.send(JSON.stringify({ type: 'subscribe', ...this.follow, since: this.lastSeq }));
  }

  private closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    linkState.value = 'reconnecting';
    if (code === 1008) {
      // The session ended: asking who we are sends the page to login if so.
      void loadSession().catch(() => {});
    }
    const wait = code === 4008 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt++;
    retryAt.value = Date.now() + wait;
    this.timer = setTimeout(() => this.connect(), wait);
  }
}

export const live = new LiveLink();

export interface LiveData<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** What an event does to what a page shows: a new state, or `reload` to fetch it again. */
export type Apply<T> = (state: T, e: PublishedEvent) => T | 'reload';

/** Debounce for reloads asked by events: a burst of ends is one fetch. */
const RELOAD_DELAY_MS = 250;

/**
 * Loads `load()` over HTTP and keeps it live: events are applied as they come; events heard
 * while a load is under way are kept and applied to its result, so nothing between the
 * snapshot and the live stream is lost (applying an event twice must do no harm).
 */
export function useLive<T>(key: string, follow: Follow, load: () => Promise<T>, apply: Apply<T>): LiveData<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reloadRef = useRef<() => void>(() => {});
  const applyRef = useRef(apply);
  applyRef.current = apply;

  useEffect(() => {
    let current: T | undefined;
    let loading = false;
    let again = false;
    let buffer: PublishedEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gone = false;

    const run = (e: PublishedEvent) => {
      if (current === undefined) return;
      const next = applyRef.current(current, e);
      if (next === 'reload') schedule();
      else if (next !== current) {
        current = next;
        setData(next);
      }
    };
    const fetchNow = async () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      buffer = [];
      try {
        const got = await load();
        if (gone) return;
        current = got;
        setError(undefined);
        const kept = buffer;
        buffer = [];
        loading = false;
        setData(got);
        for (const e of kept) run(e);
      } catch (err) {
        if (gone) return;
        setError((err as Error).message);
      } finally {
        loading = false;
        if (again && !gone) {
          again = false;
          void fetchNow();
        }
      }
    };
    const schedule = () => {
      // The first event sets the time: a steady stream of them (the dashboard's node ends)
      // must not put the reload off for as long as it lasts.
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void fetchNow();
      }, RELOAD_DELAY_MS);
    };
    reloadRef.current = () => void fetchNow();
    const offEvent = live.on((e) => (loading ? buffer.push(e) : run(e)));
    const offReload = live.onReload(schedule);
    live.setFollow(follow);
    setData(undefined);
    void fetchNow();
    return () => {
      gone = true;
      clearTimeout(timer);
      offEvent();
      offReload();
    };
    // `key` names what is loaded: a new key is a new page.
  }, [key]);

  return { data, error, reload: () => reloadRef.current() };
}
