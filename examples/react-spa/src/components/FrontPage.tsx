import { useEffect, useState, type ReactNode } from "react";
import { asApiError, call, client, type PostList } from "../api/client";
import { useLoad } from "../hooks/useLoad";
import { PUBLICATION, offerText } from "../publication";
import { offerLine, usePrices } from "../prices";
import { readerMeterText } from "../meter";
import { Byline } from "./PostList";
import { firstListing, remember } from "../early";
import { Link, postPath } from "../router";
import { PostsSkeleton } from "./Skeleton";

/** How long the sign-in forms wait for the listing at most. */
const LISTING_WAIT_MS = 1500;

/**
 * What a visitor who is not signed in sees: the publication's name and its
 * offer, the latest posts when the server lists them publicly
 * (PUBLIC_LISTING=true; otherwise the listing answers 401 and none are
 * shown), and the sign-in forms (`children`). A title opens its post
 * (`onOpen`): the server reads it to a browser without an account when it
 * lets one read (ANONYMOUS_READS), or the post's page asks to sign in.
 */
export default function FrontPage({ children }: { children: ReactNode }) {
  const prices = usePrices();
  const offer = offerLine(prices);
  const latest = useLoad<PostList | null>(
    () =>
      (firstListing() ?? call(client.GET("/blog", { params: { query: { per_page: 6 } } }))).catch((caught: unknown) => {
        // 401: the listing is for members only. Anything else: no list either.
        if (asApiError(caught).status === 401) return null;
        throw caught;
      }),
    [],
  );
  const posts = latest.data?.posts.slice(0, 6) ?? [];
  // A listing that has not answered by then no longer holds the forms back.
  const [waited, setWaited] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setWaited(true), LISTING_WAIT_MS);
    return () => window.clearTimeout(timer);
  }, []);
  return (
    <section className="front" data-testid="front-page">
      <header className="masthead">
        <h1 data-testid="publication">{PUBLICATION}</h1>
        <p className="offer" data-testid="offer">{offerText()}</p>
        {offer ? (
          <p className="hint" data-testid="front-offer">{offer}</p>
        ) : (
          // Its line is kept while the prices are on their way, so that
          // their arrival does not move the form under a visitor's pointer.
          prices === null && <p className="hint" aria-hidden="true">&nbsp;</p>
        )}
      </header>
      {latest.loading && !waited ? (
        // The forms wait for the listing: alone they are centred, beside
        // it they move to its left, and a form that moved as it was
        // clicked would lose the click.
        <div className="front-grid"><div className="front-forms" /><PostsSkeleton count={3} /></div>
      ) : (
        <div className="front-grid">
          <div className="front-forms">{children}</div>
          {latest.data && posts.length > 0 && <LatestPosts list={{ ...latest.data, posts }} />}
        </div>
      )}
    </section>
  );
}

/**
 * The first page of posts, when the listing is public. The listing's meter
 * is the browser's own when the server lets browsers read without an
 * account (null otherwise): then the line above the posts counts its free
 * posts, and the posts it opened are marked.
 */
function LatestPosts({ list }: { list: PostList }) {
  const { posts, meter } = list;
  remember(posts);
  return (
    <section className="latest" aria-labelledby="latest-title" data-testid="public-posts">
      <h2 id="latest-title">Latest</h2>
      {meter && (
        <p className="meter" data-testid="public-meter" data-used={meter.used} data-limit={meter.limit}>
          {meter.used === 0 ? `${meter.limit} free post${meter.limit === 1 ? "" : "s"} a month, no account needed` : readerMeterText(meter)}
        </p>
      )}
      <ul className="posts">
        {posts.map((p) => (
          <li key={p.id} data-testid={`public-post-${p.id}`} data-access={p.access}>
            <h3>
              <Link href={postPath(p.slug)} data-testid={`read-post-${p.id}`}>{p.title}</Link>
            </h3>
            <Byline post={p}>
              {p.access === "premium" && <span className="tag">for subscribers</span>}
              {meter && p.unlocked && p.access === "metered" && (
                <span className="tag" data-testid={`public-opened-${p.id}`}>opened this month</span>
              )}
            </Byline>
            <p>{p.excerpt}</p>
          </li>
        ))}
      </ul>
      {!meter && <p className="hint">Sign in or create a free account to read them.</p>}
    </section>
  );
}
