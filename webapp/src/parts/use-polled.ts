import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  /** The last load's failure; `data` keeps what was loaded before it. */
  error: string | undefined;
  reload: () => void;
}

/**
 * Loads `load()` now and again every `everyMs` while the page is visible; a hidden tab asks
 * nothing, and showing it again loads at once. For what the host publishes no event about
 * (host state, heartbeats): everything else follows the websocket (live.ts). One request at a
 * time: the next waits for the previous answer.
 */
export function usePolled<T>(key: string, load: () => Promise<T>, everyMs: number): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reloadRef = useRef<() => void>(() => {});

  useEffect(() => {
    let gone = false;
    let busy = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const visible = () => document.visibilityState === 'visible';

    const tick = async () => {
      clearTimeout(timer);
      timer = undefined;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const got = await loadRef.current();
        if (gone) return;
        setData(got);
        setError(undefined);
      } catch (err) {
        if (!gone) setError((err as Error).message);
      } finally {
        busy = false;
        if (!gone && again) {
          again = false;
          void tick();
        } else if (!gone && visible()) timer = setTimeout(() => void tick(), everyMs);
      }
    };
    const onVisibility = () => {
      if (!visible()) {
        clearTimeout(timer);
        timer = undefined;
      } else if (timer === undefined && !busy) void tick();
    };
    reloadRef.current = () => void tick();
    document.addEventListener('visibilitychange', onVisibility);
    setData(undefined);
    void tick();
    return () => {
      gone = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
    // `key` names what is loaded: a new key is a new page.
  }, [key, everyMs]);

  return { data, error, reload: () => reloadRef.current() };
}
