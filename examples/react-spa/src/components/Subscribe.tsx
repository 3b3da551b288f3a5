import type { Plan } from "../api/client";
import { PUBLICATION } from "../publication";
import { offerLine, usePrices } from "../prices";
import { Link } from "../router";
import { ManageBillingButton, UpgradeButton } from "./Billing";

/** What a subscription gives, said the same way wherever the plans are offered. */
export function Benefits() {
  return (
    <ul className="benefits" data-testid="benefits">
      <li>Every post, with no monthly limit</li>
      <li>Posts for subscribers only</li>
      <li>Gift links: share any post with people who don't subscribe</li>
      <li>Cancel any time from your account</li>
    </ul>
  );
}

/**
 * The plans, one step before Stripe Checkout: what a subscriber gets, the
 * prices with how often each bills, the trial, and one button. `inline`:
 * inside a wall, under its own heading; otherwise the page at /subscribe,
 * where the header's "Upgrade" leads.
 */
export default function Subscribe({ plan, staff, inline = false }: { plan: Plan; staff: boolean; inline?: boolean }) {
  const offer = offerLine(usePrices());
  if (plan === "premium" || staff) {
    return (
      <section className="card" data-testid="subscribe-page">
        <h2>{plan === "premium" ? "You're a subscriber" : "You read every post"}</h2>
        <p>{plan === "premium" ? "Thank you. Every post is open to you." : "Authors and admins read without a limit."}</p>
        {plan === "premium" ? <ManageBillingButton /> : <Link href="/">Back to the posts</Link>}
      </section>
    );
  }
  const body = (
    <>
      <Benefits />
      {offer && <p className="offer-line" data-testid="paywall-offer">{offer}</p>}
      <UpgradeButton primary />
    </>
  );
  if (inline) return <div className="subscribe" data-testid="subscribe">{body}</div>;
  return (
    <section className="card subscribe" data-testid="subscribe-page">
      <h2>Subscribe to {PUBLICATION}</h2>
      {body}
    </section>
  );
}
