import type { ReactNode } from "react";
import { asApiError, call, client, type PostList } from "../api/client";
import { useLoad } from "../hooks/useLoad";
import { PUBLICATION, dayText, offerText } from "../publication";
import { offerLine, usePrices } from "../prices";

/**
 * What a visitor who is not signed in sees: the publication's name and its
 * offer, the latest posts when the server lists them publicly
 * (PUBLIC_LISTING=true; otherwise the listing answers 401 and none are
 * shown), and the sign-in forms (`children`).
 */
export default function FrontPage({ children }: { children: ReactNode }) {
  const offer = offerLine(usePrices());
  return (
    <section className="front" data-testid="front-page">
      <header className="masthead">
        <h1 data-testid="publication">{PUBLICATION}</h1>
        <p className="offer" data-testid="offer">{offerText()}</p>
        {offer && <p className="hint" data-testid="front-offer">{offer}</p>}
      </header>
      <div className="front-grid">
        <div className="front-forms">{children}</div>
        <LatestPosts />
      </div>
    </section>
  );
}

/** The first page of posts, when the listing is public; nothing otherwise. */
function LatestPosts() {
  const { data } = useLoad<PostList | null>(
    () =>
      call(client.GET("/blog", { params: { query: { per_page: 6 } } })).catch((caught: unknown) => {
        // 401: the listing is for members only. Anything else: no list either.
        if (asApiError(caught).status === 401) return null;
        throw caught;
      }),
    [],
  );
  if (!data || data.posts.length === 0) return null;
  return (
    <section className="latest" aria-labelledby="latest-title" data-testid="public-posts">
      <h2 id="latest-title">Latest</h2>
      <ul className="posts">
        {data.posts.map((p) => (
          <li key={p.id} data-testid={`public-post-${p.id}`}>
            <h3>{p.title}</h3>
            <p className="byline">
              {p.author && <span>By {p.author.username} · </span>}
              <time dateTime={p.published_at}>{dayText(p.published_at)}</time>
              {p.access === "premium" && <span className="tag"> · for subscribers</span>}
            </p>
            <p>{p.excerpt}</p>
          </li>
        ))}
      </ul>
      <p className="hint">Sign in or create a free account to read them.</p>
    </section>
  );
}
