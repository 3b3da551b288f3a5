import { useState, type FormEvent, type ReactNode } from "react";
import {
  call,
  client,
  membersCsv,
  type AdminUser,
  type ApiError,
  type OnAuthLost,
  type Plan,
  type Role,
} from "../api/client";
import { day } from "../dates";
import { sentence, useAction } from "../hooks/useAction";
import { saveFile } from "../download";
import { usePagedList } from "../hooks/usePagedList";
import Pager from "./Pager";
import Address from "./Address";
import { Problem } from "./security/forms";

const ROLES: Role[] = ["reader", "author", "admin"];
const PLANS: Plan[] = ["free", "premium"];

type Change = { role?: Role; plan?: Plan; premium_until?: string | null; disabled?: boolean };
type Field = keyof Change;
/** The last change of a row: to which control, and how it went. */
type Outcome = { field: Field; ok: true; note: string } | { field: Field; ok: false; err: ApiError };
/** A change that needs a second thought before it is sent. */
type Pending = { change: Change; question: string; yes: string };

/** What a change needs confirmed, if anything: giving every power, or taking the account away. */
function needsConfirming(user: AdminUser, change: Change): Pending | null {
  if (change.role === "admin") {
    return {
      change,
      question: `Make ${user.username} an admin? They will be able to edit every post and change every user.`,
      yes: "Make admin",
    };
  }
  if (change.disabled === true) {
    return { change, question: `Disable ${user.username}? They will be signed out everywhere.`, yes: "Disable" };
  }
  return null;
}

/** What "Saved" adds for a change: premium set here is not billed. */
function savedNote(change: Change): string {
  if (change.plan === "premium") return "Saved. Premium by hand: not billed, and Stripe's next event for them may change it.";
  if (change.premium_until) return `Saved. Premium until ${day(change.premium_until)}, not billed; it ends by itself.`;
  if (change.premium_until === null) return "Saved. No complimentary premium.";
  return "Saved";
}

