import { useState, type FormEvent } from "react";
import { call, client, myData, type Account as AccountData, type OnAuthLost } from "../api/client";
import { saveFile } from "../download";
import { day } from "../dates";
import { sentence, useAction } from "../hooks/useAction";
import { useLoad } from "../hooks/useLoad";
import { BillingAction } from "./Billing";
import { SignInAgain } from "./Providers";
import ChangePassword from "./ChangePassword";
import { PasswordField, Problem } from "./security/forms";
import Address from "./Address";
import { Skeleton } from "./Skeleton";
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
  const [password, setPassword] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  // Saving a new address, or none. Its `reauth`: no password, and the sign-in is too old for this change.
  const saving = useAction({ onAuthLost });
  const [changingPassword, setChangingPassword] = useState(false);
  const prices = usePrices();
  const offer = offerLine(prices);
  // The verification link sent again: the same unverified address, re-sent.
  const [resending, setResending] = useState(false);
  const [resendPassword, setResendPassword] = useState("");
  const [resent, setResent] = useState<string | null>(null);
  // Sending the link again: the form has no field to show a 422 under.
  const sending = useAction({ onAuthLost, explain: sentence });
  // A copy of everything stored about the reader (GET /account/export), as a file.
  const downloading = useAction({ onAuthLost, explain: sentence });
  const downloadMyData = () => downloading.run(async () => {
    const data = await myData();
    saveFile(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }), "tollgate-my-data.json");
  });
  // One change of the address at a time: either one locks both forms.
  const busy = saving.busy || sending.busy;

  function resend(event: FormEvent) {
    event.preventDefault();
    if (!account?.email) return;
    const address = account.email;
    const proof = account.has_password ? { password: resendPassword } : {};
    return sending.run(async () => {
      setAccount(await call(client.POST("/email", { body: { email: address, ...proof } })));
      setResent(`A new link is on its way to ${address}.`);
      setResending(false);
      setResendPassword("");
    });
  }

  // PATCH /account: the newsletter switch saves as soon as it changes; the
  // box shows what is stored until the server has answered.
  const switching = useAction({ onAuthLost });
  const switchNewsletter = (newsletter: boolean) =>
    switching.run(async () => setAccount(await call(client.PATCH("/account", { body: { newsletter } }))));

  function save(event: FormEvent) {
    event.preventDefault();
    // An account without a password sends none: its recent sign-in stands for it.
    const proof = account?.has_password === false ? {} : { password };
    return saving.run(async () => {
      setNotice(null);
      const a = await call(client.POST("/email", { body: { email: email.trim() || null, ...proof } }));
      setAccount(a);
      setPassword("");
      setNotice(a.email ? `We have sent a link to ${a.email}; open it to verify the address.` : "The address is removed.");
    });
  }

  if (!account) {
    return loadError ? <p className="error" data-testid="account-error">{loadError.message}</p> : <Skeleton lines={8} />;
  }

  const sub = account.subscription;
  return (
    <section className="card settings" data-testid="account">
      <h2>Your account</h2>
      <p className="hint">
        <strong>{account.username}</strong>, a member since {day(account.created_at)}.
      </p>

      <div className="setting" data-testid="plan-row">
        <h3>Plan</h3>
        <div>
          <p>
            <span className="plan" data-testid="account-plan">{account.plan}</span>
            {account.premium_until && (
              <span data-testid="account-grant"> complimentary until {day(account.premium_until)}</span>
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
        </div>
      </div>

      <div className="setting" data-testid="email-row">
        <h3>Email</h3>
        <div>
          <p>
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
          {resending && (
            <form className="stack" onSubmit={resend} data-testid="email-resend-form" noValidate>
              {account.has_password && (
                <PasswordField id="email-resend-password" value={resendPassword} onChange={setResendPassword} />
              )}
              <Problem text={sending.error} testid="email-resend-error" />
              <div className="actions">
                <button type="submit" className="primary" data-testid="email-resend-submit" disabled={busy}>
                  {busy ? "…" : "Send the link"}
                </button>
                <button type="button" className="link" onClick={() => setResending(false)}>Cancel</button>
              </div>
            </form>
          )}
          {resent && <p className="note" role="status" data-testid="email-resent">{resent}</p>}
          <form className="stack" onSubmit={save} data-testid="email-form" noValidate>
            <label htmlFor="email-new">New email address (empty to remove it)</label>
            <input id="email-new" data-testid="email-new" type="email" value={email} autoComplete="email"
              aria-invalid={saving.fields.email ? true : undefined} onChange={(e) => setEmail(e.target.value)} />
            {saving.fields.email && <p className="field-error" data-testid="email-error-email">{saving.fields.email}</p>}
            {account.has_password && <PasswordField id="email-password" value={password} onChange={setPassword} />}
            {saving.error && <p className="error" data-testid="email-error">{saving.error}</p>}
            {saving.reauth && <SignInAgain returnTo="/account" />}
            {notice && <p data-testid="email-notice">{notice}</p>}
            <button type="submit" data-testid="email-submit" disabled={busy}>{busy ? "…" : "Save the address"}</button>
          </form>
        </div>
      </div>

      <div className="setting" data-testid="newsletter-row">
        <h3>Newsletters</h3>
        <div>
          <label className="check">
            <input type="checkbox" data-testid="newsletter" checked={account.newsletter} disabled={switching.busy}
              onChange={(e) => switchNewsletter(e.target.checked)} />
            Email me new posts
          </label>
          {account.newsletter && !account.email_verified && (
            <p className="hint" data-testid="newsletter-hint">
              {account.email ? "They go out once your address is verified." : "Add an email address to receive them."}
            </p>
          )}
          {switching.error && <p className="error" role="alert" data-testid="newsletter-error">{switching.error}</p>}
        </div>
      </div>

      <div className="setting" data-testid="password-row">
        <h3>Password</h3>
        <div>
          <p data-testid="account-password" data-set={account.has_password ? "true" : "false"}>
            {account.has_password
              ? "You sign in with a password."
              : "You sign in with a provider, without a password. You can add one under Account security."}
          </p>
          {account.has_password && !changingPassword && (
            <button data-testid="password-change" onClick={() => setChangingPassword(true)}>Change password</button>
          )}
          {changingPassword && <ChangePassword onDone={() => setChangingPassword(false)} onAuthLost={onAuthLost} />}
        </div>
      </div>

      <div className="setting" data-testid="my-data-row">
        <h3>Your data</h3>
        <div>
          <p className="hint" id="my-data-what">
            A file with your account, your sessions, your recent activity, the posts you read this month, your gifts
            and your sign-in methods; never your password or any other secret.
          </p>
          <button data-testid="my-data" onClick={downloadMyData} disabled={downloading.busy} aria-busy={downloading.busy}
            aria-describedby="my-data-what">
            {downloading.busy ? "Preparing the file…" : "Download my data"}
          </button>
          <Problem text={downloading.error} testid="my-data-error" />
        </div>
      </div>
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
