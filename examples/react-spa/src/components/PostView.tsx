import { useEffect, useState } from "react";
import { ApiError, asApiError, call, client, type OnAuthLost, type Post } from "../api/client";
import Meter from "./Meter";
import PostHtml from "./PostHtml";
import { UpgradeButton } from "./Billing";

type State = { status: "loading" } | { status: "ok"; post: Post } | { status: "error"; err: ApiError };

// GET /blog/{id}: the metered read. A 402 is either the paywall (the month's
// free reads are used up) or a premium post opened on the free plan; neither
// spends a read.
export default function PostView({ id, onBack, onAuthLost }: {
  id: number;
  onBack: () => void;
  onAuthLost: OnAuthLost;
}) {
  const [state, setState] = useState<State>({ status: "loading" });

  useEffect(() => {
    let current = true;
    setState({ status: "loading" });
    call(client.GET("/blog/{id}", { params: { path: { id: String(id) } } }))
      .then((post) => current && setState({ status: "ok", post }))
      .catch((caught: unknown) => {
        if (!current) return;
        const err = asApiError(caught);
        setState({ status: "error", err });
        onAuthLost(err);
      });
    return () => {
      current = false;
    };
  }, [id, onAuthLost]);

  let content;
  if (state.status === "loading") {
    content = <p>Loading…</p>;
  } else if (state.status === "ok") {
    const { post } = state;
    content = (
      <article data-testid="post">
        <h2 data-testid="post-title">{post.title}</h2>
        <time dateTime={post.published_at}>{new Date(post.published_at).toLocaleDateString()}</time>
        <Meter meter={post.meter} testid="post-meter" />
        <PostHtml html={post.html} testid="post-body" />
      </article>
    );
  } else if (state.err.code === "premium_required") {
    content = (
      <div className="paywall" data-testid="paywall" data-code={state.err.code}>
        <h2 data-testid="paywall-title">Premium post</h2>
        <p data-testid="paywall-message">{state.err.message}</p>
        <p className="hint">Opening it used none of your free reads.</p>
        <Meter meter={state.err.meter} testid="paywall-meter" />
        <UpgradeButton />
      </div>
    );
  } else if (state.err.code === "paywall") {
    content = (
      <div className="paywall" data-testid="paywall" data-code={state.err.code}>
        <h2 data-testid="paywall-title">Paywall</h2>
        <p data-testid="paywall-message">{state.err.message}</p>
        <Meter meter={state.err.meter} testid="paywall-meter" />
        <p className="hint">Posts you already opened this month stay free to re-read.</p>
        <UpgradeButton />
      </div>
    );
  } else {
    content = <p className="error" data-testid="post-error">{state.err.message}</p>;
  }

  return (
    <section>
      <button className="link" data-testid="back" onClick={onBack}>← All posts</button>
      {content}
    </section>
  );
}
