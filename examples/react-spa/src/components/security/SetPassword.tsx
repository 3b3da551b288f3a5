import { useState, type FormEvent } from "react";
import { call, client, type OnAuthLost } from "../../api/client";
import { Problem, useAction } from "./forms";

/**
 * An account made by a provider has no password: it may set one
 * (POST /password with only `new_password`) within 5 minutes of signing in,
 * then sign in with its username and that password too.
 */
export default function SetPassword({ onChanged, onAuthLost }: { onChanged: () => Promise<unknown>; onAuthLost: OnAuthLost }) {
  const [password, setPassword] = useState("");
  const { busy, error, fields, reauth, run } = useAction(onAuthLost);

  function submit(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      await call(client.POST("/password", { body: { new_password: password } }));
      setPassword("");
      await onChanged(); // has_password is now true: this card goes, the forms ask for it
    });
  }

  return (
    <form className="card" onSubmit={submit} data-testid="set-password-form" noValidate>
      <h3>Password</h3>
      <p className="hint">
        You sign in with a provider and have no password here. Set one to sign in with your username too.
      </p>
      <label htmlFor="set-password">New password</label>
      <input id="set-password" data-testid="set-password" type="password" value={password} autoComplete="new-password"
        aria-invalid={fields.new_password ? true : undefined} onChange={(e) => setPassword(e.target.value)} />
      {fields.new_password && <p className="field-error" data-testid="set-password-error-field">{fields.new_password}</p>}
      <Problem text={error} testid="set-password-error" reauth={reauth} />
      <button type="submit" data-testid="set-password-submit" disabled={busy || !password}>{busy ? "…" : "Set a password"}</button>
    </form>
  );
}
