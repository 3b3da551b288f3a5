import { useState } from "react";
import { call, client, type OnAuthLost, type Schemas } from "../api/client";
import { useAction } from "../hooks/useAction";
import { useLoad } from "../hooks/useLoad";
import { day } from "../dates";
import PostHtml from "./PostHtml";
import { Link, postPath, useTitle } from "../router";
import { FREE_READS, joinText } from "../publication";
import { Byline } from "./PostList";
import { Skeleton } from "./Skeleton";

// Gift links: a premium reader shares a post (POST /blog/{id}/gift), sees
// this month's gifts and their readers (GET /gifts), and ends a link
// (DELETE /gifts/{id}); whoever opens {APP_URL}/gift/<token> reads the post
// here without an account (GET /gift/{token}).

type Gift = Schemas["Gift"];
type GiftMeter = Schemas["GiftMeter"];

const left = (meter: GiftMeter) =>
  `${meter.remaining} of ${meter.limit} gift${meter.limit === 1 ? "" : "s"} left this month`;

/**
 * A gift link made: the whole link on view (it wraps rather than hides in
 * a field), "Copy link" that says when it has, and the phone's own share
 * sheet where the browser has one.
 */
function ShareLink({ url, title }: { url: string; title: string }) {
  const [copied, setCopied] = useState(false);
  const canShare = typeof navigator.share === "function";
  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 2500);
    } catch {
      // No clipboard (an insecure page, a refusal): the link is on view to select.
    }
  }
  return (
    <div className="share">
      <a className="share-url" href={url} data-testid="gift-url">{url}</a>
      <div className="share-actions">
        {canShare && (
          <button type="button" className="primary" data-testid="gift-share"
            onClick={() => navigator.share({ title, url }).catch(() => {})}>Share…</button>
        )}
        <button type="button" data-testid="gift-copy" onClick={copy}>{copied ? "Copied" : "Copy link"}</button>
        <span className="visually-hidden" role="status">{copied ? "Link copied" : ""}</span>
      </div>
    </div>
  );
}

/** "Gift this post", under a post a subscriber opened. */
export function GiftButton({ postId, post }: { postId: number; post: string }) {
  const [made, setMade] = useState<{ gift: Gift; gifts: GiftMeter } | null>(null);
  const { busy, error, run } = useAction();

  const gift = () =>
    run(async () => setMade(await call(client.POST("/blog/{id}/gift", { params: { path: { id: String(postId) } } }))));

  return (
    <div className="gift" data-testid="gift">
      {made ? (
        <>
          <p>Anyone with this link can read “{post}” until {day(made.gift.expires_at)}, without an account:</p>
          <ShareLink url={made.gift.url} title={post} />
          <p className="hint" data-testid="gift-left">{left(made.gifts)}</p>
        </>
      ) : (
        <button type="button" data-testid="gift-button" disabled={busy} onClick={gift}>
          {busy ? "Making the link…" : "Gift this post"}
        </button>
      )}
      {error && <p className="error" role="alert" data-testid="gift-error">{error}</p>}
    </div>
  );
}

/** "Your gifts this month", on the account page of a premium reader. */
export function MyGifts({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const { data, error, reload } = useLoad(() => call(client.GET("/gifts")), [], onAuthLost);
  // The gifts name their posts by id: the titles come from the listing (never metered).
  const titles = useLoad(async () => {
    const list = await call(client.GET("/blog", { params: { query: { per_page: 100 } } }));
    return new Map(list.posts.map((p) => [p.id, { title: p.title, slug: p.slug }]));
  }, []);
  const revoking = useAction();

  const revoke = (id: number) =>
    revoking.run(async () => {
      await call(client.DELETE("/gifts/{id}", { params: { path: { id } } }));
      await reload();
    });

  return (
    <section className="card" data-testid="my-gifts">
      <h2>Your gifts this month</h2>
      {error && <p className="error">{error.message}</p>}
      {revoking.error && <p className="error" role="alert">{revoking.error}</p>}
      {data && (
        <>
          <p className="hint" data-testid="my-gifts-left">{left(data.meter)}</p>
          {data.gifts.length === 0 ? (
            <p>Open a post and choose "Gift this post" to share it with anyone.</p>
          ) : (
            <table>
              <thead>
                <tr><th>Post</th><th>Readers</th><th>Until</th><th><span className="visually-hidden">Actions</span></th></tr>
              </thead>
              <tbody>
                {data.gifts.map((gift) => (
                  <tr key={gift.id} data-testid="gift-row">
                    <td data-label="Post">
                      {titles.data?.get(gift.post_id) ? (
                        <Link href={postPath(titles.data.get(gift.post_id)!.slug)}>{titles.data.get(gift.post_id)!.title}</Link>
                      ) : titles.loading ? "…" : "An earlier post"}
                    </td>
                    <td data-label="Readers" data-testid="gift-readers">{gift.readers}</td>
                    <td data-label="Until">{gift.revoked ? "Revoked" : day(gift.expires_at)}</td>
                    <td>
                      {!gift.revoked && (
                        <button type="button" data-testid="gift-revoke" onClick={() => revoke(gift.id)}>End this link</button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

/** What a gift link that no longer opens says, by the server's code. */
function closedGift(code: string): { title: string; text: string } {
  if (code === "gift_expired") return { title: "This gift link has expired", text: "Gift links work for a limited time." };
  if (code === "gift_exhausted") return { title: "This gift link has been used up", text: "It has reached the most readers one link can have." };
  if (code === "not_found") return { title: "This gift link doesn't work", text: "It may have been ended by the person who shared it, or mistyped." };
  return { title: "This post can't be opened right now", text: "Please try again in a moment." };
}

/** `{APP_URL}/gift/<token>`: the gifted post, for anyone, and the offer of an account. */
export function GiftPage({ token }: { token: string }) {
  const { data, error } = useLoad(
    () => call(client.GET("/gift/{token}", { params: { path: { token } } })),
    [token],
  );
  useTitle(data?.post.title ?? (error ? closedGift(error.code).title : undefined));
  const closed = error && closedGift(error.code);
  return (
    <section className="gift-page" data-testid="gift-page">
      {closed && (
        <div className="paywall" data-testid="gift-page-error" data-code={error.code}>
          <h2>{closed.title}</h2>
          <p>{closed.text} You can still read {FREE_READS} posts a month with a free account.</p>
        </div>
      )}
      {!data && !error && <article aria-busy="true"><Skeleton lines={8} /></article>}
      {data && (
        <article>
          <p className="hint" data-testid="gift-from">
            A gift from {data.gift.from.username}: free to read until {day(data.gift.expires_at)}.
          </p>
          <h2 data-testid="gift-title">{data.post.title}</h2>
          <Byline post={data.post} />
          <PostHtml html={data.post.html} testid="gift-body" />
        </article>
      )}
      <div className="offer-box" data-testid="gift-offer">
        <p><strong>{joinText()}.</strong></p>
        <Link className="button primary" href="/join" data-testid="gift-join">Create a free account</Link>
        <p className="hint">Already have one? <Link href="/login">Log in</Link></p>
      </div>
    </section>
  );
}
