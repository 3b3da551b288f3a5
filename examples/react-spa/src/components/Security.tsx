import { useState } from "react";
import { call, client, type OnAuthLost } from "../api/client";
import { useLoad } from "../hooks/useLoad";
import Authenticator from "./security/Authenticator";
import Passkeys from "./security/Passkeys";
import SetPassword from "./security/SetPassword";
import SignInProviders from "./security/SignInProviders";

// Account security: the account's second factors (the authenticator app
// with its recovery codes, and passkeys), the providers it signs in with,
// and, for an account made by a provider, its first password. Such an
// account has no password to type: its forms leave the field out. The
// account (GET /account) is loaded again after each change, for the status
// the cards show.
export default function Security({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const { data: account, error, reload } = useLoad(() => call(client.GET("/account")), [], onAuthLost);
  const [passwordSet, setPasswordSet] = useState(false);

  if (!account) {
    return error ? <p className="error" data-testid="security-error">{error.message}</p> : <p>Loading your sign-in settings…</p>;
  }
  const hasPassword = account.has_password;
  return (
    <section className="security" data-testid="security">
      <h2>Account security</h2>
      <p className="hint">
        After your password, sign-in can ask for a code from an authenticator app. Passkeys sign you in
        on their own, without the password.
      </p>
      {passwordSet && (
        <p className="note" role="status" data-testid="password-set">
          Your password is set: you can now sign in with your username and password too.
        </p>
      )}
      <div className="security-grid">
        <Authenticator status={account.two_factor} hasPassword={hasPassword} onChanged={reload} onAuthLost={onAuthLost} />
        <Passkeys hasPassword={hasPassword} onChanged={reload} onAuthLost={onAuthLost} />
        <SignInProviders hasPassword={hasPassword} onAuthLost={onAuthLost} />
        {!hasPassword && <SetPassword onChanged={() => reload().then(() => setPasswordSet(true))} onAuthLost={onAuthLost} />}
      </div>
    </section>
  );
}
