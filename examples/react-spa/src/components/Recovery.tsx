import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { asApiError, call, client, type ApiError } from "../api/client";
import { useAction } from "../hooks/useAction";
import { PasswordField } from "./security/forms";

// The pages an emailed link opens, and the "forgot password" form:
// POST /password/forgot, POST /password/reset, POST /email/verify.

/** The `token` query value of the link that opened this page. */
export function linkToken(): string {
  return new URLSearchParams(window.location.search).get("token") ?? "";
}

/** Back to the app's start page, leaving the link's URL (and token) behind. */
function Home({ children = "Continue" }: { children?: ReactNode }) {
  return <a href="/" data-testid="recovery-home">{children}</a>;
}

// A link works once. React's StrictMode runs effects twice in development;
// this keeps it to one request per token.
const verifying = new Map<string, Promise<unknown>>();

/** `/verify-email?token=…`: spends the token as soon as the page opens. */
export function VerifyEmail() {
  const [state, setState] = useState<{ status: "working" | "verified" } | { status: "failed"; message: string }>({
    status: "working",
  });
  useEffect(() => {
    const token = linkToken();
    let pending = verifying.get(token);
    if (!pending) {
      pending = call(client.POST("/email/verify", { body: { token } }));
      verifying.set(token, pending);
    }
    pending
      .then(() => setState({ status: "verified" }))
      .catch((caught: unknown) => setState({ status: "failed", message: asApiError(caught).message }));
  }, []);
  return (
    <section className="card narrow" data-testid="verify-page">
      <h2>Confirm your email address</h2>
      {state.status === "working" && <p>Checking your link…</p>}
      {state.status === "verified" && (
        <p data-testid="verify-done">Your email address is verified. Thank you!</p>
      )}
      {state.status === "failed" && <p className="error" data-testid="verify-error">{state.message}</p>}
      <Home />
    </section>
  );
}

/**
 * A failure of a form whose one field is an email address, as a sentence:
 * the address's 422 message ("The address is not a valid email address."),
 * or the server's sentence.
 */
export function addressProblem(err: ApiError): string {
  return err.fields.email ? `The address ${err.fields.email}.` : err.message;
}

/** "Forgot your password?": the answer is the same whether or not the address has an account. */
export function ForgotPassword({ onCancel }: { onCancel: () => void }) {
  const [email, setEmail] = useState("");
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction({ explain: addressProblem });

  function submit(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      await call(client.POST("/password/forgot", { body: { email } }));
      setDone(true);
    });
  }

  return (
    <form className="card" onSubmit={submit} data-testid="forgot-form" noValidate>
      <h2>Forgot your password?</h2>
      {done ? (
        <p data-testid="forgot-done">
          If an account uses {email}, we have sent it a link to choose a new password. It works once, for an hour.
        </p>
      ) : (
        <>
          <label htmlFor="forgot-email">Your email address</label>
          <input id="forgot-email" data-testid="forgot-email" type="email" value={email} autoComplete="email"
            onChange={(e) => setEmail(e.target.value)} />
          {error && <p className="error" data-testid="forgot-error">{error}</p>}
          <button type="submit" data-testid="forgot-submit" disabled={busy}>{busy ? "…" : "Send me a link"}</button>
        </>
      )}
      <button type="button" className="link" data-testid="forgot-cancel" onClick={onCancel}>Back to log in</button>
    </form>
  );
}

/** `/reset-password?token=…`: choose a new password. */
export function ResetPassword() {
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  // The new password's rules under its field; anything else (a spent link) as a sentence.
  const { busy, error, fields, run } = useAction({
    explain: (err) => (err.fields.new_password ? { fields: { new_password: err.fields.new_password } } : err.message),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      await call(client.POST("/password/reset", { body: { token: linkToken(), new_password: password } }));
      setDone(true);
    });
  }

  if (done) {
    return (
      <section className="card narrow" data-testid="reset-page">
        <h2>Password changed</h2>
        <p data-testid="reset-done">Your password is changed, and every session of your account has ended.</p>
        <Home>Log in with your new password</Home>
      </section>
    );
  }
  return (
    <form className="card narrow" onSubmit={submit} data-testid="reset-page" noValidate>
      <h2>Choose a new password</h2>
      <PasswordField id="reset-password" label="New password" autoComplete="new-password" value={password}
        onChange={setPassword} error={fields.new_password} errorTestid="reset-error-password" />
      {error && <p className="error" data-testid="reset-error">{error}</p>}
      <button type="submit" data-testid="reset-submit" disabled={busy}>{busy ? "…" : "Set the new password"}</button>
      <Home>Cancel</Home>
    </form>
  );
}
