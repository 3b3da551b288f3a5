import { useState } from "react";
import { call, client, type OnAuthLost, type PostStatus } from "../api/client";
import { day } from "../dates";
import { usePagedList } from "../hooks/usePagedList";
import Pager from "./Pager";
import { Link } from "../router";

const FILTERS: { status: PostStatus | null; label: string; empty: string }[] = [
  { status: null, label: "All", empty: "No posts yet." },
  { status: "draft", label: "Drafts", empty: "No drafts." },
  { status: "scheduled", label: "Scheduled", empty: "Nothing scheduled." },
  { status: "published", label: "Published", empty: "Nothing published yet." },
];

// GET /posts: the caller's posts at every stage (an admin's: everyone's),
// most recently updated first, filtered by `status`, a page at a time.
export default function MyPosts({ everyone, onAuthLost }: {
  /** The caller is an admin: the list holds every author's posts. */
  everyone: boolean;
  onAuthLost: OnAuthLost;
}) {
  const [status, setStatus] = useState<PostStatus | null>(null);
  const list = usePagedList(
    (paging) => call(client.GET("/posts", { params: { query: { ...paging, ...(status ? { status } : {}) } } })),
    [status],
    onAuthLost,
  );
  const { data, error } = list;

  function filter(next: PostStatus | null) {
    setStatus(next);
    list.setPage(1);
  }

  const shown = FILTERS.find((f) => f.status === status) ?? FILTERS[0]!;
  return (
    <section data-testid="my-posts">
      <h2>{everyone ? "All posts" : "My posts"}</h2>
      <div className="filters" role="group" aria-label="Show">
        {FILTERS.map((f) => (
          <button key={f.label} className={f.status === status ? "active" : ""} aria-pressed={f.status === status}
            data-testid={`mine-filter-${f.status ?? "all"}`} onClick={() => filter(f.status)}>
            {f.label}
          </button>
        ))}
      </div>
      {error && <p className="error" data-testid="mine-error">{error.message}</p>}
      {!data ? (
        !error && <p>Loading your posts…</p>
      ) : data.posts.length === 0 ? (
        <p className="hint" data-testid="mine-empty">{shown.empty}</p>
      ) : (
        <ul className="posts" data-testid="mine-list" data-status={status ?? "all"}>
          {data.posts.map((p) => (
            <li key={p.id} data-testid="mine-row" data-id={p.id} data-status={p.status}>
              <h3><Link href={`/write/${p.id}`} data-testid={`mine-open-${p.id}`}>{p.title}</Link></h3>
              <p className="meta">
                <span className={`status ${p.status}`}>{p.status}</span>{" "}
                <span className="tag">{p.access}</span>
                {everyone && p.author && <span className="tag"> · by {p.author.username}</span>}
                <span className="tag">
                  {" · "}
                  {p.published_at
                    ? `${p.status === "scheduled" ? "appears" : "published"} ${day(p.published_at)}`
                    : `edited ${day(p.updated_at)}`}
                </span>
              </p>
              <p>{p.excerpt}</p>
            </li>
          ))}
        </ul>
      )}
      <Pager paging={list} previous="← Previous" next="Next →" />
    </section>
  );
}
