import { useState, type FormEvent } from "react";
import { asApiError, call, client, type Account as AccountData, type OnAuthLost } from "../api/client";
import { day } from "../dates";
import { useLoad } from "../hooks/useLoad";
import { BillingAction } from "./Billing";
import { SignInAgain } from "./Providers";
import ChangePassword from "./ChangePassword";
import Address from "./Address";
import { offerLine, priceText, usePrices, type Price } from "../prices";

// GET /account: the plan and the Stripe subscription, the address and
// whether it is verified; POST /email changes or removes the address.
export default function Account({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const [email, setEmail] = useState("");
  const { data: account, error: loadError, setData: setAccount } = useLoad(
    () => call(client.GET("/account")).then((a) => {
      setEmail(a.email ?? "");
      return a;
    }),
    [],
    onAuthLost,
  );
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  // reauth_required: no password, and the sign-in is too old for this change.
  const [reauth, setReauth] = useState(false);
  const [busy, setBusy] = useState(false);
  const [changingPassword, setChangingPassword] = useState(false);
  const prices = usePrices();
  const offer = offerLine(prices);
  // The verification link sent again: the same unverified address, re-sent.
  const [resending, setResending] = useState(false);
  const [resendPassword, setResendPassword] = useState("");
  const [resent, setResent] = useState<string | null>(null);
  const [resendError, setResendError] = useState<string | null>(null);

  async function resend(event: FormEvent) {
    event.preventDefault();
    if (!account?.email) return;
    setBusy(true);
    setResendError(null);
    try {
      const proof = account.has_password ? { password: resendPassword } : {};
      setAccount(await call(client.POST("/email", { body: { email: account.email, ...proof } })));
      setResent(`A new link is on its way to ${account.email}.`);
      setResending(false);
      setResendPassword("");
    } catch (caught) {
      const err = asApiError(caught);
      setResendError(err.message);
      if (err.code === "not_logged_in") onAuthLost(err);
    }
    setBusy(false);
  }

  // PATCH /account: the newsletter switch saves as soon as it changes; the
  // box shows what is stored until the server has answered.
  const [switching, setSwitching] = useState(false);
  const [newsletterError, setNewsletterError] = useState<string | null>(null);
  async function switchNewsletter(newsletter: boolean) {
    setSwitching(true);
    setNewsletterError(null);
    try {
      setAccount(await call(client.PATCH("/account", { body: { newsletter } })));
    } catch (caught) {
      const err = asApiError(caught);
      setNewsletterError(err.message);
      onAuthLost(err);
    }
    setSwitching(false);
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setFields({});
    setNotice(null);
    setReauth(false);
    try {
      // An account without a password sends none: its recent sign-in stands for it.
      const proof = account?.has_password === false ? {} : { password };
      const a = await call(client.POST("/email", { body: { email: email.trim() || null, ...proof } }));
      setAccount(a);
      setPassword("");
      setNotice(a.email ? `We have sent a link to ${a.email}; open it to verify the address.` : "The address is removed.");
    } catch (caught) {
      const err = asApiError(caught);
      if (err.code === "validation_failed") setFields(err.fields);
      else setError(err.message);
      setReauth(err.code === "reauth_required");
      // A wrong password is a 401 too (invalid_credentials); only a lost
      // session goes back to the login form.
      if (err.code === "not_logged_in") onAuthLost(err);
    }
    setBusy(false);
  }

  if (!account) {
    return loadError ? <p className="error" data-testid="account-error">{loadError.message}</p> : <p>Loading your account…</p>;
  }

  const sub = account.subscription;
  return (
    <section className="card" data-testid="account">
      <h2>Your account</h2>
      <p>
        <strong>{account.username}</strong>, member since {day(account.created_at)}, plan{" "}
        <span className="plan" data-testid="account-plan">{account.plan}</span>
        {account.premium_until && (
          <span data-testid="account-grant">, complimentary until {day(account.premium_until)}</span>
        )}
      </p>
      {sub ? (
        <Subscription sub={sub} price={prices?.find((p) => p.name === sub.price)} />
      ) : (
        <p data-testid="subscription" data-status="none">
          No subscription.{account.plan === "free" && offer && <> <span data-testid="account-offer">{offer}.</span></>}
        </p>
      )}
      {/* The trial is for a first subscription: an account that had one is offered none. */}
      {/* Premium by a grant alone: nothing to buy, and no billing to manage. */}
      {!(account.premium_until && !sub) && <BillingAction plan={account.plan} trial={!sub} />}
      <div className="row" data-testid="password-row">
        <p data-testid="account-password" data-set={account.has_password ? "true" : "false"}>
          {account.has_password ? "Password: set." : "Password: none, you sign in with a provider (Account security can set one)."}
        </p>
        {account.has_password && !changingPassword && (
          <button data-testid="password-change" onClick={() => setChangingPassword(true)}>Change password</button>
        )}
      </div>
      {changingPassword && <ChangePassword onDone={() => setChangingPassword(false)} onAuthLost={onAuthLost} />}
      <div className="row" data-testid="email-row">
        <p>
          Email address:{" "}
          <strong data-testid="account-email">{account.email ? <Address email={account.email} /> : "none"}</strong>{" "}
          {account.email && (
            <span className="tag" data-testid="account-verified">
              {account.email_verified ? "verified" : "not verified"}
            </span>
          )}
        </p>
        {account.email && !account.email_verified && !resending && (
          <button data-testid="email-resend" onClick={() => { setResent(null); setResending(true); }}>
            Send the link again
          </button>
        )}
      </div>
      {resending && (
        <form className="stack" onSubmit={resend} data-testid="email-resend-form" noValidate>
          {account.has_password && (
            <>
              <label htmlFor="email-resend-password">Your password</label>
              <input id="email-resend-password" data-testid="email-resend-password" type="password" value={resendPassword}
                autoComplete="current-password" onChange={(e) => setResendPassword(e.target.value)} />
            </>
          )}
          <p className="error" role="alert" data-testid="email-resend-error" hidden={!resendError}>{resendError}</p>
          <div className="actions">
            <button type="submit" className="primary" data-testid="email-resend-submit" disabled={busy}>
              {busy ? "…" : "Send the link"}
            </button>
            <button type="button" className="link" onClick={() => setResending(false)}>Cancel</button>
          </div>
        </form>
      )}
      {resent && <p className="note" role="status" data-testid="email-resent">{resent}</p>}
      <div className="row" data-testid="newsletter-row">
        <label className="check">
          <input type="checkbox" data-testid="newsletter" checked={account.newsletter} disabled={switching}
            onChange={(e) => switchNewsletter(e.target.checked)} />
          Email me new posts
        </label>
        {account.newsletter && !account.email_verified && (
          <span className="hint" data-testid="newsletter-hint">
            {account.email ? "They go out once your address is verified." : "Add an address below to receive them."}
          </span>
        )}
        {newsletterError && <span className="error" role="alert" data-testid="newsletter-error">{newsletterError}</span>}
      </div>
      <form className="card narrow" onSubmit={save} data-testid="email-form" noValidate>
        <h2>Change your email address</h2>
        <label htmlFor="email-new">Email address (empty to remove it)</label>
        <input id="email-new" data-testid="email-new" type="email" value={email} autoComplete="email"
          aria-invalid={fields.email ? true : undefined} onChange={(e) => setEmail(e.target.value)} />
        {fields.email && <p className="field-error" data-testid="email-error-email">{fields.email}</p>}
        {account.has_password && (
          <>
            <label htmlFor="email-password">Your password</label>
            <input id="email-password" data-testid="email-password" type="password" value={password}
              autoComplete="current-password" onChange={(e) => setPassword(e.target.value)} />
          </>
        )}
        {error && <p className="error" data-testid="email-error">{error}</p>}
        {reauth && <SignInAgain returnTo="/account" />}
        {notice && <p data-testid="email-notice">{notice}</p>}
        <button type="submit" data-testid="email-submit" disabled={busy}>{busy ? "…" : "Save"}</button>
      </form>
    </section>
  );
}

/**
 * The subscription in one line: "active, €50 a year, next charge on May 1,
 * 2027"; while trialing "trialing, free trial until Apr 1, 2026, then €50 a
 * year". The price is the one the subscription is on, when it is one of
 * those sold (GET /billing/prices).
 */
function Subscription({ sub, price }: { sub: NonNullable<AccountData["subscription"]>; price: Price | undefined }) {
  const trialUntil = sub.status === "trialing" ? sub.trial_end : null;
  // A scheduled end (cancel_at) may come before the period's end.
  const end = sub.cancel_at ?? sub.current_period_end;
  return (
    <p data-testid="subscription" data-status={sub.status}>
      Subscription: <strong>{sub.status.replace("_", " ")}</strong>
      {trialUntil && <>, <span data-testid="subscription-trial">free trial until {day(trialUntil)}</span></>}
      {price && (
        <>, {trialUntil && !sub.cancel_at_period_end && "then "}
          <span data-testid="subscription-price">{priceText(price)}</span></>
      )}
      {end && (sub.cancel_at_period_end
        ? `, ends on ${day(end)}`
        // The trial's end is the first charge: said once.
        : trialUntil && day(trialUntil) === day(end) ? null : `, next charge on ${day(end)}`)}
    </p>
  );
}