// Admin → Users: GET /admin/users?q= (a part of the username or address),
// and PATCH /admin/users/{id} for a role, a plan, complimentary premium
// until a date, or the disabled switch.
// Each control saves as soon as it changes; until the server has answered,
// the row shows what is stored, so a refused change (409 last_admin, …)
// leaves the control where it was, with the server's sentence beside it.
export default function Users({ me, onSelfChanged, onAuthLost }: {
  /** The admin's own id: a change to their own row changes what they may do. */
  me: number;
  onSelfChanged: () => void;
  onAuthLost: OnAuthLost;
}) {
  const [typed, setTyped] = useState("");
  const [q, setQ] = useState("");
  const list = usePagedList(
    (paging) => call(client.GET("/admin/users", { params: { query: { ...paging, ...(q ? { q } : {}) } } })),
    [q],
    onAuthLost,
  );
  const { data, error, setData } = list;
  // A change on its way, and its row, whose controls wait for the answer.
  const saving = useAction({ onAuthLost });
  const [changing, setChanging] = useState<number | null>(null);
  const busy = saving.busy ? changing : null;
  // Per row: the last change's outcome, and a change waiting for its confirmation.
  const [outcome, setOutcome] = useState<Record<number, Outcome | null>>({});
  const [pending, setPending] = useState<Record<number, Pending | null>>({});
  // Every member as a spreadsheet file (GET /admin/members.csv): a button with no field, so one sentence.
  const exporting = useAction({ onAuthLost, explain: sentence });
  const exportMembers = () => exporting.run(async () => saveFile(await membersCsv(), "members.csv"));

  function search(event: FormEvent) {
    event.preventDefault();
    setQ(typed.trim());
    list.setPage(1);
    setOutcome({});
  }

  /** A control changed: sent at once, or asked about first (see `needsConfirming`). */
  function propose(user: AdminUser, body: Change) {
    setOutcome((o) => ({ ...o, [user.id]: null }));
    const question = needsConfirming(user, body);
    if (question) setPending((p) => ({ ...p, [user.id]: question }));
    else void change(user, body);
  }

  async function change(user: AdminUser, body: Change) {
    const field = Object.keys(body)[0] as Field;
    setPending((p) => ({ ...p, [user.id]: null }));
    setChanging(user.id);
    setOutcome((o) => ({ ...o, [user.id]: null }));
    const done = await saving.run(async () => {
      const changed = await call(client.PATCH("/admin/users/{id}", { params: { path: { id: user.id } }, body }));
      setData((d) => d && { ...d, users: d.users.map((u) => (u.id === changed.id ? changed : u)) });
      if (user.id === me) onSelfChanged();
    });
    // Said beside the control that changed, in its row (not the form's one sentence).
    const said: Outcome = done.ok ? { field, ok: true, note: savedNote(body) } : { field, ok: false, err: done.err };
    setOutcome((o) => ({ ...o, [user.id]: said }));
  }

  return (
    <section data-testid="admin-users">
      <h2>Admin · Users</h2>
      <form className="search" onSubmit={search} role="search">
        <label htmlFor="users-q" className="visually-hidden">Search by username or email address</label>
        <input id="users-q" data-testid="users-q" type="search" value={typed} placeholder="Username or email address"
          onChange={(e) => setTyped(e.target.value)} />
        <button type="submit" data-testid="users-search">Search</button>
      </form>
      <div className="row" data-testid="members-export-row">
        <p className="hint">Every member, one per line, in a file any spreadsheet opens.</p>
        <button data-testid="members-export" onClick={exportMembers} disabled={exporting.busy} aria-busy={exporting.busy}>
          {exporting.busy ? "Preparing the file…" : "Export members (CSV)"}
        </button>
      </div>
      <Problem text={exporting.error} testid="members-export-error" />
      {error && <p className="error" data-testid="users-error">{error.message}</p>}
      {!data ? (
        !error && <p>Loading users…</p>
      ) : data.users.length === 0 ? (
        <p className="hint" data-testid="users-empty">No user matches “{q}”.</p>
      ) : (
        <>
          <p className="hint" data-testid="users-total">
            {data.total} user{data.total === 1 ? "" : "s"}{q ? ` matching “${q}”` : ""}
          </p>
          <table className="list users" data-testid="user-list">
            <thead>
              <tr><th>User</th><th>Role</th><th>Plan</th><th>Account</th><th>Joined</th><th>Last login</th></tr>
            </thead>
            <tbody>
              {data.users.map((u) => {
                const result = outcome[u.id];
                const asking = pending[u.id];
                // The outcome beside the control that changed.
                const said = (field: Field) => result && result.field === field && (result.ok ? (
                  <span className="saved" data-testid={`user-saved-${u.id}`}>{result.note}</span>
                ) : (
                  <span className="error" role="alert" data-testid={`user-error-${u.id}`} data-code={result.err.code}>
                    {result.err.message}
                  </span>
                ));
                return (
                  <tr key={u.id} data-testid="user-row" data-username={u.username} data-role={u.role}
                    data-plan={u.plan} data-disabled={u.disabled ? "true" : "false"}>
                    <td>
                      <span data-testid={`user-name-${u.id}`}>{u.username}</span>
                      {u.id === me && <span className="tag"> you</span>}
                      {u.email && (
                        <span className="email">
                          <Address email={u.email} /> <span className="tag">{u.email_verified ? "verified" : "not verified"}</span>
                        </span>
                      )}
                      {asking && (
                        <span className="confirm" role="alert" data-testid={`user-confirm-${u.id}`}>
                          {asking.question}{" "}
                          <span className="actions">
                            <button className="destructive" data-testid={`user-confirm-yes-${u.id}`}
                              onClick={() => change(u, asking.change)}>{asking.yes}</button>
                            <button data-testid={`user-confirm-no-${u.id}`}
                              onClick={() => setPending((p) => ({ ...p, [u.id]: null }))}>Cancel</button>
                          </span>
                        </span>
                      )}
                    </td>
                    <SelectCell user={u} field="role" label="Role" options={ROLES} disabled={busy === u.id || !!asking}
                      onSelect={(role) => propose(u, { role })}>{said("role")}</SelectCell>
                    <SelectCell user={u} field="plan" label="Plan" options={PLANS} disabled={busy === u.id || !!asking}
                      onSelect={(plan) => propose(u, { plan })}>
                      {said("plan")}
                      <Complimentary user={u} disabled={busy === u.id || !!asking}
                        onGrant={(premium_until) => propose(u, { premium_until })} />
                      {said("premium_until")}
                    </SelectCell>
                    <td data-label="Account">
                      <label className="check">
                        <input type="checkbox" data-testid={`user-disabled-${u.id}`} checked={u.disabled}
                          disabled={busy === u.id || !!asking} onChange={(e) => propose(u, { disabled: e.target.checked })} />
                        disabled
                      </label>
                      {said("disabled")}
                    </td>
                    <td data-label="Joined">{day(u.created_at)}</td>
                    <td data-label="Last login">{u.last_login_at ? day(u.last_login_at) : "never"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <Pager paging={list} />
    </section>
  );
}

/** A row's role or plan, as a select that saves as soon as it changes. */
function SelectCell<F extends "role" | "plan">({ user, field, label, options, disabled, onSelect, children }: {
  user: AdminUser;
  field: F;
  label: string;
  options: AdminUser[F][];
  disabled: boolean;
  onSelect: (value: AdminUser[F]) => void;
  /** What the last change of this control came to. */
  children?: ReactNode;
}) {
  return (
    <td data-label={label}>
      <select data-testid={`user-${field}-${user.id}`} aria-label={`${label} of ${user.username}`} value={user[field]}
        disabled={disabled} onChange={(e) => onSelect(e.target.value as AdminUser[F])}>
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
      {children}
    </td>
  );
}

/** Tomorrow's date as a date input writes it (UTC): the first day a grant may end on. */
function tomorrow(): string {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}

/**
 * Complimentary premium: premium until a date whatever the plan (not
 * billed, never shortened by Stripe), ending by itself as that day begins
 * (UTC). A running grant shows its end and can be removed.
 */
function Complimentary({ user, disabled, onGrant }: {
  user: AdminUser;
  disabled: boolean;
  onGrant: (until: string | null) => void;
}) {
  const [date, setDate] = useState("");
  const id = `user-premium-until-${user.id}`;
  if (user.premium_until) {
    return (
      <span className="grant" data-testid={`user-grant-${user.id}`}>
        Complimentary until {day(user.premium_until)}{" "}
        <button data-testid={`user-grant-remove-${user.id}`} disabled={disabled} onClick={() => onGrant(null)}>
          Remove
        </button>
      </span>
    );
  }
  return (
    <form className="grant" onSubmit={(e) => { e.preventDefault(); if (date) onGrant(`${date}T00:00:00Z`); }}>
      <label htmlFor={id}>Premium until</label>
      <input id={id} data-testid={id} type="date" min={tomorrow()} value={date} disabled={disabled}
        onChange={(e) => setDate(e.target.value)} />
      <button type="submit" data-testid={`user-grant-${user.id}-give`} disabled={disabled || !date}>Give premium</button>
    </form>
  );
}
