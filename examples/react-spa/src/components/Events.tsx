import { Skeleton } from "./Skeleton";
import { call, client, type AccountEvent, type OnAuthLost } from "../api/client";
import { describeAgent } from "../agent";
import { useLoad } from "../hooks/useLoad";

// What each event kind reads as, for a person ("Login from …"). A Record
// over the contract's kinds: a kind added to openapi.yaml fails the type
// check until it has its label here.
const LABELS: Record<AccountEvent["kind"], string> = {
  registered: "Account created",
  login: "Login",
  login_failed: "Failed login",
  login_locked: "Logins locked after failures",
  logout: "Logout",
  session_revoked: "Session ended",
  password_changed: "Password changed",
  password_reset_requested: "Password reset requested",
  password_reset: "Password reset",
  email_changed: "Email changed",
  email_verified: "Email verified",
  plan_changed: "Plan changed",
  role_changed: "Role changed",
  account_disabled: "Account disabled by an admin",
  account_enabled: "Account enabled by an admin",
  paywall: "Paywall reached (free posts used up this month)",
  two_factor_enabled: "Authenticator app turned on",
  two_factor_disabled: "Two-step sign-in turned off",
  recovery_codes_regenerated: "New recovery codes made",
  recovery_code_used: "Recovery code used to log in",
  passkey_added: "Passkey added",
  passkey_removed: "Passkey removed",
  newsletter_subscribed: "Newsletter turned on",
  newsletter_unsubscribed: "Newsletter turned off",
  identity_linked: "Sign-in provider linked",
  identity_unlinked: "Sign-in provider unlinked",
  gift_created: "Gift link made",
  subscription_duplicate_cancelled: "Second subscription cancelled and refunded",
};

/** "2 minutes ago", "3 days ago", "just now". */
export function ago(at: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(at).getTime()) / 1000));
  const units: [string, number][] = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [name, size] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

/**
 * An address worth telling a reader: one on the internet. A loopback or
 * private address (a proxy's, this machine's) says nothing they could use.
 */
function publicAddress(ip: string | null): string | null {
  if (!ip) return null;
  const local = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|::1$|f[cd][0-9a-f]{2}:|fe80:)/i;
  return local.test(ip) ? null : ip;
}

/** "Login from 203.0.113.9, Firefox on Linux, 2 minutes ago" (the address only when it is a public one). */
export function describeEvent(event: AccountEvent, now?: number): string {
  // A server newer than this app may send a kind it has no label for yet.
  let what: string = LABELS[event.kind] ?? event.kind;
  if (event.kind === "plan_changed" && event.detail.to) what += ` to ${event.detail.to}`;
  if ((event.kind === "identity_linked" || event.kind === "identity_unlinked") && event.detail.provider) {
    what += ` (${event.detail.provider})`;
  }
  const ip = publicAddress(event.ip);
  const parts = [ip ? `${what} from ${ip}` : what];
  const agent = describeAgent(event.user_agent);
  if (agent) parts.push(agent);
  parts.push(ago(event.at, now));
  return parts.join(", ");
}

// GET /account/events: the account's recent activity, newest first.
export default function Events({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const { data: events, error } = useLoad(
    () => call(client.GET("/account/events", { params: { query: { per_page: 20 } } })).then((d) => d.events),
    [],
    onAuthLost,
  );

  if (!events) return error ? <p className="error">{error.message}</p> : <Skeleton lines={4} />;
  return (
    <section>
      <h2>Recent activity</h2>
      <ul className="events" data-testid="event-list">
        {events.map((e) => (
          <li key={e.id} data-testid="event-row" data-kind={e.kind}>{describeEvent(e)}</li>
        ))}
      </ul>
    </section>
  );
}
