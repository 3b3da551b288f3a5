import type { Post } from "../api/client";

/** The class of a post's body on its page: what the markup names as the part behind the meter. */
export const POST_BODY_CLASS = "post-body";

/** What the page knows of the post: all of it once open, the list's summary on a wall. */
export type Described = Pick<Post, "title" | "published_at" | "access" | "author"> &
  Partial<Pick<Post, "excerpt" | "updated_at">>;

/**
 * A post page's schema.org markup (JSON-LD), as search engines ask of
 * paywalled articles. A crawler opens a post with a fresh browser's free
 * reads and is shown the body, while a reader past the meter meets a wall:
 * `isAccessibleForFree: false` on every post that is not `free` tells them
 * this is a paywall, not a page that shows crawlers something else
 * (cloaking). `hasPart` names the element holding the body behind the
 * meter, and only while that element is on the page (`bodyShown`): a
 * selector must match the part it marks, and a wall holds no body, only
 * the free title and excerpt, which must not be marked paywalled.
 */
export default function ArticleMarkup({ post, bodyShown }: { post: Described; bodyShown: boolean }) {
  const free = post.access === "free";
  const data = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    headline: post.title,
    ...(post.excerpt ? { description: post.excerpt } : {}),
    datePublished: post.published_at,
    ...(post.updated_at ? { dateModified: post.updated_at } : {}),
    ...(post.author ? { author: { "@type": "Person", name: post.author.username } } : {}),
    isAccessibleForFree: free,
    ...(!free && bodyShown
      ? { hasPart: { "@type": "WebPageElement", isAccessibleForFree: false, cssSelector: `.${POST_BODY_CLASS}` } }
      : {}),
  };
  // "<" escaped: a title holding "</script>" cannot end the element when
  // the rendered page is saved as HTML (as a crawler keeps it).
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return <script type="application/ld+json" data-testid="article-markup">{json}</script>;
}
