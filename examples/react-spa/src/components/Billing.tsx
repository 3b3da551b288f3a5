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

/** A button off to one of Stripe's pages, with the server's sentence beside it when that fails. */
function StripeButton({ path, testid, label, opening, primary = false, pill = false }: {
  path: "/billing/checkout" | "/billing/portal";
  testid: string;
  label: string;
  /** The button's words while the server is asked for the page. */
  opening: string;
  /** The view's one primary action (filled). */
  primary?: boolean;
  /** A small pill (the header's). */
  pill?: boolean;
}) {
  const [{ busy, error }, go] = useStripeRedirect(path);
  return (
    <span className="billing">
      <button className={primary ? "primary" : pill ? "pill" : undefined} data-testid={testid} disabled={busy} onClick={go}>
        {busy ? opening : label}
      </button>
      {error && <span className="error" data-testid="billing-error" data-code={error.code}> {error.message}</span>}
    </span>
  );
}

/** "Upgrade" for free users: a Stripe Checkout for the premium plan. */
export function UpgradeButton({ primary = false }: { primary?: boolean }) {
  return (
    <StripeButton path="/billing/checkout" testid="upgrade" label="Upgrade to premium" opening="Opening checkout…"
      primary={primary} />
  );
}

/** "Manage billing" for subscribers: Stripe's billing portal. */
export function ManageBillingButton() {
  return <StripeButton path="/billing/portal" testid="manage-billing" label="Manage billing" opening="Opening…" />;
}

/**
 * The offer that fits the user's plan: none to staff on the free plan
 * (they read everything). `compact`: the header's, a small "Upgrade" pill
 * and nothing for subscribers (the account page manages billing).
 */
export function BillingAction({ plan, staff = false, compact = false }: { plan: Plan; staff?: boolean; compact?: boolean }) {
  if (plan === "premium") return compact ? null : <ManageBillingButton />;
  if (staff) return null;
  return compact ? <UpgradePill /> : <UpgradeButton />;
}

/** The header's upgrade: a small pill, the same checkout. */
function UpgradePill() {
  return <StripeButton path="/billing/checkout" testid="upgrade" label="Upgrade" opening="…" pill />;
}
