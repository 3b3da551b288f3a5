import { call, client, type PostList } from "./api/client";
import { postSlug } from "./router";
import type { Summary } from "./components/PostList";

// What a page asks the server as it opens, before anyone knows whether the
// browser is signed in: the session check and the posts the address shows
// go out together, since the cookie decides both answers the same way.

type Early = { blog?: Promise<PostList>; post?: { slug: string; answer: ReturnType<typeof readPost> } };

const readPost = (id: string) => call(client.GET("/blog/{id}", { params: { path: { id } } }));

const early: Early = {};
{
  const path = window.location.pathname;
  const slug = postSlug(path);
  if (path === "/") early.blog = call(client.GET("/blog", { params: { query: { page: 1, per_page: 20 } } }));
  else if (slug) early.post = { slug, answer: readPost(slug) };
  // A visitor's front page and its forms, fetched beside the session
  // check (a signed-in reader's browser keeps them for later).
  if (path === "/" || path === "/login" || path === "/join") {
    void import("./components/SignedOut").catch(() => {});
  }
  // Settled by whoever takes them; an unheard rejection must not reach the console.
  early.blog?.catch(() => {});
  early.post?.answer.catch(() => {});
}

/** The first page of posts (20 a page), taken once: the request that went out as the page opened, or a new one. */
export function firstListing(): Promise<PostList> | null {
  const answer = early.blog ?? null;
  early.blog = undefined;
  return answer;
}

/** The post `slug`, taken once: the request that went out as the page opened, or a new one. */
export function openPost(slug: string): ReturnType<typeof readPost> {
  const pending = early.post;
  early.post = undefined;
  return pending?.slug === slug ? pending.answer : readPost(slug);
}

// What the lists showed of each post: a post's page opened from a list
// describes the post (and shows it behind a wall) before its own answer.
const summaries = new Map<string, Summary>();

export function remember(posts: (Summary & { slug: string })[]): void {
  for (const p of posts) summaries.set(p.slug, p);
}

export function summaryFor(slug: string): Summary | undefined {
  return summaries.get(slug);
}
