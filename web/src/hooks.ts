// Small hooks: hash routing, polling that pauses in hidden tabs and refreshes early on fleet
// events, a ticking clock for ages, and debouncing.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { serverNow } from './api';
import { subscribeChanges } from './events';

export interface Route {
  path: string; // "/fleet"
  params: URLSearchParams;
}

function parseHash(): Route {
  const raw = location.hash.replace(/^#/, '') || '/fleet';
  const [path, query] = raw.split('?', 2);
  return { path: path || '/fleet', params: new URLSearchParams(query ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function navigate(path: string, params?: Record<string, string>): void {
  const query = params ? new URLSearchParams(params).toString() : '';
  location.hash = query ? `${path}?${query}` : path;
}

export interface Poll<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

export interface PollOptions {
  // Refresh soon after a fleet event whose kind starts with one of these ("vm.", "host.").
  on?: string[];
  enabled?: boolean;
}

// Calls load() now and every intervalMs after the previous call finished; never two at once.
export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  deps: unknown[] = [],
  options: PollOptions = {},
): Poll<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const kick = useRef<() => void>(() => {});
  const enabled = options.enabled ?? true;

  useEffect(() => {
    if (!enabled) {
      setLoading(false);
      return undefined;
    }
    let stopped = false;
    let timer: number | undefined;
    let running = false;
    let again = false;
    let controller: AbortController | undefined;
    setData(undefined);
    setError(undefined);
    setLoading(true);

    const run = async () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      if (document.hidden) {
        timer = window.setTimeout(run, intervalMs);
        return;
      }
      running = true;
      controller = new AbortController();
      try {
        const value = await load(controller.signal);
        if (!stopped) {
          setData(value);
          setError(undefined);
        }
      } catch (e) {
        if (!stopped && !(e instanceof DOMException && e.name === 'AbortError')) setError(e);
      } finally {
        running = false;
        if (!stopped) {
          setLoading(false);
          timer = window.setTimeout(run, again ? 0 : intervalMs);
          again = false;
        }
      }
    };
    kick.current = () => void run();
    const onVisible = () => {
      if (!document.hidden) void run();
    };
    document.addEventListener('visibilitychange', onVisible);
    let debounce: number | undefined;
    const unsubscribe = options.on
      ? subscribeChanges(options.on, () => {
          clearTimeout(debounce);
          debounce = window.setTimeout(() => void run(), 250);
        })
      : () => {};
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(debounce);
      controller?.abort();
      unsubscribe();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, intervalMs, enabled]); // load is a new closure each render: deps say when it changes

  const refresh = useCallback(() => kick.current(), []);
  return { data, error, loading, refresh };
}

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(serverNow());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(serverNow()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export interface Action {
  busy: boolean;
  error: unknown;
  setError: (e: unknown) => void;
  // Runs `fn` with busy set and the previous error cleared; an exception becomes `error`.
  run: (fn: () => Promise<void>) => Promise<void>;
}

// The state of a button's action (create, migrate, evacuate, plan): busy while it runs, the
// API's error when it fails.
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
