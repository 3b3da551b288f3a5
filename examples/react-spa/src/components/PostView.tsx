import { call, client, type OnAuthLost } from "../api/client";
import { useLoad } from "../hooks/useLoad";
import Meter from "./Meter";
import PostHtml from "./PostHtml";
import { UpgradeButton } from "./Billing";
import { GiftButton } from "./Gifts";

// GET /blog/{id}: the metered read. A 402 is either the paywall (the month's
// free reads are used up) or a premium post opened on the free plan; neither
// spends a read.
export default function PostView({ id, premium, onBack, onAuthLost }: {
  id: number;
  /** The reader is on the premium plan, and so may gift posts. */
  premium: boolean;
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
      <div className="paywall" data-testid="paywall" data-code={error.code}>
        <h2 data-testid="paywall-title">Premium post</h2>
        <p data-testid="paywall-message">{error.message}</p>
        <p className="hint">Opening it used none of your free reads.</p>
        <Meter meter={error.meter} testid="paywall-meter" />
        <UpgradeButton />
      </div>
    );
  } else if (error?.code === "paywall") {
    content = (
      <div className="paywall" data-testid="paywall" data-code={error.code}>
        <h2 data-testid="paywall-title">Paywall</h2>
        <p data-testid="paywall-message">{error.message}</p>
        <Meter meter={error.meter} testid="paywall-meter" />
        <p className="hint">Posts you already opened this month stay free to re-read.</p>
        <UpgradeButton />
      </div>
    );
  } else if (error) {
    content = <p className="error" data-testid="post-error">{error.message}</p>;
  } else if (post) {
    content = (
      <article data-testid="post">
        <h2 data-testid="post-title">{post.title}</h2>
        <time dateTime={post.published_at}>{new Date(post.published_at).toLocaleDateString()}</time>
        <Meter meter={post.meter} testid="post-meter" />
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
