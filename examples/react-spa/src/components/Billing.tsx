import { useState } from "react";
import { ApiError, asApiError, call, client, type Plan } from "../api/client";

// POST /billing/checkout or /billing/portal, then off to the Stripe-hosted
// page it names. Stripe brings the browser back to APP_URL/billing/success
// (or /billing/cancel, or /account from the portal). The plan changes when
// Stripe's webhook reaches the server, not on the way back.
function useStripeRedirect(path: "/billing/checkout" | "/billing/portal") {
  const [state, setState] = useState<{ busy: boolean; error: ApiError | null }>({ busy: false, error: null });
  async function go() {
    setState({ busy: true, error: null });
    try {
      const { url } = await call(client.POST(path));
      window.location.assign(url);
    } catch (caught) {
      const err = asApiError(caught);
      // 501 billing_not_configured, 502 billing_unavailable, 409 …: the
      // server's sentence says what happened.
      setState({ busy: false, error: err });
    }
  }
  return [state, go] as const;
}

/** "Upgrade" for free users: a Stripe Checkout for the premium plan. */
export function UpgradeButton() {
  const [{ busy, error }, go] = useStripeRedirect("/billing/checkout");
  return (
    <span className="billing">
      <button data-testid="upgrade" disabled={busy} onClick={go}>
        {busy ? "Opening checkout…" : "Upgrade to premium"}
      </button>
      {error && <span className="error" data-testid="billing-error" data-code={error.code}> {error.message}</span>}
    </span>
  );
}

/** "Manage billing" for subscribers: Stripe's billing portal. */
export function ManageBillingButton() {
  const [{ busy, error }, go] = useStripeRedirect("/billing/portal");
  return (
    <span className="billing">
      <button data-testid="manage-billing" disabled={busy} onClick={go}>
        {busy ? "Opening…" : "Manage billing"}
      </button>
      {error && <span className="error" data-testid="billing-error" data-code={error.code}> {error.message}</span>}
    </span>
  );
}

/** The offer that fits the user's plan. */
export function BillingAction({ plan }: { plan: Plan }) {
  return plan === "premium" ? <ManageBillingButton /> : <UpgradeButton />;
}
