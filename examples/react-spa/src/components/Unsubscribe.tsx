import { useState } from "react";
import { asApiError, call, client } from "../api/client";
import { linkToken } from "./Recovery";

// `/unsubscribe?token=…`, the link at the foot of every newsletter message:
// POST /newsletter/unsubscribe with the link's token, signed in or not (the
// token names the reader).

type State =
  | { status: "ready" | "working" | "done" }
  | { status: "invalid" }
  | { status: "failed"; message: string };

/**
 * Leaves the newsletter with a button, not on opening: mail scanners open
 * the links of a message, and must not unsubscribe its reader. (Mail
 * programs' own "Unsubscribe" posts to the API directly, from the
 * message's List-Unsubscribe header.)
 */
export default function UnsubscribePage() {
  const token = linkToken();
  const [state, setState] = useState<State>(token ? { status: "ready" } : { status: "invalid" });

  async function confirm() {
    setState({ status: "working" });
    try {
      // The same answer when the link was used before: unsubscribed is unsubscribed.
      await call(client.POST("/newsletter/unsubscribe", { params: { query: { token } }, body: {} }));
      setState({ status: "done" });
    } catch (caught) {
      const err = asApiError(caught);
      setState(err.code === "invalid_token" ? { status: "invalid" } : { status: "failed", message: err.message });
    }
  }

  return (
    <section className="card narrow" data-testid="unsubscribe-page">
      <h2>Unsubscribe</h2>
      {(state.status === "ready" || state.status === "working" || state.status === "failed") && (
        <>
          <p>Stop receiving new posts by email.</p>
          {state.status === "failed" && (
            <p className="error" role="alert" data-testid="unsubscribe-error">{state.message}</p>
          )}
          <button type="button" className="primary" data-testid="unsubscribe-confirm"
            disabled={state.status === "working"} onClick={confirm}>
            {state.status === "working" ? "…" : "Unsubscribe"}
          </button>
        </>
      )}
      {state.status === "done" && (
        <p role="status" data-testid="unsubscribe-done">
          You are unsubscribed: no more posts by email. You can subscribe again on your account page.
        </p>
      )}
      {state.status === "invalid" && (
        <p className="error" role="alert" data-testid="unsubscribe-error">
          This unsubscribe link is not valid. Copy the whole link from the message, or turn the newsletter off
          on your account page.
        </p>
      )}
      <a href="/" data-testid="recovery-home">{state.status === "done" ? "Continue" : "Back to the start page"}</a>
    </section>
  );
}
