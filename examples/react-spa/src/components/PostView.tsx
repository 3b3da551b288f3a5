import { call, client, type Meter as MeterData, type OnAuthLost } from "../api/client";
import { dayText } from "../publication";
import type { Summary } from "./PostList";
import { offerLine, usePrices } from "../prices";
import { useLoad } from "../hooks/useLoad";
import Meter from "./Meter";
import PostHtml from "./PostHtml";
import { UpgradeButton } from "./Billing";
import { GiftButton } from "./Gifts";

// GET /blog/{id}: the metered read. A 402 is either the paywall (the month's
// free reads are used up) or a premium post opened on the free plan; neither
// spends a read.
export default function PostView({ id, summary, premium, staff, onBack, onAuthLost }: {
  id: number;
  /** What the list showed of the post: the paywall shows it, faded. */
  summary?: Summary;
  /** The reader is on the premium plan, and so may gift posts. */
  premium: boolean;
  /** The reader is an author or an admin: unmetered. */
  staff: boolean;
  onBack: () => void;
  onAuthLost: OnAuthLost;
}) {
  const { data: post, error } = useLoad(
    () => call(client.GET("/blog/{id}", { params: { path: { id: String(id) } } })),
    [id],
    onAuthLost,
  );

  let content;
  if (error?.code === "premium_required") {
    content = (
      <Paywall code={error.code} summary={summary} meter={error.meter} title="Premium post"
        message={error.message} hint="For subscribers only. Opening it used none of your free reads." />
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
      <article data-testid="post">
        <h2 data-testid="post-title">{post.title}</h2>
        <p className="byline" data-testid="post-byline">
          {post.author && <span>By {post.author.username} · </span>}
          <time dateTime={post.published_at}>{dayText(post.published_at)}</time>
        </p>
        <Meter meter={post.meter} testid="post-meter" staff={staff} />
        <PostHtml html={post.html} testid="post-body" />
        {/* Premium readers (no meter) may gift what they read. */}
        {post.meter === null && premium && <GiftButton postId={post.id} />}
      </article>
    );
  } else {
    content = <p>Loading…</p>;
  }

  return (
    <section>
      <button className="link" data-testid="back" onClick={onBack}>← All posts</button>
      {content}
    </section>
  );
}

/**
 * The answer to a 402: the post the reader asked for (its title and
 * excerpt, faded out), why it is closed, when free reads come back, and one
 * primary action, the upgrade.
 */
function Paywall({ code, summary, meter, title, message, hint }: {
  code: "paywall" | "premium_required";
  summary?: Summary;
  meter: MeterData;
  title: string;
  message: string;
  hint: string;
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
          <p data-testid="paywall-message">{message}</p>
          <Meter meter={meter} testid="paywall-meter" />
        </>
      )}
      <p className="hint">{hint}</p>
      {offer && <p className="offer-line" data-testid="paywall-offer">{offer}</p>}
      <UpgradeButton primary />
    </div>
  );
}
