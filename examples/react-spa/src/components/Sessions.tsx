import { call, client, type OnAuthLost, type Session } from "../api/client";
import { describeAgent } from "../agent";
import { when } from "../dates";
import { useAction } from "../hooks/useAction";
import { useLoad } from "../hooks/useLoad";
import Events from "./Events";
import ListTable, { type Column } from "./ListTable";

const COLUMNS: Column<Session>[] = [
  {
    label: "Device",
    cell: (s) => (
      <>
        {describeAgent(s.user_agent) || "unknown device"}
        {s.current && <strong className="tag"> this device</strong>}
        {s.stay_signed_in && <span className="tag"> remembered</span>}
      </>
    ),
    attributes: (s) => ({ title: s.user_agent || "" }),
  },
  { label: "Address", cell: (s) => s.ip || "unknown" },
  { label: "Signed in", cell: (s) => when(s.created_at) },
  { label: "Last seen", cell: (s) => when(s.last_seen_at) },
  { label: "Expires", cell: (s) => when(s.expires_at) },
];

// GET /sessions, DELETE /sessions/{id}, DELETE /sessions ("log out everywhere else").
export default function Sessions({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const list = useLoad(() => call(client.GET("/sessions")).then((d) => d.sessions), [], onAuthLost);
  const sessions = list.data;
  const ending = useAction({ onAuthLost });

  /** Ends one session (`id`), or every other session (no `id`); the list is loaded again either way. */
  async function end(id?: string) {
    await ending.run(() => call(id ? client.DELETE("/sessions/{id}", { params: { path: { id } } }) : client.DELETE("/sessions")));
    await list.reload();
  }

  // The list's error is the newer one when both failed.
  const error = list.error?.message ?? ending.error;
  if (!sessions) return error ? <p className="error">{error}</p> : <p>Loading sessions…</p>;

  const others = sessions.filter((s) => !s.current).length;
  return (
    <section>
      <h2>Your sessions</h2>
      {error && <p className="error" data-testid="sessions-error">{error}</p>}
      <ListTable kind="sessions" testid="session-list" columns={COLUMNS} items={sessions}
        row={(s) => ({ "data-testid": "session-row", "data-current": s.current ? "true" : "false" })}
        actions={(s) => !s.current && <button data-testid={`end-session-${s.id}`} onClick={() => end(s.id)}>End</button>} />
      <button data-testid="logout-others" disabled={others === 0} onClick={() => end()}>
        Log out everywhere else{others > 0 ? ` (${others})` : ""}
      </button>
      <Events key={sessions.length} onAuthLost={onAuthLost} />
    </section>
  );
}
