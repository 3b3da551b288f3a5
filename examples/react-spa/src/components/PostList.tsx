import type { ReactNode } from "react";
import { call, client, type OnAuthLost, type Schemas } from "../api/client";
import { dayText } from "../publication";
import { usePagedList } from "../hooks/usePagedList";
import { firstListing, remember } from "../early";
import { Link, postPath } from "../router";
import Meter from "./Meter";
import Pager from "./Pager";
import { PostsSkeleton } from "./Skeleton";

/** What the list knows of a post, for the paywall to show if it refuses it, and the page's markup to describe it. */
export type Summary = Pick<Schemas["Summary"], "title" | "excerpt" | "published_at" | "access" | "author">;

/** "By Alice · Dec 1, 2026" on one line: who wrote it (when the account still exists) and when. */
export function Byline({ post, children }: { post: Summary; children?: ReactNode }) {
  return (
    <p className="byline">
      {post.author && <span className="author">By {post.author.username}</span>}
      <time dateTime={post.published_at}>{dayText(post.published_at)}</time>
      {children}
    </p>
  );
}

// GET /blog: listing is never metered, but the answer carries the meter,
// and each post whether it is open to the reader (`unlocked`): a post the
// meter would refuse is marked before the click. The first page was asked
// for as the page opened, beside the session check.
export default function PostList({ staff, onAuthLost }: {
  /** The reader is an author or an admin: unmetered. */
  staff: boolean;
  onAuthLost: OnAuthLost;
}) {
  const list = usePagedList(
    (query) => (query.page === 1 && firstListing()) || call(client.GET("/blog", { params: { query } })),
    [],
    onAuthLost,
  );
  const { data, error } = list;

  if (error) return <p className="error" data-testid="posts-error">{error.message}</p>;
  if (!data) return <PostsSkeleton />;
  remember(data.posts);

  return (
    <section>
      <h2 className="visually-hidden">Latest posts</h2>
      <Meter meter={data.meter} testid="meter" staff={staff} />
      {data.posts.length === 0 ? (
        <p className="empty" data-testid="posts-empty">Nothing is published yet. New posts will appear here.</p>
      ) : (
        <ul className="posts" data-testid="post-list">
          {data.posts.map((p) => (
            <li key={p.id}>
              <h3>
                <Link href={postPath(p.slug)} data-testid={`post-link-${p.id}`}>{p.title}</Link>
              </h3>
              <Byline post={p}>
                {p.access === "premium" && <span className="tag" data-testid={`premium-${p.id}`}>premium</span>}
                {data.meter && p.unlocked && (
                  <span className="tag" data-testid={`unlocked-${p.id}`}>unlocked this month</span>
                )}
                {data.meter && !p.unlocked && p.access === "metered" && data.meter.remaining === 0 && (
                  // The meter would refuse it: said before the click.
                  <span className="tag locked" data-testid={`locked-${p.id}`}>for subscribers this month</span>
                )}
              </Byline>
              <p>{p.excerpt}</p>
            </li>
          ))}
        </ul>
      )}
      <Pager paging={list} />
    </section>
  );
}
