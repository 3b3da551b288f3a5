import { useEffect, useState } from "react";
import { api } from "../api.js";
import { describeAgent } from "../agent.js";

// What each event kind reads as, for a person ("Login from …").
const LABELS = {
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
  paywall: "Paywall reached (free posts used up this month)",
};

/** "2 minutes ago", "3 days ago", "just now". */
export function ago(at, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - new Date(at).getTime()) / 1000));
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [name, size] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

/** "Login from 203.0.113.9, Firefox on Linux, 2 minutes ago". */
export function describeEvent(event, now) {
  let what = LABELS[event.kind] ?? event.kind;
  if (event.kind === "plan_changed" && event.detail?.to) what += ` to ${event.detail.to}`;
  const parts = [event.ip ? `${what} from ${event.ip}` : what];
  const agent = describeAgent(event.user_agent);
  if (agent) parts.push(agent);
  parts.push(ago(event.at, now));
  return parts.join(", ");
}

// GET /account/events: the account's recent activity, newest first.
export default function Events({ onAuthLost }) {
  const [events, setEvents] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    api("/account/events?per_page=20")
      .then((d) => setEvents(d.events))
      .catch((err) => {
        setError(err.message);
        onAuthLost(err);
      });
  }, [onAuthLost]);

  if (!events) return error ? <p className="error">{error}</p> : <p>Loading activity…</p>;
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
