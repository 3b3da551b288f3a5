import { useState, type ReactNode } from "react";
import type { ApiError, Meter as MeterData, User } from "../api/client";
import { dayText, joinText } from "../publication";
import type { Summary } from "./PostList";
import RegistrationWall, { SignUpForms } from "./RegistrationWall";
import { offerLine, usePrices } from "../prices";
import { Benefits } from "./Subscribe";

import Subscribe from "./Subscribe";

/**
 * A post closed to the reader (a 402, or a 401 without an account): the
 * registration wall, the paywall, or a premium post's offer. `onSignedIn`:
 * the reader has no account, and this hears the sign-in.
 */
export default function Wall({ error, summary, onSignedIn }: {
  error: ApiError;
  summary?: Summary;
  onSignedIn?: (user: User) => void;
}) {
  const signedOut = onSignedIn !== undefined;
  let content: ReactNode = null;
  if (error?.code === "registration_required" && onSignedIn) {
    content = (
      <RegistrationWall reason={error.code} summary={summary} title={joinText()} onSignedIn={onSignedIn}>
        {error.meter && error.meter.used > 0 && (
          <p className="hint" data-testid="wall-merge">
            The {error.meter.used} post{error.meter.used === 1 ? "" : "s"} you read this month count among them, and stay open to you.
          </p>
        )}
      </RegistrationWall>
    );
  } else if (error?.status === 401 && onSignedIn) {
    // The server reads to members only (no ANONYMOUS_READS): as before anyone could read, sign in first.
    content = (
      <RegistrationWall reason="not_logged_in" summary={summary} title="Log in or create a free account to read this post."
        start="login" onSignedIn={onSignedIn} />
    );
  } else if (error?.code === "premium_required") {
    content = (
      <Paywall code={error.code} summary={summary} title="This post is for subscribers"
        hint={`Opening it used none of your free ${signedOut ? "posts" : "reads"}.`}
        action={onSignedIn && <SubscribeFirst onSignedIn={onSignedIn} />} />
    );
  } else if (error?.code === "paywall") {
    const limit = error.meter?.limit ?? 0;
    content = (
      <Paywall code={error.code} summary={summary} meter={error.meter}
        title={`You've read your ${limit} free post${limit === 1 ? "" : "s"} this month`}
        hint="Posts you already opened this month stay free to re-read." />
    );
  }
  return content;
}

/**
 * The answer to a 402: the post the reader asked for (its title and
 * excerpt, faded out), one reason it is closed (and, past the meter, when
 * free reads come back), what a subscriber gets, and one primary action:
 * the plans (or `action`, for a reader who needs an account first).
 */
function Paywall({ code, summary, meter = null, title, hint, action }: {
  code: "paywall" | "premium_required";
  summary?: Summary;
  meter?: MeterData;
  title: string;
  hint: string;
  action?: ReactNode;
}) {
  return (
    <div className="paywall" data-testid="paywall" data-code={code}>
      {summary && (
        <div className="teaser" data-testid="paywall-teaser">
          <h2>{summary.title}</h2>
          <p>{summary.excerpt}</p>
        </div>
      )}
      <h3 data-testid="paywall-title">{title}</h3>
      {code === "paywall" && meter && (
        <p data-testid="paywall-resets">Free reads return {dayText(meter.resets_at)}.</p>
      )}
      <p className="hint">{hint}</p>
      {action ?? <Subscribe plan="free" staff={false} inline />}
    </div>
  );
}

/** A premium post, for a reader without an account: subscribing starts with a free one. */
function SubscribeFirst({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [open, setOpen] = useState(false);
  const offer = offerLine(usePrices());
  if (open) return <SignUpForms onSignedIn={onSignedIn} />;
  return (
    <>
      <Benefits />
      {offer && <p className="offer-line" data-testid="paywall-offer">{offer}</p>}
      <p>Subscribing starts with a free account; you choose the plan next.</p>
      <button className="primary" data-testid="subscribe-first" onClick={() => setOpen(true)}>
        Create an account to subscribe
      </button>
    </>
  );
}
