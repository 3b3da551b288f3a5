import { useState, type ReactNode } from "react";
import { call, client, type Meter as MeterData, type OnAuthLost, type User } from "../api/client";
import { dayText, joinText } from "../publication";
import type { Summary } from "./PostList";
import { offerLine, usePrices } from "../prices";
import { useLoad } from "../hooks/useLoad";
import Meter from "./Meter";
import PostHtml from "./PostHtml";
import { UpgradeButton } from "./Billing";
import { GiftButton } from "./Gifts";
import ArticleMarkup, { POST_BODY_CLASS } from "./ArticleMarkup";
import RegistrationWall, { SignUpForms } from "./RegistrationWall";

// GET /blog/{id}: the metered read. A 402 is the paywall (the month's free
// reads are used up), a premium post opened on the free plan, or — for a
// browser without an account — the registration wall; none spends a read.
// Without an account (`onSignedIn` given) the server reads on the browser's
// own meter when it lets browsers read (ANONYMOUS_READS), and answers 401
// when it reads to members only: then the page asks the reader to sign in.
export default function PostView({ id, summary, premium, staff, onBack, onAuthLost, onSignedIn }: {
  id: number;
  /** What the list showed of the post: the paywall shows it, faded, and the page's markup describes it. */
  summary?: Summary;
  /** The reader is on the premium plan, and so may gift posts. */
  premium: boolean;
  /** The reader is an author or an admin: unmetered. */
  staff: boolean;
  onBack: () => void;
  onAuthLost?: OnAuthLost;
  /** The reader has no account: the walls offer one, and this hears the sign-in. */
  onSignedIn?: (user: User) => void;
}) {
  const { data: post, error } = useLoad(
    () => call(client.GET("/blog/{id}", { params: { path: { id: String(id) } } })),
    [id],
    onAuthLost,
  );
  const signedOut = onSignedIn !== undefined;

  let content;
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
      <Paywall code={error.code} summary={summary} meter={error.meter} signedOut={signedOut} title="Premium post"
        message={error.message} hint={`For subscribers only. Opening it used none of your free ${signedOut ? "posts" : "reads"}.`}
        action={onSignedIn && <SubscribeFirst onSignedIn={onSignedIn} />} />
    );
  } else if (error?.code === "paywall") {
    const limit = error.meter?.limit ?? 0;
    content = (
      <Paywall code={error.code} summary={summary} meter={error.meter}
        title={`You've read your ${limit} free article${limit === 1 ? "" : "s"} this month`}
        message={error.message} hint="Posts you already opened this month stay free to re-read." />
    );
  } else if (error) {
    content = <p className="error" data-testid="post-error">{error.message}</p>;
  } else if (post) {
    content = (
      <article data-testid="post" data-access={post.access}>
        <ArticleMarkup post={post} bodyShown />
        <h2 data-testid="post-title">{post.title}</h2>
        <p className="byline" data-testid="post-byline">
          {post.author && <span>By {post.author.username} · </span>}
          <time dateTime={post.published_at}>{dayText(post.published_at)}</time>
        </p>
        <Meter meter={post.meter} testid="post-meter" staff={staff} signedOut={signedOut} />
        <PostHtml html={post.html} testid="post-body" className={POST_BODY_CLASS} />
        {/* Premium readers (no meter) may gift what they read. */}
        {post.meter === null && premium && <GiftButton postId={post.id} />}
      </article>
    );
  } else {
    content = <p>Loading…</p>;
  }

  return (
    <section>
      <button className="link back" data-testid="back" onClick={onBack}>← All posts</button>
      {/* Closed or not, the page describes the post it stands for. */}
      {!post && error && summary && error.status !== 404 && <ArticleMarkup post={summary} bodyShown={false} />}
      {content}
    </section>
  );
}

/**
 * The answer to a 402: the post the reader asked for (its title and
 * excerpt, faded out), why it is closed, when free reads come back, and one
 * primary action, the upgrade (or `action`, for a reader who needs an
 * account first).
 */
function Paywall({ code, summary, meter, signedOut = false, title, message, hint, action }: {
  code: "paywall" | "premium_required";
  summary?: Summary;
  meter: MeterData;
  signedOut?: boolean;
  title: string;
  message: string;
  hint: string;
  action?: ReactNode;
}) {
  const offer = offerLine(usePrices());
  return (
    <div className="paywall" data-testid="paywall" data-code={code}>
      {summary && (
        <div className="teaser" data-testid="paywall-teaser">
          <h2>{summary.title}</h2>
          <p>{summary.excerpt}</p>
        </div>
      )}
      <h3 data-testid="paywall-title">{title}</h3>
      {code === "paywall" ? (
        // The title says what the server's sentence says; the date is new.
        meter && <p data-testid="paywall-resets">Free reads return {dayText(meter.resets_at)}.</p>
      ) : (
        <>
          {/* The server's sentence asks a member to upgrade; without an account the offer below says how. */}
          {!signedOut && <p data-testid="paywall-message">{message}</p>}
          <Meter meter={meter} testid="paywall-meter" signedOut={signedOut} />
        </>
      )}
      <p className="hint">{hint}</p>
      {offer && <p className="offer-line" data-testid="paywall-offer">{offer}</p>}
      {action ?? <UpgradeButton primary />}
    </div>
  );
}

/** A premium post, for a reader without an account: subscribing starts with a free one. */
function SubscribeFirst({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [open, setOpen] = useState(false);
  if (open) return <SignUpForms onSignedIn={onSignedIn} />;
  return (
    <>
      <p>Subscribing starts with a free account; you choose the plan next.</p>
      <button className="primary" data-testid="subscribe-first" onClick={() => setOpen(true)}>
        Create an account to subscribe
      </button>
    </>
  );
}
