import { useEffect, useState } from "react";
import { call, client, type Schemas } from "./api/client";

export type Price = Schemas["Price"];

// GET /billing/prices, asked once per page load and shared: the server keeps
// Stripe's answer an hour, and the offer does not change while a page is open.
let asked: Promise<Price[]> | null = null;
// The answer once it is in: a view opened later starts with the offer
// instead of drawing itself first without it.
let known: Price[] | null = null;

/**
 * The prices sold (the first the default): `null` until the answer is in,
 * empty when billing is off or Stripe cannot be reached.
 */
export function usePrices(): Price[] | null {
  const [prices, setPrices] = useState<Price[] | null>(known);
  useEffect(() => {
    asked ??= call(client.GET("/billing/prices"))
      .then((answer) => answer.prices)
      .catch(() => [])
      .then((p) => (known = p));
    let live = true;
    asked.then((p) => live && setPrices(p));
    return () => {
      live = false;
    };
  }, []);
  return prices;
}

/** An amount in the currency's smallest unit, as money: "€5", "€4.50", "¥500". */
export function money(amount: number, currency: string): string {
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  const value = amount / 10 ** digits;
  return Number.isInteger(value)
    ? new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase(), maximumFractionDigits: 0 }).format(value)
    : format.format(value);
}

/** "€5 a month", "€50 a year", "€9 every 3 months". */
export function priceText(p: Price): string {
  const every = p.interval_count === 1 ? `a ${p.interval}` : `every ${p.interval_count} ${p.interval}s`;
  return `${money(p.amount, p.currency)} ${every}`;
}

/** What the chooser calls a price, by how often it bills: "Monthly", "Yearly", "Every 3 months". */
export function periodName(p: Price): string {
  if (p.interval_count !== 1) return `Every ${p.interval_count} ${p.interval}s`;
  return { day: "Daily", week: "Weekly", month: "Monthly", year: "Yearly" }[p.interval];
}

/** A price's free trial: "14 days free, then €5 a month"; null when it has none. */
export function trialText(p: Price): string | null {
  if (p.trial_days <= 0) return null;
  return `${p.trial_days} day${p.trial_days === 1 ? "" : "s"} free, then ${priceText(p)}`;
}

/** How much a yearly price saves against twelve months of a monthly one, in whole per cent (null: nothing to compare). */
export function yearlySaving(prices: Price[]): number | null {
  const monthly = prices.find((p) => p.interval === "month" && p.interval_count === 1);
  const yearly = prices.find((p) => p.interval === "year" && p.interval_count === 1);
  if (!monthly || !yearly || monthly.currency !== yearly.currency) return null;
  const saving = Math.round((1 - yearly.amount / (monthly.amount * 12)) * 100);
  return saving > 0 ? saving : null;
}

/** The offer in one line: "Premium: €5 a month, or €50 a year (save 17%)". Null without prices. */
export function offerLine(prices: Price[] | null): string | null {
  if (!prices?.length) return null;
  const saving = yearlySaving(prices);
  const each = prices.map((p) => (p.interval === "year" && saving ? `${priceText(p)} (save ${saving}%)` : priceText(p)));
  return `Premium: ${each.join(", or ")}`;
}
