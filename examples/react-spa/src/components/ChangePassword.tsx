import { useState, type FormEvent } from "react";
import { asApiError, call, client, type OnAuthLost } from "../api/client";
import { Problem, useAction } from "./security/forms";

/**
 * POST /password with the current password and a new one: every other
 * session of the account ends, this one carries on with a new token. A
 * wrong current password is said under its field; the new one's rules (a
 * 422) under the new one.
 */
export default function ChangePassword({ onDone, onAuthLost }: { onDone: () => void; onAuthLost: OnAuthLost }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [wrong, setWrong] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const { busy, error, fields, run } = useAction(onAuthLost);

  function submit(event: FormEvent) {
    event.preventDefault();
    setWrong(null);
    return run(async () => {
      try {
        await call(client.POST("/password", { body: { current_password: current, new_password: next } }));
      } catch (caught) {
        // The current password is the one field a 401 can be about.
        if (asApiError(caught).code === "invalid_credentials") {
          setWrong("That is not your current password.");
          return;
        }
        throw caught;
      }
      setCurrent("");
      setNext("");
      setDone(true);
    });
  }

  if (done) {
    return (
      <p className="note" role="status" data-testid="password-changed">
        Your password is changed. You are signed out everywhere else.{" "}
        <button className="link" onClick={onDone}>Done</button>
      </p>
    );
  }
  return (
    <form className="stack" onSubmit={submit} data-testid="password-form" noValidate>
      <label htmlFor="password-current">Current password</label>
      <input id="password-current" data-testid="password-current" type="password" value={current}
        autoComplete="current-password" aria-invalid={wrong ? true : undefined} onChange={(e) => setCurrent(e.target.value)} />
      {wrong && <p className="field-error" data-testid="password-error-current">{wrong}</p>}
      <label htmlFor="password-new">New password</label>
      <input id="password-new" data-testid="password-new" type="password" value={next} autoComplete="new-password"
        aria-invalid={fields.new_password ? true : undefined} onChange={(e) => setNext(e.target.value)} />
      {fields.new_password && <p className="field-error" data-testid="password-error-new">{fields.new_password}</p>}
      <Problem text={error} testid="password-error" />
      <div className="actions">
        <button type="submit" className="primary" data-testid="password-submit" disabled={busy || !current || !next}>
          {busy ? "…" : "Change password"}
        </button>
        <button type="button" className="link" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}
