import { useState, type FormEvent } from "react";
import { call, client, needsSecondStep, type Schemas, type TwoFactorRequired, type User } from "../api/client";
import { useAction } from "../hooks/useAction";
import { passkeysSupported } from "../webauthn";
import SecondStep, { lockoutProblem, signInWithPasskey } from "./SecondStep";
import { goToProvider, providerLabel, thisPage, useProviders } from "./Providers";
import { Problem } from "./security/forms";

type Kind = "login" | "register";

const TEXT: Record<Kind, { title: string; submit: string; password: string }> = {
  login: { title: "Log in", submit: "Log in", password: "current-password" },
  register: { title: "Create an account", submit: "Register", password: "new-password" },
};

// The login and the register form: same fields, different route. The login
// form also offers "Continue with …" for each provider the server has.
// `kind` also prefixes every data-testid ("login-username", "register-error-password", …).
export default function AuthForm({ kind, onSuccess, onForgot, onEmail, problem = null, onSecondStep }: {
  kind: Kind;
  onSuccess: (user: User) => void;
  onForgot?: () => void;
  /** Offers "Email me a sign-in link" (login only). */
  onEmail?: () => void;
  /** A sentence to show at first: why the last sign-in (at a provider) did not finish. */
  problem?: string | null;
  /** Told when the form turns into the second step, and back. */
  onSecondStep?: (pending: boolean) => void;
}) {
  const t = TEXT[kind];
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState(""); // register only; optional
  const [stay, setStay] = useState(false);
  const [newsletter, setNewsletter] = useState(false); // register only; off unless asked for
  // One sentence for the whole form, or a 422's messages under their fields.
  const { busy, error, fields, show, run } = useAction({
    initialError: problem,
    explain: (err) => {
      if (err.code === "validation_failed") return { fields: err.fields };
      if (err.code === "username_taken") return { fields: { username: err.message } };
      return lockoutProblem(err);
    },
  });
  // Login only: the password was right and the account asks for a second step.
  const [pending, setPending] = useState<TwoFactorRequired | null>(null);
  const providers = useProviders(kind === "login");

  function submit(event: FormEvent) {
    event.preventDefault();
    const login: Schemas["LoginRequest"] = { username, password, stay_signed_in: stay };
    return run(async () => {
      const answer =
        kind === "login"
          ? await call(client.POST("/login", { body: login }))
          : await call(client.POST("/register", {
            body: { ...login, newsletter, ...(email.trim() ? { email: email.trim() } : {}) },
          }));
      if (needsSecondStep(answer)) {
        // 202: the account has an authenticator app on; the session cookie
        // now holds a pending sign-in that only the second step accepts.
        setPending(answer);
        onSecondStep?.(true);
        setPassword("");
        return;
      }
      onSuccess(answer);
    });
  }

  // A passkey alone: no username, no password (the browser offers the
  // passkeys it holds for this site).
  const passkey = () => run(async () => onSuccess(await signInWithPasskey(stay)));

  if (pending) {
    return (
      <SecondStep methods={pending.methods} onSuccess={onSuccess} onRestart={(reason) => {
        setPending(null);
        onSecondStep?.(false);
        show(reason);
      }} />
    );
  }

  const id = (name: string) => `${kind}-${name}`;
  return (
    <form className="card" onSubmit={submit} data-testid={id("form")} noValidate>
      <h2>{t.title}</h2>
      <label htmlFor={id("username")}>Username</label>
      <input id={id("username")} data-testid={id("username")} value={username} autoComplete="username"
        aria-invalid={fields.username ? true : undefined} onChange={(e) => setUsername(e.target.value)} />
      {fields.username && <p className="field-error" data-testid={id("error-username")}>{fields.username}</p>}

      <label htmlFor={id("password")}>Password</label>
      <input id={id("password")} data-testid={id("password")} type="password" value={password}
        autoComplete={t.password} aria-invalid={fields.password ? true : undefined}
        onChange={(e) => setPassword(e.target.value)} />
      {fields.password && <p className="field-error" data-testid={id("error-password")}>{fields.password}</p>}

      {kind === "register" && (
        <>
          <label htmlFor={id("email")}>Email address (optional, to get back in if you forget the password)</label>
          <input id={id("email")} data-testid={id("email")} type="email" value={email} autoComplete="email"
            aria-invalid={fields.email ? true : undefined} onChange={(e) => setEmail(e.target.value)} />
          {fields.email && <p className="field-error" data-testid={id("error-email")}>{fields.email}</p>}
          <label className="check">
            <input type="checkbox" data-testid={id("newsletter")} checked={newsletter}
              onChange={(e) => setNewsletter(e.target.checked)} />
            Email me new posts (once the address is verified)
          </label>
        </>
      )}

      <label className="check">
        <input type="checkbox" data-testid={id("stay")} checked={stay} onChange={(e) => setStay(e.target.checked)} />
        Stay signed in
      </label>

      <Problem text={error} testid={id("error")} />
      <button type="submit" data-testid={id("submit")} disabled={busy}>{busy ? "…" : t.submit}</button>
      {kind === "login" && passkeysSupported() && (
        <button type="button" data-testid="login-passkey" disabled={busy} onClick={passkey}>
          Sign in with a passkey
        </button>
      )}
      {kind === "login" && providers.map(({ name }) => (
        // A navigation to the provider and back to this page; "Stay signed in" holds for it too.
        <button type="button" key={name} data-testid={`login-provider-${name}`} disabled={busy}
          onClick={() => goToProvider(name, thisPage(), stay)}>
          Continue with {providerLabel(name)}
        </button>
      ))}
      {kind === "login" && onEmail && (
        <button type="button" data-testid="login-email-link" disabled={busy} onClick={onEmail}>
          Email me a sign-in link
        </button>
      )}
      {kind === "login" && onForgot && (
        <button type="button" className="link" data-testid="forgot-link" onClick={onForgot}>
          Forgot your password?
        </button>
      )}
    </form>
  );
}
