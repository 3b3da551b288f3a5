import { useEffect, useState } from "react";
import { ApiError, asApiError, call, client, type OnAuthLost, type Post } from "../api/client";
import Meter from "./Meter";
import { UpgradeButton } from "./Billing";

type State = { status: "loading" } | { status: "ok"; post: Post } | { status: "error"; err: ApiError };

// GET /blog/{id}: the metered read. 402 means the month's free reads are used up.
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
        {/* The server renders the Markdown when the post is saved and
            sanitizes it by an allowlist (no script, no event handlers, no
            javascript: URLs), so its html is safe to insert as it is. */}
        <div data-testid="post-body" dangerouslySetInnerHTML={{ __html: post.html }} />
      </article>
    );
  } else if (state.err.code === "paywall" || state.err.code === "premium_required") {
    content = (
      <div className="paywall" data-testid="paywall">
        <h2>Paywall</h2>
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
