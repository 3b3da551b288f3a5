import { useState } from "react";
import { call, client } from "../api/client";
import { sentence, useAction } from "../hooks/useAction";
import { linkToken } from "./Recovery";

// `/unsubscribe?token=…`, the link at the foot of every newsletter message:
// POST /newsletter/unsubscribe with the link's token, signed in or not (the
// token names the reader).

/**
 * Leaves the newsletter with a button, not on opening: mail scanners open
 * the links of a message, and must not unsubscribe its reader. (Mail
 * programs' own "Unsubscribe" posts to the API directly, from the
 * message's List-Unsubscribe header.)
 */
export default function UnsubscribePage() {
  const token = linkToken();
  const [done, setDone] = useState(false);
  const [invalid, setInvalid] = useState(!token);
  const { busy, error, run } = useAction({ explain: sentence });

  async function confirm() {
    const answered = await run(async () => {
      // The same answer when the link was used before: unsubscribed is unsubscribed.
      await call(client.POST("/newsletter/unsubscribe", { params: { query: { token } }, body: {} }));
      setDone(true);
    });
    if (!answered.ok && answered.err.code === "invalid_token") setInvalid(true);
  }

  return (
    <section className="card narrow" data-testid="unsubscribe-page">
      <h2>Unsubscribe</h2>
      {!done && !invalid && (
        <>
          <p>Stop receiving new posts by email.</p>
          {error && <p className="error" role="alert" data-testid="unsubscribe-error">{error}</p>}
          <button type="button" className="primary" data-testid="unsubscribe-confirm" disabled={busy} onClick={confirm}>
            {busy ? "…" : "Unsubscribe"}
          </button>
        </>
      )}
      {done && (
        <p role="status" data-testid="unsubscribe-done">
          You are unsubscribed: no more posts by email. You can subscribe again on your account page.
        </p>
      )}
      {invalid && (
        <p className="error" role="alert" data-testid="unsubscribe-error">
          This unsubscribe link is not valid. Copy the whole link from the message, or turn the newsletter off
          on your account page.
        </p>
      )}
      <a href="/" data-testid="recovery-home">{done ? "Continue" : "Back to the start page"}</a>
    </section>
  );
}
