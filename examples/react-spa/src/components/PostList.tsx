import { call, client, type OnAuthLost } from "../api/client";
import { usePagedList } from "../hooks/usePagedList";
import Meter from "./Meter";
import Pager from "./Pager";

// GET /blog: listing is never metered, but the answer carries the meter.
export default function PostList({ onOpen, onAuthLost }: {
  onOpen: (id: number) => void;
  onAuthLost: OnAuthLost;
}) {
  const list = usePagedList((query) => call(client.GET("/blog", { params: { query } })), [], onAuthLost);
  const { data, error } = list;

  if (error) return <p className="error" data-testid="posts-error">{error.message}</p>;
  if (!data) return <p>Loading posts…</p>;

  return (
    <section>
      <Meter meter={data.meter} testid="meter" />
      <ul className="posts" data-testid="post-list">
        {data.posts.map((p) => (
          <li key={p.id}>
            <button className="link" data-testid={`post-link-${p.id}`} onClick={() => onOpen(p.id)}>
              {p.title}
            </button>
            {p.access === "premium" && (
              <span className="tag" data-testid={`premium-${p.id}`}> premium</span>
            )}
            {data.meter && p.unlocked && (
              <span className="tag" data-testid={`unlocked-${p.id}`}> unlocked this month</span>
            )}
            <time dateTime={p.published_at}>{new Date(p.published_at).toLocaleDateString()}</time>
            <p>{p.excerpt}</p>
          </li>
        ))}
      </ul>
      <Pager paging={list} />
    </section>
  );
}
