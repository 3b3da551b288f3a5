import { call, client, type OnAuthLost, type Schemas } from "../api/client";
import { dayText } from "../publication";
import { usePagedList } from "../hooks/usePagedList";
import Meter from "./Meter";
import Pager from "./Pager";

/** What the list knows of a post, for the paywall to show if it refuses it, and the page's markup to describe it. */
export type Summary = Pick<Schemas["Summary"], "title" | "excerpt" | "published_at" | "access" | "author">;

/** The part of a listed post that a post's page keeps. */
export const summaryOf = ({ title, excerpt, published_at, access, author }: Summary): Summary =>
  ({ title, excerpt, published_at, access, author });

// GET /blog: listing is never metered, but the answer carries the meter,
// and each post whether it is open to the reader (`unlocked`): a post the
// meter would refuse is marked before the click.
export default function PostList({ onOpen, staff, onAuthLost }: {
  onOpen: (id: number, summary: Summary) => void;
  /** The reader is an author or an admin: unmetered. */
  staff: boolean;
  onAuthLost: OnAuthLost;
}) {
  const list = usePagedList((query) => call(client.GET("/blog", { params: { query } })), [], onAuthLost);
  const { data, error } = list;

  if (error) return <p className="error" data-testid="posts-error">{error.message}</p>;
  if (!data) return <p>Loading posts…</p>;

  return (
    <section>
      <Meter meter={data.meter} testid="meter" staff={staff} />
      <ul className="posts" data-testid="post-list">
        {data.posts.map((p) => (
          <li key={p.id}>
            <button className="link" data-testid={`post-link-${p.id}`}
              onClick={() => onOpen(p.id, summaryOf(p))}>
              {p.title}
            </button>
            {p.access === "premium" && (
              <span className="tag" data-testid={`premium-${p.id}`}> premium</span>
            )}
            {data.meter && p.unlocked && (
              <span className="tag" data-testid={`unlocked-${p.id}`}> unlocked this month</span>
            )}
            {data.meter && !p.unlocked && p.access === "metered" && data.meter.remaining === 0 && (
              // The meter would refuse it: said before the click.
              <span className="tag locked" data-testid={`locked-${p.id}`}> for subscribers this month</span>
            )}
            <time dateTime={p.published_at}>{dayText(p.published_at)}</time>
            <p>{p.excerpt}</p>
          </li>
        ))}
      </ul>
      <Pager paging={list} />
    </section>
  );
}
