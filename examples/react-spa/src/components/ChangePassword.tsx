import { useState, type FormEvent } from "react";
import { call, client, type OnAuthLost } from "../api/client";
import { standard, useAction } from "../hooks/useAction";
import { PasswordField, Problem } from "./security/forms";

/**
 * POST /password with the current password and a new one: every other
 * session of the account ends, this one carries on with a new token. A
 * wrong current password is said under its field; the new one's rules (a
 * 422) under the new one.
 */
export default function ChangePassword({ onDone, onAuthLost }: { onDone: () => void; onAuthLost: OnAuthLost }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const { busy, error, fields, run } = useAction({
    onAuthLost,
    // The current password is the one field a 401 can be about.
    explain: (err) => err.code === "invalid_credentials"
      ? { fields: { current_password: "That is not your current password." } }
      : standard(err),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      await call(client.POST("/password", { body: { current_password: current, new_password: next } }));
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
      <PasswordField id="password-current" label="Current password" value={current} onChange={setCurrent}
        error={fields.current_password} errorTestid="password-error-current" />
      <PasswordField id="password-new" label="New password" autoComplete="new-password" value={next} onChange={setNext}
        error={fields.new_password} errorTestid="password-error-new" />
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
