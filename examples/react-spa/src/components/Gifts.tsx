import { useState } from "react";
import { call, client, type OnAuthLost, type Schemas } from "../api/client";
import { useAction } from "../hooks/useAction";
import { useLoad } from "../hooks/useLoad";
import { day } from "../dates";
import PostHtml from "./PostHtml";

// Gift links: a premium reader shares a post (POST /blog/{id}/gift), sees
// this month's gifts and their readers (GET /gifts), and ends a link
// (DELETE /gifts/{id}); whoever opens {APP_URL}/gift/<token> reads the post
// here without an account (GET /gift/{token}).

type Gift = Schemas["Gift"];
type GiftMeter = Schemas["GiftMeter"];

const left = (meter: GiftMeter) =>
  `${meter.remaining} of ${meter.limit} gift${meter.limit === 1 ? "" : "s"} left this month`;

/** "Gift this post", under a post a premium reader opened. */
export function GiftButton({ postId }: { postId: number }) {
  const [made, setMade] = useState<{ gift: Gift; gifts: GiftMeter } | null>(null);
  const { busy, error, run } = useAction();

  const gift = () =>
    run(async () => setMade(await call(client.POST("/blog/{id}/gift", { params: { path: { id: String(postId) } } }))));

  return (
    <div className="gift" data-testid="gift">
      {made ? (
        <>
          <label htmlFor="gift-url">Anyone with this link can read the post until {day(made.gift.expires_at)}:</label>
          <input id="gift-url" data-testid="gift-url" readOnly value={made.gift.url} onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => navigator.clipboard?.writeText(made.gift.url)}>Copy the link</button>
          <p className="hint" data-testid="gift-left">{left(made.gifts)}</p>
        </>
      ) : (
        <button type="button" data-testid="gift-button" disabled={busy} onClick={gift}>
          {busy ? "…" : "Gift this post"}
        </button>
      )}
      {error && <p className="error" role="alert" data-testid="gift-error">{error}</p>}
    </div>
  );
}

/** "Your gifts this month", on the account page of a premium reader. */
export function MyGifts({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const { data, error, reload } = useLoad(() => call(client.GET("/gifts")), [], onAuthLost);
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
                    <td>#{gift.post_id}</td>
                    <td data-testid="gift-readers">{gift.readers}</td>
                    <td>{gift.revoked ? "Revoked" : day(gift.expires_at)}</td>
                    <td>
                      {!gift.revoked && (
                        <button type="button" data-testid="gift-revoke" onClick={() => revoke(gift.id)}>Revoke</button>
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

/** The token of a gift link's page (`/gift/<token>`). */
export function giftToken(path: string): string | null {
  const match = /^\/gift\/([^/]+)$/.exec(path);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null; // malformed escapes: no token
  }
}

/** `{APP_URL}/gift/<token>`: the gifted post, for anyone, and an invitation. */
export function GiftPage({ token }: { token: string }) {
  const { data, error } = useLoad(
    () => call(client.GET("/gift/{token}", { params: { path: { token } } })),
    [token],
  );
  return (
    <section className="card" data-testid="gift-page">
      {error && <p className="error" data-testid="gift-page-error">{error.message}</p>}
      {!data && !error && <p>Loading…</p>}
      {data && (
        <article>
          <p className="hint" data-testid="gift-from">
            A gift from {data.gift.from.username}: read it free until {day(data.gift.expires_at)}.
          </p>
          <h2 data-testid="gift-title">{data.post.title}</h2>
          <PostHtml html={data.post.html} testid="gift-body" />
        </article>
      )}
      <p>
        <a href="/?join" data-testid="gift-join">Create a free account</a> to read more.
      </p>
    </section>
  );
}
