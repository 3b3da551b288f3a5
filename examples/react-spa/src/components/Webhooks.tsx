import { useState, type FormEvent } from "react";
import { call, client, type OnAuthLost, type Schemas } from "../api/client";
import { when } from "../dates";
import { useAction } from "../hooks/useAction";
import { useLoad } from "../hooks/useLoad";
import { Problem } from "./security/forms";

type Webhook = Schemas["Webhook"];
type Delivery = Schemas["WebhookDelivery"];
type EventType = Schemas["WebhookEvents"][number];

/** Every type a webhook may take, and what each one reports. */
const TYPES: { type: Exclude<EventType, "*">; what: string }[] = [
  { type: "member.created", what: "a member joins" },
  { type: "member.updated", what: "a member's address, newsletter, role or access changes" },
  { type: "member.deleted", what: "a member leaves" },
  { type: "member.plan_changed", what: "a member's plan changes, whatever changed it" },
  { type: "subscription.updated", what: "a Stripe subscription changes" },
  { type: "post.published", what: "a post is published" },
  { type: "post.unpublished", what: "a post is taken back" },
  { type: "post.deleted", what: "a post is deleted" },
  { type: "newsletter.sent", what: "a newsletter has gone out" },
];

/**
 * A secret as the server hands it out: once, when a webhook is made or its
 * secret rotated. Shown until the admin says they have kept it; nothing
 * can show it again.
 */
function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  const [said, setSaid] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setSaid("Copied");
    } catch {
      setSaid("This browser did not allow copying: select the secret instead.");
    }
  }
  return (
    <div className="codes" data-testid="webhook-secret">
      <p role="status"><strong>Copy this secret now.</strong> It is shown only this once; the receiver verifies each
        message with it.</p>
      <code data-testid="webhook-secret-value">{secret}</code>{" "}
      <button type="button" data-testid="webhook-secret-copy" onClick={copy}>Copy</button>
      {said && <span className="hint" role="status">{said}</span>}{" "}
      <button type="button" data-testid="webhook-secret-done" onClick={onDone}>I have kept it</button>
    </div>
  );
}

