import { useCallback, useEffect, useRef, useState, type DependencyList, type Dispatch, type SetStateAction } from "react";
import { asApiError, type ApiError, type OnAuthLost } from "../api/client";

export interface Loaded<T> {
  /** The last answer; kept while a reload is on its way, so the page does not blink. */
  data: T | null;
  /** Why the last load failed; null again as the next one starts. */
  error: ApiError | null;
  /** A load is on its way (true from the first render: the first load starts at once). */
  loading: boolean;
  /** Loads again; settles once its answer (or its error) is in the state. */
  reload: () => Promise<void>;
  /** For a change the page made itself, such as the answer to a PATCH. */
  setData: Dispatch<SetStateAction<T | null>>;
}

/**
 * Runs `load` on mount and whenever `deps` change, holding its answer or its
 * error. Only the latest load's outcome counts: an answer that arrives after
 * a newer load started (a page clicked twice quickly), or after the page was
 * left, is dropped. `onAuthLost` hears each error, as every view reports them.
 */
export function useLoad<T>(load: () => Promise<T>, deps: DependencyList, onAuthLost?: OnAuthLost): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  // The latest closures, so that reload() reads the state of the last render.
  const latest = useRef({ load, onAuthLost });
  latest.current = { load, onAuthLost };
  const ticket = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++ticket.current;
    setLoading(true);
    setError(null);
    try {
      const answer = await latest.current.load();
      if (mine === ticket.current) setData(() => answer);
    } catch (caught) {
      const err = asApiError(caught);
      if (mine !== ticket.current) return;
      setError(err);
      latest.current.onAuthLost?.(err);
    } finally {
      if (mine === ticket.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    reload();
    return () => {
      ticket.current += 1;
    };
  }, deps);

  return { data, error, loading, reload, setData };
}
