// A post's body as the server rendered it. The server turns the Markdown
// into HTML when the post is saved and sanitizes it by an allowlist (no
// script, no event handlers, no javascript: URLs, links with
// rel="noopener noreferrer nofollow"), so its html is safe to insert as it
// is. This is the one place the app inserts HTML: the reader's view and the
// author's preview both show a post through it.
export default function PostHtml({ html, testid, className }: { html: string; testid: string; className?: string }) {
  return (
    <div className={className ? `post-html ${className}` : "post-html"} data-testid={testid}
      dangerouslySetInnerHTML={{ __html: html }} />
  );
}
