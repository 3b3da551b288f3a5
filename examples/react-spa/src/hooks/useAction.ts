import { useCallback, useRef, useState } from "react";
import { asApiError, type ApiError, type OnAuthLost } from "../api/client";

/** What a failure shows: one sentence for the whole form, and messages under the fields a 422 names. */
export interface Shown {
  error?: string | null;
  fields?: Record<string, string>;
}

/** The usual reading of a failure: a 422's messages under their fields, anything else the server's sentence. */
export function standard(err: ApiError): Shown {
  return err.code === "validation_failed" && Object.keys(err.fields).length ? { fields: err.fields } : { error: err.message };
}

/** Every failure as the server's sentence, for a form with no field to show a 422 under. */
export const sentence = (err: ApiError): string => err.message;

/** How a run ended: what the work answered, or the failure the form now shows. */
export type Done<T> = { ok: true; value: T } | { ok: false; err: ApiError };

export interface ActionOptions {
  /**
   * Hears the failures that are the app's to handle: a lost session, a role
   * changed meanwhile. A 401 about what was typed (a wrong password or code)
   * is the form's to say, and does not sign anyone out.
   */
  onAuthLost?: OnAuthLost;
  /** What a failure shows (a string: the sentence); `standard` unless given. */
  explain?: (err: ApiError) => Shown | string;
  /** A sentence shown before anything is tried, such as why the last sign-in did not finish. */
  initialError?: string | null;
  /**
   * A success leaves this view (a sign-in, a trip to Stripe): the form stays
   * locked until it is gone, rather than offer its button again meanwhile.
   */
  leaves?: boolean;
}

/**
 * One thing a form or a button does, such as "save" or "turn the app off".
 * `run` locks it (`busy`) while the work is on its way, clears what the last
 * attempt said, and keeps what a failure means: `error` (one sentence),
 * `fields` (a 422's messages), `failure` (the API's answer, for its code);
 * `reauth`: an account without a password signed in too long ago for this
 * change (reauth_required), so the form may offer a new sign-in. `show` says
 * something no request answered (a choice missing, a step that ended).
 */
export function useAction(options: ActionOptions = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(options.initialError ?? null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<ApiError | null>(null);
  // The latest options, so that a failure is read with the state of the last render.
  const latest = useRef(options);
  latest.current = options;

  const say = useCallback((said: Shown | string | null, err: ApiError | null) => {
    const shown: Shown = typeof said === "string" ? { error: said } : (said ?? {});
    setError(shown.error ?? null);
    setFields(shown.fields ?? {});
    setFailure(err);
  }, []);

  const show = useCallback((said: Shown | string | null) => say(said, null), [say]);
  const clear = useCallback(() => say(null, null), [say]);

  const run = useCallback(async <T>(work: () => Promise<T>): Promise<Done<T>> => {
    setBusy(true);
    clear();
    try {
      const value = await work();
      if (!latest.current.leaves) setBusy(false);
      return { ok: true, value };
    } catch (caught) {
      const err = asApiError(caught);
      const { explain = standard, onAuthLost } = latest.current;
      say(explain(err), err);
      if (err.status !== 401 || err.code === "not_logged_in") onAuthLost?.(err);
      setBusy(false);
      return { ok: false, err };
    }
  }, [clear, say]);

  return { busy, error, fields, failure, reauth: failure?.code === "reauth_required", clear, show, run };
}

export type Action = ReturnType<typeof useAction>;
