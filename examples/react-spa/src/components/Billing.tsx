import { useId, useState, type FormEvent } from "react";
import { call, client, type Plan } from "../api/client";
import { sentence, useAction, type Action } from "../hooks/useAction";
import { periodName, priceText, trialText, usePrices, yearlySaving, type Price } from "../prices";

// POST /billing/checkout or /billing/portal, then off to the Stripe-hosted
// page it names. Stripe brings the browser back to APP_URL/billing/success
// (or /billing/cancel, or /account from the portal). The plan changes when
// Stripe's webhook reaches the server, not on the way back.

/** Sends the browser to the Stripe page the server answered with. */
async function goTo(page: Promise<{ url: string }>) {
  const { url } = await page;
  window.location.assign(url);
}

/**
 * The server's sentence when Stripe's page could not be had (501
 * billing_not_configured, 502 billing_unavailable, 409 …: it says what
 * happened), with its code.
 */
function BillingError({ action: { error, failure } }: { action: Action }) {
  return error && <span className="error" role="alert" data-testid="billing-error" data-code={failure?.code}> {error}</span>;
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
  // A success leaves for Stripe: the button stays on `opening` until the page goes.
  const action = useAction({ leaves: true, explain: sentence });
  // No body: a checkout for the default price.
  const go = () => action.run(() => goTo(call(client.POST(path))));
  return (
    <span className="billing">
      <button className={primary ? "primary" : pill ? "pill" : undefined} data-testid={testid} disabled={action.busy}
        onClick={go}>
        {action.busy ? opening : label}
      </button>
      <BillingError action={action} />
    </span>
  );
}

/**
 * The plans for free readers: the prices to choose from, the trial, a
 * promotion code behind "Have a code?", then Stripe Checkout. Without
 * prices (billing off, Stripe out of reach) a single button for the
 * default price, whose failure the server explains.
 */
export function UpgradeButton({ primary = false, trial = true }: {
  primary?: boolean;
  /** The reader may still have a free trial (none for an account that ever subscribed). */
  trial?: boolean;
}) {
  const prices = usePrices();
  // Nothing while the prices are asked for: the choice would take the
  // button's place a moment later.
  if (prices === null) return null;
  const [first, ...others] = prices;
  if (!first) {
    return (
      <StripeButton path="/billing/checkout" testid="upgrade" label="Subscribe" opening="Opening checkout…"
        primary={primary} />
    );
  }
  return <CheckoutForm prices={[first, ...others]} primary={primary} trial={trial} />;
}

/**
 * The choice of price (real radio inputs, drawn as a row of cards with
 * the price and how often it bills), the chosen one's trial, an optional
 * promotion code and the button, which says what it starts: "Start free
 * trial" when there is one. The server checks the code at Stripe: one it
 * does not have active, or will not apply, comes back as a 422 shown under
 * the field, and nothing is bought.
 */
function CheckoutForm({ prices, primary, trial }: {
  /** The prices sold, the default first. */
  prices: [Price, ...Price[]];
  primary: boolean;
  trial: boolean;
}) {
  const id = useId();
  const [chosen, setChosen] = useState(prices[0].name);
  const [code, setCode] = useState("");
  const [hasCode, setHasCode] = useState(false);
  // The two fields' 422s under them; anything else beside the button, as StripeButton says it.
  const action = useAction({
    leaves: true,
    explain: (err) =>
      err.code === "validation_failed" && (err.fields.price || err.fields.promotion_code) ? { fields: err.fields } : err.message,
  });
  const { busy, fields } = action;
  const price = prices.find((p) => p.name === chosen) ?? prices[0];
  const saving = yearlySaving(prices);
  const trialLine = trial ? trialText(price) : null;
  const codeShown = hasCode || Boolean(fields.promotion_code);

  function submit(event: FormEvent) {
    event.preventDefault();
    // A blank code is none: Checkout then has a code field of its own.
    const body = { price: price.name, promotion_code: code.trim() || null };
    return action.run(() => goTo(call(client.POST("/billing/checkout", { body }))));
  }

  return (
    <form className="checkout" onSubmit={submit} noValidate data-testid="checkout-form">
      <fieldset className="price-choice" aria-describedby={fields.price ? `${id}-price-error` : undefined}>
        <legend className="visually-hidden">Choose a plan</legend>
        {prices.map((p) => (
          <label key={p.name} className="price-option">
            <input type="radio" name={`${id}-price`} value={p.name} data-testid={`price-choice-${p.name}`}
              checked={p.name === price.name} onChange={() => setChosen(p.name)} />
            <span className="period">{periodName(p)}</span>
            <span className="amount">{priceText(p)}</span>
            {p.interval === "year" && p.interval_count === 1 && saving && (
              <span className="saving" data-testid={`price-saving-${p.name}`}>save {saving}%</span>
            )}
          </label>
        ))}
      </fieldset>
      {fields.price && <p className="field-error" id={`${id}-price-error`} data-testid="price-error">{fields.price}</p>}
      {trialLine && <p className="trial" data-testid="trial">{trialLine}</p>}
      {codeShown ? (
        <>
          <label htmlFor={`${id}-code`}>Promotion code</label>
          <input id={`${id}-code`} data-testid="promotion-code" value={code} autoComplete="off" autoCapitalize="characters"
            spellCheck={false} autoFocus={hasCode} aria-invalid={fields.promotion_code ? true : undefined}
            aria-describedby={fields.promotion_code ? `${id}-code-error` : undefined}
            onChange={(e) => setCode(e.target.value)} />
          {fields.promotion_code && (
            <p className="field-error" id={`${id}-code-error`} data-testid="promotion-code-error">{fields.promotion_code}</p>
          )}
        </>
      ) : (
        <button type="button" className="link" data-testid="have-code" onClick={() => setHasCode(true)}>Have a code?</button>
      )}
      <span className="billing">
        <button type="submit" className={primary ? "primary" : undefined} data-testid="upgrade" disabled={busy}>
          {busy ? "Opening checkout…" : trialLine ? "Start free trial" : "Subscribe"}
        </button>
        <BillingError action={action} />
      </span>
    </form>
  );
}

/** "Manage billing" for subscribers: Stripe's billing portal. */
export function ManageBillingButton() {
  return <StripeButton path="/billing/portal" testid="manage-billing" label="Manage billing" opening="Opening…" />;
}

/**
 * The offer that fits the user's plan: none to staff on the free plan
 * (they read everything).
 */
export function BillingAction({ plan, staff = false, trial = true }: {
  plan: Plan;
  staff?: boolean;
  /** The reader may still have a free trial. */
  trial?: boolean;
}) {
  if (plan === "premium") return <ManageBillingButton />;
  if (staff) return null;
  return <UpgradeButton trial={trial} />;
}
