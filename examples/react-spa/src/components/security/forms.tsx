import { useCallback, useState, type FormEvent, type ReactNode } from "react";
import { asApiError, type OnAuthLost } from "../../api/client";
import { SignInAgain } from "../Providers";

/** Where a sign-in with a provider started on this page comes back to (App's landing). */
export const THIS_PAGE = "/account/security";

/**
 * One thing a form here does, such as "turn the app off". `run` locks the
 * form (`busy`) and keeps what a failure means: a 422's field messages, or
 * one sentence. A wrong password is a 401 too (invalid_credentials); only a
 * lost session (not_logged_in) goes back to the login form. `reauth`: an
 * account without a password signed in too long ago for this change
 * (reauth_required), so the form offers to sign in again with its provider.
 */
export function useAction(onAuthLost: OnAuthLost) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [reauth, setReauth] = useState(false);

  const clear = useCallback(() => {
    setError(null);
    setFields({});
    setReauth(false);
  }, []);

  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    clear();
    try {
      await action();
    } catch (caught) {
      const err = asApiError(caught);
      if (err.code === "validation_failed" && Object.keys(err.fields).length) setFields(err.fields);
      else setError(err.message);
      setReauth(err.code === "reauth_required");
      if (err.code === "not_logged_in") onAuthLost(err);
    }
    setBusy(false);
  }, [clear, onAuthLost]);

  return { busy, error, fields, reauth, clear, run };
}

export type Action = ReturnType<typeof useAction>;

/**
 * An error sentence, announced to screen readers as it appears; after
 * reauth_required, the buttons to sign in again with a provider.
 */
export function Problem({ text, testid, reauth = false }: { text: string | null; testid: string; reauth?: boolean }) {
  return (
    <>
      <p className="error" role="alert" data-testid={testid} hidden={!text}>{text}</p>
      {reauth && <SignInAgain returnTo={THIS_PAGE} />}
    </>
  );
}

/** "Your password", for the changes that ask for it; `error` is its 422 message. */
export function PasswordField({ id, value, onChange, error, errorTestid = `${id}-error` }: {
  /** Also the input's data-testid. */
  id: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  errorTestid?: string;
}) {
  return (
    <>
      <label htmlFor={id}>Your password</label>
      <input id={id} data-testid={id} type="password" value={value} autoComplete="current-password"
        aria-invalid={error ? true : undefined} onChange={(e) => onChange(e.target.value)} />
      {error && <p className="field-error" data-testid={errorTestid}>{error}</p>}
    </>
  );
}

/**
 * A form that opens for one change and closes with Cancel: its fields, the
 * error, then its button. `name` prefixes the data-testids (`<name>-form`,
 * `<name>-error`, `<name>-submit`).
 */
export function ChangeForm({ name, action, onSubmit, submit, onCancel, destructive = false, offerReauth = true,
  submitTestid = `${name}-submit`, children }: {
  name: string;
  action: Action;
  /** What the button does; `action` runs it. */
  onSubmit: () => Promise<void>;
  /** The button's words. */
  submit: string;
  onCancel: () => void;
  destructive?: boolean;
  /** Whether a reauth_required offers a new sign-in here. */
  offerReauth?: boolean;
  submitTestid?: string;
  children: ReactNode;
}) {
  function submitted(event: FormEvent) {
    event.preventDefault();
    return action.run(onSubmit);
  }
  return (
    <form className="stack" onSubmit={submitted} data-testid={`${name}-form`} noValidate>
      {children}
      <Problem text={action.error} testid={`${name}-error`} reauth={offerReauth && action.reauth} />
      <div className="actions">
        <button type="submit" className={destructive ? "destructive" : undefined} data-testid={submitTestid}
          disabled={action.busy}>{action.busy ? "…" : submit}</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
