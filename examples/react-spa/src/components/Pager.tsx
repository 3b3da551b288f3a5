import type { Paging } from "../hooks/usePagedList";

/** "← Newer   Page 2 of 5   Older →" below a list; nothing while it fits on one page. */
export default function Pager({ paging, previous = "← Newer", next = "Older →" }: {
  paging: Paging;
  previous?: string;
  next?: string;
}) {
  const { page, pages } = paging;
  if (pages <= 1) return null;
  return (
    <nav className="pager">
      <button disabled={page <= 1} onClick={paging.previous}>{previous}</button>
      <span>Page {page} of {pages}</span>
      <button disabled={page >= pages} onClick={paging.next}>{next}</button>
    </nav>
  );
}
