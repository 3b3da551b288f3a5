import { useEffect, useState } from "react";
import { asApiError, call, client, type OnAuthLost, type PostList as PostListData } from "../api/client";
import Meter from "./Meter";

const PER_PAGE = 20;

// GET /blog: listing is never metered, but the answer carries the meter.
export default function PostList({ onOpen, onAuthLost }: {
  onOpen: (id: number) => void;
  onAuthLost: OnAuthLost;
}) {
  const [page, setPage] = useState(1);
  const [data, setData] = useState<PostListData | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    call(client.GET("/blog", { params: { query: { page, per_page: PER_PAGE } } }))
      .then((d) => current && setData(d))
      .catch((caught: unknown) => {
        if (!current) return;
        const err = asApiError(caught);
        setError(err.message);
        onAuthLost(err);
      });
    return () => {
      current = false;
    };
  }, [page, onAuthLost]);

  if (error) return <p className="error" data-testid="posts-error">{error}</p>;
  if (!data) return <p>Loading posts…</p>;

  const pages = Math.max(1, Math.ceil(data.total / data.per_page));
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
      {pages > 1 && (
        <nav className="pager">
          <button disabled={page <= 1} onClick={() => setPage(page - 1)}>← Newer</button>
          <span>Page {page} of {pages}</span>
          <button disabled={page >= pages} onClick={() => setPage(page + 1)}>Older →</button>
        </nav>
      )}
    </section>
  );
}