/** One webhook's deliveries, newest first, with a retry for a failed one. */
function Deliveries({ hook, onAuthLost }: { hook: Webhook; onAuthLost: OnAuthLost }) {
  const [after, setAfter] = useState<string | undefined>(undefined);
  const loaded = useLoad(
    () => call(client.GET("/admin/webhooks/{id}/deliveries", {
      params: { path: { id: hook.id }, query: after ? { after } : {} },
    })),
    [hook.id, after],
    onAuthLost,
  );
  const retrying = useAction({ onAuthLost, explain: (err) => err.message });
  async function retry(delivery: Delivery) {
    const done = await retrying.run(() => call(client.POST("/admin/webhooks/{id}/deliveries/{delivery}/retry", {
      params: { path: { id: hook.id, delivery: delivery.id } },
    })));
    if (done.ok) await loaded.reload();
  }
  const rows = loaded.data?.deliveries ?? [];
  return (
    <div data-testid={`webhook-deliveries-${hook.id}`}>
      <Problem text={loaded.error?.message ?? retrying.error} testid="webhook-deliveries-error" />
      {rows.length === 0 ? (
        <p className="hint">{loaded.loading ? "Loading…" : "Nothing sent yet."}</p>
      ) : (
        // Seven columns: on a phone the table scrolls inside its own box.
        <div style={{ overflowX: "auto" }}>
          <table>
            <thead>
              <tr><th>Type</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Next attempt</th><th>Made</th><th /></tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-testid="webhook-delivery" data-status={d.status}>
                  <td title={d.event_id}>{d.type}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts}</td>
                  <td>{d.last_status ?? d.last_error ?? "—"}</td>
                  <td>{d.next_attempt_at ? when(d.next_attempt_at) : "—"}</td>
                  <td>{when(d.created_at)}</td>
                  <td>
                    {d.status === "failed" && (
                      <button type="button" disabled={retrying.busy} data-testid="webhook-delivery-retry"
                        onClick={() => void retry(d)}>Try again</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <button type="button" onClick={() => void loaded.reload()} disabled={loaded.loading}>Refresh</button>{" "}
        {after && <button type="button" onClick={() => setAfter(undefined)}>Newest</button>}{" "}
        {loaded.data?.next && (
          <button type="button" onClick={() => setAfter(loaded.data?.next ?? undefined)}>Older</button>
        )}
      </p>
    </div>
  );
}

// Admin → Webhooks: other systems told what changed, as signed messages
// (docs/webhooks.md). GET/POST /admin/webhooks, PATCH and DELETE one,
// POST …/rotate for a new secret, and each one's deliveries log.
export default function Webhooks({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const list = useLoad(() => call(client.GET("/admin/webhooks")), [], onAuthLost);
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [every, setEvery] = useState(false);
  const [picked, setPicked] = useState<EventType[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const making = useAction({ onAuthLost });
  const changing = useAction({ onAuthLost, explain: (err) => err.message });

  const replace = (hook: Webhook) =>
    list.setData((d) => d && { webhooks: d.webhooks.map((h) => (h.id === hook.id ? { ...hook, secret: undefined } : h)) });

  async function make(event: FormEvent) {
    event.preventDefault();
    const events: EventType[] = every ? ["*"] : picked;
    const done = await making.run(() => call(client.POST("/admin/webhooks", {
      body: { url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}) },
    })));
    if (!done.ok) return;
    setSecret(done.value.secret ?? null);
    setUrl("");
    setDescription("");
    setPicked([]);
    setEvery(false);
    await list.reload();
  }

  async function toggle(hook: Webhook) {
    const done = await changing.run(() => call(client.PATCH("/admin/webhooks/{id}", {
      params: { path: { id: hook.id } }, body: { enabled: !hook.enabled },
    })));
    if (done.ok) replace(done.value);
  }

  async function rotate(hook: Webhook) {
    if (!window.confirm("Give this webhook a new secret? For a day each message is signed with both.")) return;
    const done = await changing.run(() => call(client.POST("/admin/webhooks/{id}/rotate", {
      params: { path: { id: hook.id } },
    })));
    if (!done.ok) return;
    setSecret(done.value.secret ?? null);
    replace(done.value);
  }

  async function remove(hook: Webhook) {
    if (!window.confirm(`Delete the webhook to ${hook.url}? Nothing more goes to it.`)) return;
    const done = await changing.run(() => call(client.DELETE("/admin/webhooks/{id}", { params: { path: { id: hook.id } } })));
    if (done.ok) list.setData((d) => d && { webhooks: d.webhooks.filter((h) => h.id !== hook.id) });
  }

  const choose = (type: EventType, on: boolean) =>
    setPicked((p) => (on ? [...p, type] : p.filter((t) => t !== type)));

  return (
    <section data-testid="admin-webhooks">
      <h2>Admin · Webhooks</h2>
      {secret && <SecretOnce secret={secret} onDone={() => setSecret(null)} />}
      <form className="stack" onSubmit={make} data-testid="webhook-form" noValidate>
        <label htmlFor="webhook-url">The receiver's URL (https)</label>
        <input id="webhook-url" data-testid="webhook-url" type="url" required value={url}
          placeholder="https://example.com/hooks/tollgate" onChange={(e) => setUrl(e.target.value)} />
        <Problem text={making.fields.url ?? null} testid="webhook-url-error" />
        <label htmlFor="webhook-description">What it is for (optional)</label>
        <input id="webhook-description" data-testid="webhook-description" value={description}
          onChange={(e) => setDescription(e.target.value)} />
        <fieldset className="stack" data-testid="webhook-events">
          <legend>What it is told</legend>
          <label>
            <input type="checkbox" checked={every} data-testid="webhook-event-all"
              onChange={(e) => setEvery(e.target.checked)} /> Everything, including types added later
          </label>
          {TYPES.map(({ type, what }) => (
            <label key={type}>
              <input type="checkbox" disabled={every} checked={every || picked.includes(type)}
                data-testid={`webhook-event-${type}`} onChange={(e) => choose(type, e.target.checked)} />{" "}
              <code>{type}</code>: {what}
            </label>
          ))}
        </fieldset>
        <Problem text={making.fields.events ?? making.fields.webhooks ?? making.error} testid="webhook-form-error" />
        <button type="submit" disabled={making.busy || (!every && picked.length === 0)} data-testid="webhook-create">
          Add the webhook
        </button>
      </form>

      <Problem text={list.error?.message ?? changing.error} testid="webhooks-error" />
      {list.data?.webhooks.length === 0 && <p className="hint">No webhooks yet.</p>}
      <ul className="webhooks">
        {list.data?.webhooks.map((hook) => (
          <li key={hook.id} data-testid="webhook" data-enabled={hook.enabled}>
            <p>
              <strong style={{ overflowWrap: "anywhere" }}>{hook.url}</strong> {hook.description && <span className="hint">— {hook.description}</span>}
              <br />
              <span className="hint">{hook.events.join(", ")} · made {when(hook.created_at)} ·{" "}
                {hook.enabled ? "enabled" : "disabled"}</span>
            </p>
            <p>
              <button type="button" disabled={changing.busy} data-testid="webhook-toggle" onClick={() => void toggle(hook)}>
                {hook.enabled ? "Disable" : "Enable"}
              </button>{" "}
              <button type="button" disabled={changing.busy} data-testid="webhook-rotate" onClick={() => void rotate(hook)}>
                New secret
              </button>{" "}
              <button type="button" data-testid="webhook-deliveries-toggle"
                onClick={() => setOpen(open === hook.id ? null : hook.id)}>
                {open === hook.id ? "Hide deliveries" : "Deliveries"}
              </button>{" "}
              <button type="button" className="destructive" disabled={changing.busy} data-testid="webhook-delete"
                onClick={() => void remove(hook)}>Delete</button>
            </p>
            {open === hook.id && <Deliveries hook={hook} onAuthLost={onAuthLost} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
