import { Fragment, useState, type FormEvent } from "react";
import { call, client, needsSecondStep, type TwoFactorRequired, type User } from "../api/client";
import { sentence, useAction } from "../hooks/useAction";
import SecondStep from "./SecondStep";
import { addressProblem, linkToken } from "./Recovery";

// Sign-in by email, for readers without a password: POST /login/email sends
// a link and a 6-digit code; the code is typed here, the link opens
// EmailLinkPage (in this browser or any other). An address no account holds
// gets an account made for it the same way.

/** "Email me a sign-in link": the address, then the code from the message. */
export function EmailSignInForm({ onSuccess, onCancel }: {
  onSuccess: (user: User) => void;
  onCancel: () => void;
}) {
  const [email, setEmail] = useState("");
  const [stay, setStay] = useState(false);
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState("");
  const [pending, setPending] = useState<TwoFactorRequired | null>(null);
  // A refused address is said as a sentence, as on the other forms that ask for one.
  const { busy, error, clear, show, run } = useAction({ explain: addressProblem });

  function ask(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      // The same answer whoever holds the address: nothing here says
      // whether an account exists.
      await call(client.POST("/login/email", { body: { email: email.trim(), stay_signed_in: stay } }));
      setSent(true);
    });
  }

  function verify(event: FormEvent) {
    event.preventDefault();
    return run(async () => {
      const answer = await call(client.POST("/login/email/verify", { body: { email: email.trim(), code } }));
      if (needsSecondStep(answer)) setPending(answer);
      else onSuccess(answer);
    });
  }

  if (pending) {
    return (
      <SecondStep methods={pending.methods} intro="Your email address is confirmed." onSuccess={onSuccess}
        onRestart={(reason) => {
          setPending(null);
          setSent(false);
          show(reason);
        }} />
    );
  }

  const problem = error && <p className="error" role="alert" data-testid="email-error">{error}</p>;

  return (
    <form className="card" onSubmit={sent ? verify : ask} data-testid="email-sign-in" noValidate>
      <h2>Sign in with your email</h2>
      {/* Keyed, so that no element of one step is reused for the other: a
          click on "Use another address" must not land on a submit button. */}
      {sent ? (
        <Fragment key="code">
          <p data-testid="email-sent">
            We have sent a sign-in link and a code to <strong>{email.trim()}</strong>. Open the link on any device,
            or type the code here. Both work once, for 15 minutes.
          </p>
          <label htmlFor="email-code">Code from the message</label>
          <input id="email-code" data-testid="email-code" value={code} inputMode="numeric" autoComplete="one-time-code"
            maxLength={7} onChange={(e) => setCode(e.target.value)} />
          {problem}
          <button type="submit" data-testid="email-code-submit" disabled={busy || !code.trim()}>
            {busy ? "…" : "Sign in"}
          </button>
          <button type="button" className="link" data-testid="email-again" onClick={() => {
            setSent(false);
            setCode("");
            clear();
          }}>Use another address, or send a new message</button>
        </Fragment>
      ) : (
        <Fragment key="address">
          <p>No password needed: we email you a link and a code. New here? The same gets you an account.</p>
          <label htmlFor="email-address">Your email address</label>
          <input id="email-address" data-testid="email-address" type="email" value={email} autoComplete="email"
            onChange={(e) => setEmail(e.target.value)} />
          <label className="check">
            <input type="checkbox" data-testid="email-stay" checked={stay} onChange={(e) => setStay(e.target.checked)} />
            Stay signed in
          </label>
          {problem}
          <button type="submit" data-testid="email-submit" disabled={busy}>
            {busy ? "…" : "Email me a sign-in link"}
          </button>
        </Fragment>
      )}
      <button type="button" className="link" data-testid="email-cancel" onClick={onCancel}>Back to log in</button>
    </form>
  );
}

/**
 * `/login/email?token=…`: the emailed link. Nothing is spent by opening it
 * (mail scanners open links too): the person confirms with the button.
 */
export function EmailLinkPage() {
  const [user, setUser] = useState<User | null>(null);
  const [pending, setPending] = useState<TwoFactorRequired | null>(null);
  // A failure ends the page's offer: the link is spent, or was never good.
  const { busy, error, show, run } = useAction({ explain: sentence });

  const confirm = () =>
    run(async () => {
      // 200 for an account, 201 for one made now, 202 for its second step.
      const answer = await call(client.POST("/login/email/verify", { body: { token: linkToken() } }));
      if (needsSecondStep(answer)) setPending(answer);
      else setUser(answer);
    });

  if (pending) {
    return (
      <section className="card narrow" data-testid="email-link-page">
        <SecondStep methods={pending.methods} intro="Your email address is confirmed."
          onSuccess={() => window.location.assign("/")}
          onRestart={(reason) => {
            setPending(null);
            show(reason ?? "Please ask for a new link.");
          }} />
      </section>
    );
  }
  return (
    <section className="card narrow" data-testid="email-link-page">
      <h2>Sign in</h2>
      {!user && !error && (
        <>
          <p>Sign in with the link from your email, in this browser.</p>
          <button type="button" data-testid="email-link-confirm" disabled={busy} onClick={confirm}>
            {busy ? "…" : "Sign in"}
          </button>
        </>
      )}
      {user && (
        <p data-testid="email-link-done">
          You are signed in as <strong data-testid="email-link-user">{user.username}</strong>.
        </p>
      )}
      {error && <p className="error" data-testid="email-link-error">{error}</p>}
      <a href="/" data-testid="recovery-home">{user ? "Continue" : "Back to the start page"}</a>
    </section>
  );
}
