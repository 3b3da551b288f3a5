import type { FormEvent, ReactNode } from "react";
import type { Action } from "../../hooks/useAction";
import { SignInAgain } from "../Providers";

/** Where a sign-in with a provider started on this page comes back to (App's landing). */
export const THIS_PAGE = "/account/security";

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

/**
 * A password field: by default "Your password", for the changes that ask
 * for it; with `autoComplete="new-password"`, one being chosen. `error` is
 * its 422 message (or what else is wrong with it).
 */
export function PasswordField({ id, label = "Your password", autoComplete = "current-password", value, onChange, error,
  errorTestid = `${id}-error` }: {
  /** Also the input's data-testid. */
  id: string;
  label?: string;
  autoComplete?: "current-password" | "new-password";
  value: string;
  onChange: (value: string) => void;
  error?: string;
  errorTestid?: string;
}) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input id={id} data-testid={id} type="password" value={value} autoComplete={autoComplete}
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
