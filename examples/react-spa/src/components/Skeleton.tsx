/**
 * Grey bars where a page's text is on its way: the page keeps its shape
 * instead of a lone "Loading…". Screen readers hear "Loading".
 */
export function Skeleton({ lines = 3, testid }: { lines?: number; testid?: string }) {
  return (
    <div className="skeleton" role="status" data-testid={testid}>
      <span className="visually-hidden">Loading</span>
      {Array.from({ length: lines }, (_, i) => <span key={i} className="skeleton-line" aria-hidden="true" />)}
    </div>
  );
}

/** A list of posts on its way: a few cards of grey bars. */
export function PostsSkeleton({ count = 4 }: { count?: number }) {
  return (
    <ul className="posts" role="status" aria-label="Loading posts">
      {Array.from({ length: count }, (_, i) => (
        <li key={i} aria-hidden="true" className="skeleton">
          <span className="skeleton-line title" />
          <span className="skeleton-line" />
          <span className="skeleton-line short" />
        </li>
      ))}
    </ul>
  );
}
