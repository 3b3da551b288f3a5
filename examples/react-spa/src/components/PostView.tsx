import { lazy, Suspense } from "react";
import type { OnAuthLost, User } from "../api/client";
import { Byline } from "./PostList";
import { useLoad } from "../hooks/useLoad";
import { openPost, summaryFor } from "../early";
import { Link, useTitle } from "../router";
import Meter from "./Meter";
import PostHtml from "./PostHtml";
import ArticleMarkup, { POST_BODY_CLASS } from "./ArticleMarkup";
import { Skeleton } from "./Skeleton";

// The walls, their forms and the plans load with the first wall a reader meets.
const Wall = lazy(() => import("./Walls"));
// Gifting is for subscribers: loaded under the first post a subscriber opens.
const GiftButton = lazy(() => import("./Gifts").then((m) => ({ default: m.GiftButton })));

// GET /blog/{slug}: the metered read, at the post's own address. A 402 is
// the paywall (the month's free reads are used up), a premium post opened
// on the free plan, or — for a browser without an account — the
// registration wall; none spends a read. Without an account (`onSignedIn`
// given) the server reads on the browser's own meter when it lets browsers
// read (ANONYMOUS_READS), and answers 401 when it reads to members only:
// then the page asks the reader to sign in, and stays on the post.
export default function PostView({ slug, premium, staff, onAuthLost, onSignedIn }: {
  slug: string;
  /** The reader is on the premium plan, and so may gift posts. */
  premium: boolean;
  /** The reader is an author or an admin: unmetered. */
  staff: boolean;
  onAuthLost?: OnAuthLost;
  /** The reader has no account: the walls offer one, and this hears the sign-in. */
  onSignedIn?: (user: User) => void;
}) {
  const { data: post, error } = useLoad(() => openPost(slug), [slug], onAuthLost);
  // What a list showed of the post: the walls show it, faded, and the markup describes it.
  const summary = summaryFor(slug);
  const signedOut = onSignedIn !== undefined;
  useTitle(post?.title ?? summary?.title ?? (error?.status === 404 ? "Post not found" : undefined));

  const walled = error && (error.status === 402 || (error.status === 401 && signedOut));

  let content;
  if (walled) {
    content = <Wall error={error} summary={summary} onSignedIn={onSignedIn} />;
  } else if (error?.status === 404) {
    content = (
      <p className="empty" data-testid="post-error">
        There is no post at this address. It may have been unpublished or moved.
      </p>
    );
  } else if (error) {
    content = <p className="error" data-testid="post-error">{error.message}</p>;
  } else if (post) {
    content = (
      <article data-testid="post" data-access={post.access}>
        <ArticleMarkup post={post} bodyShown />
        <h2 data-testid="post-title">{post.title}</h2>
        <div data-testid="post-byline"><Byline post={post} /></div>
        <Meter meter={post.meter} testid="post-meter" staff={staff} signedOut={signedOut} />
        <PostHtml html={post.html} testid="post-body" className={POST_BODY_CLASS} />
        {/* Premium readers (no meter) may gift what they read. */}
        {post.meter === null && premium && (
          <Suspense fallback={null}><GiftButton postId={post.id} post={post.title} /></Suspense>
        )}
      </article>
    );
  } else {
    content = (
      <article aria-busy="true">
        {summary ? <h2>{summary.title}</h2> : <Skeleton lines={1} />}
        <Skeleton lines={8} />
      </article>
    );
  }

  return (
    <section>
      <Link className="back" data-testid="back" href="/">← All posts</Link>
      {/* Closed or not, the page describes the post it stands for. */}
      {!post && error && summary && error.status !== 404 && <ArticleMarkup post={summary} bodyShown={false} />}
      <Suspense fallback={<Skeleton lines={6} />}>{content}</Suspense>
    </section>
  );
}

