import { useState, type FormEvent } from "react";
import { call, client, type OnAuthLost } from "../../api/client";
import { useAction } from "../../hooks/useAction";
import { PasswordField, Problem } from "./forms";

/**
 * An account made by a provider has no password: it may set one
 * (POST /password with only `new_password`) within 5 minutes of signing in,
 * then sign in with its username and that password too.
 */
export default function SetPassword({ onChanged, onAuthLost }: { onChanged: () => Promise<unknown>; onAuthLost: OnAuthLost }) {
  const [password, setPassword] = useState("");
  const { busy, error, fields, reauth, run } = useAction({ onAuthLost });

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
      <PasswordField id="set-password" label="New password" autoComplete="new-password" value={password}
        onChange={setPassword} error={fields.new_password} errorTestid="set-password-error-field" />
      <Problem text={error} testid="set-password-error" reauth={reauth} />
      <button type="submit" data-testid="set-password-submit" disabled={busy || !password}>{busy ? "…" : "Set a password"}</button>
    </form>
  );
}
