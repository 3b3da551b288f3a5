import { useEffect, useState, type FormEvent } from "react";
import {
  asApiError,
  call,
  client,
  type Access,
  type EditablePost,
  type OnAuthLost,
} from "../api/client";
import { useAction } from "../hooks/useAction";
import PostHtml from "./PostHtml";
import { Link } from "../router";
import { Skeleton } from "./Skeleton";

// The author's editor: POST /posts (a new draft), GET /posts/{id} (any
// stage), PATCH /posts/{id}, publish (now, scheduled or back-dated, and
// emailed to the newsletter's subscribers if asked), unpublish and DELETE.
//
// Every save sends the `updated_at` of the version the form started from,
// so a save over a newer one (another editor's, or another tab's) is refused (409 edit_conflict)
// instead of silently overwriting it. Publishing, unpublishing and saving
// each answer the post as stored, whose `updated_at` the next save sends.

/** What the form edits. */
type Draft = { title: string; body: string; excerpt: string; access: Access };

const BLANK: Draft = { title: "", body: "", excerpt: "", access: "metered" };

const draftOf = (post: EditablePost): Draft => ({
  title: post.title,
  body: post.body,
  excerpt: post.excerpt,
  access: post.access,
});

const ACCESS: { value: Access; label: string; means: string }[] = [
  { value: "free", label: "Free", means: "Everyone signed in reads it without using a free read." },
  { value: "metered", label: "Metered", means: "Free readers spend one of their monthly free reads on it." },
  { value: "premium", label: "Premium", means: "Premium members only; free readers are offered the upgrade." },
];

/** The fields a 422 may name that the form shows next to an input. */
const SHOWN_FIELDS = ["title", "body", "excerpt", "access", "at"];

