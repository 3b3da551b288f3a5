import { useEffect, useState } from "react";
import { api } from "../api.js";
import { BillingAction } from "./Billing.jsx";

const day = (t) => new Date(t).toLocaleDateString();

// GET /account: the plan and the Stripe subscription, if any.
export default function Account({ onAuthLost }) {
  const [account, setAccount] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let current = true;
    api("/account")
      .then((a) => current && setAccount(a))
      .catch((err) => {
        if (!current) return;
        setError(err.message);
        onAuthLost(err);
      });
    return () => {
      current = false;
    };
  }, [onAuthLost]);

  if (error) return <p className="error" data-testid="account-error">{error}</p>;
  if (!account) return <p>Loading your account…</p>;

  const sub = account.subscription;
  return (
    <section className="card" data-testid="account">
      <h2>Your account</h2>
      <p>
        <strong>{account.username}</strong>, member since {day(account.created_at)}, plan{" "}
        <span className="plan" data-testid="account-plan">{account.plan}</span>
      </p>
      {sub ? (
        <p data-testid="subscription" data-status={sub.status}>
          Subscription: <strong>{sub.status.replace("_", " ")}</strong>
          {sub.current_period_end &&
            (sub.cancel_at_period_end
              ? `, ends on ${day(sub.current_period_end)}`
              : `, renews on ${day(sub.current_period_end)}`)}
        </p>
      ) : (
        <p data-testid="subscription" data-status="none">No subscription.</p>
      )}
      <BillingAction plan={account.plan} />
    </section>
  );
}