const when = (t: string) => new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A `datetime-local` value (the browser's local time) as the API's UTC time. */
function utc(local: string): string | null {
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Where the post's newsletter is: waiting for readers to see the post,
 * "Sending: 3 of 40", "Sent to 40 of 40 subscribers". Null when the post
 * was never asked to be emailed.
 */
function emailText(post: EditablePost): string | null {
  const email = post.email;
  if (!email) return null;
  if (email.status === "pending") {
    return post.status === "scheduled"
      ? "Emailing to subscribers: waiting for the post's time"
      : "Emailing to subscribers: starting now";
  }
  if (email.status === "sending") return `Sending: ${email.sent} of ${email.recipients}`;
  if (email.recipients === 0) return "Sent to no one: nobody took the newsletter at a verified address";
  return `Sent to ${email.sent} of ${email.recipients} subscriber${email.recipients === 1 ? "" : "s"}`;
}

/**
 * How often the post is asked for again while its email is on its way, so
 * that the count moves: every few seconds once readers can see it, now and
 * then while it waits for a scheduled time (which may pass with the page
 * open). Null when there is nothing to follow.
 */
function emailRefresh(post: EditablePost | null): number | null {
  if (!post?.email || post.email.status === "sent") return null;
  return post.email.status === "pending" && post.status === "scheduled" ? 60_000 : 3_000;
}

/** "Draft", "Scheduled for …", "Published …". */
function statusText(post: EditablePost): string {
  if (post.status === "draft" || !post.published_at) return "Draft";
  if (post.status === "scheduled") return `Scheduled for ${when(post.published_at)}`;
  return `Published ${when(post.published_at)}`;
}

export default function Editor({ id, onClose, onAuthLost }: {
  /** The post to open; null for a new one. */
  id: number | null;
  /** Back to the list (after a delete too). */
  onClose: () => void;
  onAuthLost: OnAuthLost;
}) {
  // The post as the server last answered it: its updated_at is the version
  // the next save starts from, its html the preview.
  const [saved, setSaved] = useState<EditablePost | null>(null);
  const [draft, setDraft] = useState<Draft>(BLANK);
  const [loading, setLoading] = useState(id !== null);
  // Why the post could not be opened.
  const [loadError, setLoadError] = useState<string | null>(null);
  const [tab, setTab] = useState<"write" | "preview">("write");
  const [notice, setNotice] = useState<string | null>(null);
  // Set when a save met a newer version: the server's sentence. It stays
  // through other attempts, until the newer version is loaded.
  const [conflict, setConflict] = useState<string | null>(null);
  // The text the person had typed when their save was refused, kept after
  // they load the other version so that nothing they wrote is lost.
  const [unsaved, setUnsaved] = useState<Draft | null>(null);
  const [publishAt, setPublishAt] = useState("");
  // "Email it to subscribers", sent with the next publish.
  const [emailIt, setEmailIt] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  useEffect(() => {
    if (id === null) return;
    let current = true;
    call(client.GET("/posts/{id}", { params: { path: { id } } }))
      .then((post) => {
        if (!current) return;
        setSaved(post);
        setDraft(draftOf(post));
      })
      .catch((caught: unknown) => {
        if (!current) return;
        const err = asApiError(caught);
        setLoadError(err.message);
        onAuthLost(err);
      })
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [id, onAuthLost]);

  // The newsletter's progress moves on the server alone: only `email` and
  // `status` (a scheduled post's time passing) are taken from each answer.
  // The form and its `updated_at` stay the version being edited, so a
  // save still meets a newer version as a conflict.
  const postId = saved?.id;
  const refreshEvery = emailRefresh(saved);
  useEffect(() => {
    if (postId === undefined || refreshEvery === null) return;
    let current = true;
    const timer = window.setInterval(() => {
      call(client.GET("/posts/{id}", { params: { path: { id: postId } } }))
        .then((post) => {
          if (!current) return;
          setSaved((s) => (s && s.id === post.id ? { ...s, email: post.email, status: post.status } : s));
        })
        .catch((caught: unknown) => {
          if (!current) return;
          const err = asApiError(caught);
          onAuthLost(err);
          // Gone, or no longer this person's to see: asking again changes nothing.
          if (err.status >= 400 && err.status < 500) window.clearInterval(timer);
        });
    }, refreshEvery);
    return () => {
      current = false;
      window.clearInterval(timer);
    };
  }, [postId, refreshEvery, onAuthLost]);

  const base = saved ? draftOf(saved) : BLANK;
  const dirty = (Object.keys(base) as (keyof Draft)[]).some((k) => draft[k] !== base[k]);

  function edit<K extends keyof Draft>(key: K, value: Draft[K]) {
    setDraft((d) => ({ ...d, [key]: value }));
    setNotice(null);
  }

  /** What went wrong: 422 fields next to their inputs, a conflict in its own box, or the sentence. */
  const action = useAction({
    onAuthLost,
    explain: (err) => {
      if (err.code === "edit_conflict") {
        setConflict(err.message);
        return {};
      }
      if (err.code !== "validation_failed") return err.message;
      const elsewhere = Object.keys(err.fields).some((f) => !SHOWN_FIELDS.includes(f));
      return { fields: err.fields, error: elsewhere ? err.message : null };
    },
  });
  const { busy, error, fields } = action;

  /** Takes the server's answer as the new starting point. */
  function adopt(post: EditablePost) {
    setSaved(post);
    setDraft(draftOf(post));
  }

  /**
   * Stores the form: a new draft, or a PATCH of the fields changed since
   * the version it started from (an excerpt emptied goes back to the
   * derived one). The post as stored; throws when the save was refused.
   */
  async function store(): Promise<EditablePost> {
    if (saved && !dirty) return saved;
    let post: EditablePost;
    if (!saved) {
      const excerpt = draft.excerpt.trim() ? draft.excerpt : undefined;
      post = await call(client.POST("/posts", {
        body: { title: draft.title, body: draft.body, access: draft.access, excerpt },
      }));
    } else {
      post = await call(client.PATCH("/posts/{id}", {
        params: { path: { id: saved.id } },
        body: {
          title: draft.title !== saved.title ? draft.title : undefined,
          body: draft.body !== saved.body ? draft.body : undefined,
          access: draft.access !== saved.access ? draft.access : undefined,
          excerpt: draft.excerpt !== saved.excerpt ? (draft.excerpt.trim() ? draft.excerpt : null) : undefined,
          updated_at: saved.updated_at,
        },
      }));
    }
    adopt(post);
    setUnsaved(null);
    return post;
  }

  /** Runs one change with the form locked and the last messages cleared. */
  function run(work: () => Promise<void>) {
    setNotice(null);
    return action.run(work);
  }

  const save = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      await store();
      setNotice(`Saved at ${new Date().toLocaleTimeString()}.`);
    });
  };

  /**
   * Publishes now (`at` null) or at a time, emailed to the subscribers when
   * the box is ticked; unsaved changes are saved first.
   */
  const publish = (at: string | null) =>
    run(async () => {
      const post = await store();
      adopt(await call(client.POST("/posts/{id}/publish", {
        params: { path: { id: post.id } },
        body: { ...(at === null ? {} : { at }), ...(emailIt ? { email: true } : {}) },
      })));
      setPublishAt("");
      setEmailIt(false);
    });

  const publishAtChosen = () => {
    const at = utc(publishAt);
    if (at === null) {
      action.show({ fields: { at: "Choose a date and a time." } });
      return;
    }
    return publish(at);
  };

  /** Back to draft; unsaved changes are saved first. */
  const unpublish = () =>
    run(async () => {
      const post = await store();
      adopt(await call(client.POST("/posts/{id}/unpublish", { params: { path: { id: post.id } } })));
    });

  async function remove() {
    const done = await run(async () => {
      if (!saved) return;
      await call(client.DELETE("/posts/{id}", { params: { path: { id: saved.id } } }));
      onClose();
    });
    if (!done.ok) setConfirmDelete(false);
  }

  /** After a conflict: the newer saved version replaces the form. */
  const reload = () =>
    run(async () => {
      if (!saved) return;
      const mine = draft;
      adopt(await call(client.GET("/posts/{id}", { params: { path: { id: saved.id } } })));
      setConflict(null);
      setUnsaved(mine);
    });

  if (loading) return <Skeleton lines={8} />;
  if (id !== null && !saved) {
    return (
      <section>
        <Link className="back" data-testid="editor-back" href="/write">← My posts</Link>
        <p className="error" data-testid="editor-error">{loadError}</p>
      </section>
    );
  }

  // An empty time offers to schedule, the usual case; a past one back-dates.
  const backDate = publishAt !== "" && new Date(publishAt).getTime() <= Date.now();
  const fieldError = (name: string) =>
    fields[name] ? <p className="field-error" data-testid={`editor-error-${name}`}>{fields[name]}</p> : null;
  const emailStatus = saved ? emailText(saved) : null;

  return (
    <section className="editor" data-testid="editor" data-post-id={saved?.id ?? ""}
      data-updated-at={saved?.updated_at ?? ""}>
      <Link className="back" data-testid="editor-back" href="/write">← My posts</Link>
      <div className="editor-head">
        <h2>{saved ? "Edit post" : "New post"}</h2>
        <span className={`status ${saved?.status ?? "new"}`} data-testid="editor-status"
          data-status={saved?.status ?? "new"}>
          {saved ? statusText(saved) : "Not saved yet"}
        </span>
      </div>

      {conflict && (
        <div className="conflict" role="alert" data-testid="editor-conflict">
          {/* Whoever saved it (another editor, or this author in another tab): the server cannot tell which. */}
          <h3>This post was saved elsewhere meanwhile</h3>
          <p data-testid="editor-conflict-message">
            It was saved after you opened it here — in another tab or window, or by another editor. Your
            changes are not saved, and nothing of the newer version was overwritten.
          </p>
          <button type="button" className="primary" data-testid="editor-reload" disabled={busy} onClick={reload}>
            Load the newer version
          </button>
          <span className="hint"> Your text stays on this page to copy from.</span>
        </div>
      )}
      {unsaved && (
        <details className="unsaved" data-testid="editor-unsaved">
          <summary>Your unsaved text (from before you loaded the newer version)</summary>
          <p><strong>{unsaved.title}</strong></p>
          <textarea readOnly rows={6} value={unsaved.body} aria-label="Your unsaved text" />
        </details>
      )}

      <div className="tabs" role="group" aria-label="Show">
        <button type="button" aria-pressed={tab === "write"} className={tab === "write" ? "active" : ""}
          data-testid="editor-tab-write" onClick={() => setTab("write")}>Write</button>
        <button type="button" aria-pressed={tab === "preview"} className={tab === "preview" ? "active" : ""}
          data-testid="editor-tab-preview" onClick={() => setTab("preview")}>Preview</button>
      </div>

      {tab === "write" ? (
        <form className="card" onSubmit={save} data-testid="editor-form" noValidate>
          <fieldset disabled={busy}>
            <label htmlFor="editor-title">Title</label>
            <input id="editor-title" data-testid="editor-title" value={draft.title}
              aria-invalid={fields.title ? true : undefined} onChange={(e) => edit("title", e.target.value)} />
            {fieldError("title")}

            <label htmlFor="editor-body">Body <span className="hint">(Markdown)</span></label>
            <textarea id="editor-body" data-testid="editor-body" rows={14} value={draft.body}
              aria-invalid={fields.body ? true : undefined} onChange={(e) => edit("body", e.target.value)} />
            {fieldError("body")}

            <label htmlFor="editor-access">Who may read it</label>
            <select id="editor-access" data-testid="editor-access" value={draft.access}
              aria-invalid={fields.access ? true : undefined}
              onChange={(e) => edit("access", e.target.value as Access)}>
              {ACCESS.map((a) => <option key={a.value} value={a.value}>{a.label}</option>)}
            </select>
            <p className="hint" data-testid="editor-access-means">
              {ACCESS.find((a) => a.value === draft.access)?.means}
            </p>
            {fieldError("access")}

            <label htmlFor="editor-excerpt">Excerpt <span className="hint">(optional: the start of the body when empty)</span></label>
            <textarea id="editor-excerpt" data-testid="editor-excerpt" rows={2} value={draft.excerpt}
              aria-invalid={fields.excerpt ? true : undefined} onChange={(e) => edit("excerpt", e.target.value)} />
            {fieldError("excerpt")}

            {saved && <p className="hint" data-testid="editor-slug">Address: /blog/{saved.slug}</p>}
            <div className="actions">
              <button type="submit" data-testid="editor-save">
                {busy ? "Saving…" : saved && saved.status !== "draft" ? "Save changes" : "Save draft"}
              </button>
              {dirty && saved && <span className="hint" data-testid="editor-dirty">Unsaved changes</span>}
              {notice && !dirty && <span className="hint" data-testid="editor-notice">{notice}</span>}
            </div>
          </fieldset>
        </form>
      ) : (
        <div className="preview" data-testid="editor-preview-pane">
          {saved ? (
            <>
              {dirty && (
                <p className="note" data-testid="editor-preview-stale">
                  The preview shows the last saved version; save to see your latest changes.
                </p>
              )}
              <article>
                <h2 data-testid="editor-preview-title">{saved.title}</h2>
                <PostHtml html={saved.html} testid="editor-preview" />
              </article>
            </>
          ) : (
            <p className="hint">Save the draft to see it as readers will.</p>
          )}
        </div>
      )}

      {error && <p className="error" role="alert" data-testid="editor-error">{error}</p>}

      <div className="card publish" data-testid="editor-publish-panel">
        <h3>Publishing</h3>
        {saved?.status !== "published" && !saved?.email && (
          // A post is emailed once ever: the box is gone once it was asked for.
          <>
            <label className="check">
              <input type="checkbox" data-testid="publish-email" checked={emailIt} disabled={busy}
                aria-describedby="publish-email-hint" onChange={(e) => setEmailIt(e.target.checked)} />
              Email it to subscribers
            </label>
            <p className="hint" id="publish-email-hint">
              Once, when readers can first see it: to everyone who takes the newsletter at a verified address.
              Free members get the title, the excerpt and a link unless the post is free.
            </p>
          </>
        )}
        {emailStatus && (
          <p role="status" data-testid="post-email-status" data-status={saved?.email?.status}>{emailStatus}</p>
        )}
        <div className="actions">
          {saved?.status !== "published" && (
            <button type="button" data-testid="editor-publish" disabled={busy} onClick={() => publish(null)}>
              Publish now
            </button>
          )}
          {saved && saved.status !== "draft" && (
            <button type="button" data-testid="editor-unpublish" disabled={busy} onClick={unpublish}>
              Unpublish
            </button>
          )}
        </div>
        {saved?.status !== "published" && (
          // A published post is out: a date is chosen before, or after unpublishing.
          <>
            <label htmlFor="editor-publish-at">Or publish at a date and time (your time zone)</label>
            <div className="actions">
              <input id="editor-publish-at" data-testid="editor-publish-at" type="datetime-local" value={publishAt}
                aria-invalid={fields.at ? true : undefined} onChange={(e) => setPublishAt(e.target.value)} />
              <button type="button" data-testid="editor-publish-at-submit" disabled={busy || publishAt === ""}
                onClick={publishAtChosen}>
                {backDate ? "Back-date" : "Schedule"}
              </button>
            </div>
            {fieldError("at")}
            <p className="hint">A time to come schedules the post: readers see it from then on. A past time publishes it now, dated then.</p>
          </>
        )}
      </div>

      {saved && (
        <div className="danger">
          {confirmDelete ? (
            <p data-testid="editor-delete-confirm">
              Delete “{saved.title}” for good? Readers lose it at once.{" "}
              <button type="button" className="destructive" data-testid="editor-delete-yes" disabled={busy}
                onClick={remove}>Delete</button>{" "}
              <button type="button" data-testid="editor-delete-no" onClick={() => setConfirmDelete(false)}>
                Keep it
              </button>
            </p>
          ) : (
            <button type="button" data-testid="editor-delete" disabled={busy} onClick={() => setConfirmDelete(true)}>
              Delete…
            </button>
          )}
        </div>
      )}
    </section>
  );
}
