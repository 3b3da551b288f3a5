import { useState } from "react";
import { asApiError, call, client, type ApiError, type OnAuthLost } from "../api/client";
import { describeAgent } from "../agent";
import { when } from "../dates";
import { useLoad } from "../hooks/useLoad";
import Events from "./Events";

// GET /sessions, DELETE /sessions/{id}, DELETE /sessions ("log out everywhere else").
export default function Sessions({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const list = useLoad(() => call(client.GET("/sessions")).then((d) => d.sessions), [], onAuthLost);
  const sessions = list.data;
  const [endError, setEndError] = useState<ApiError | null>(null);

  /** Ends one session (`id`), or every other session (no `id`); the list is loaded again either way. */
  async function end(id?: string) {
    setEndError(null);
    try {
      await call(id ? client.DELETE("/sessions/{id}", { params: { path: { id } } }) : client.DELETE("/sessions"));
    } catch (caught) {
      const err = asApiError(caught);
      setEndError(err);
      onAuthLost(err);
    }
    await list.reload();
  }

  // The list's error is the newer one when both failed.
  const error = (list.error ?? endError)?.message;
  if (!sessions) return error ? <p className="error">{error}</p> : <p>Loading sessions…</p>;

  const others = sessions.filter((s) => !s.current).length;
  return (
    <section>
      <h2>Your sessions</h2>
      {error && <p className="error" data-testid="sessions-error">{error}</p>}
      <table className="list sessions" data-testid="session-list">
        <thead>
          <tr><th>Device</th><th>Address</th><th>Signed in</th><th>Last seen</th><th>Expires</th><th></th></tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-testid="session-row" data-current={s.current ? "true" : "false"}>
              <td data-label="Device" title={s.user_agent || ""}>
                {describeAgent(s.user_agent) || "unknown device"}
                {s.current && <strong className="tag"> this device</strong>}
                {s.stay_signed_in && <span className="tag"> remembered</span>}
              </td>
              <td data-label="Address">{s.ip || "unknown"}</td>
              <td data-label="Signed in">{when(s.created_at)}</td>
              <td data-label="Last seen">{when(s.last_seen_at)}</td>
              <td data-label="Expires">{when(s.expires_at)}</td>
              <td className="actions">
                {!s.current && (
                  <button data-testid={`end-session-${s.id}`} onClick={() => end(s.id)}>
                    End
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button data-testid="logout-others" disabled={others === 0} onClick={() => end()}>
        Log out everywhere else{others > 0 ? ` (${others})` : ""}
      </button>
      <Events key={sessions.length} onAuthLost={onAuthLost} />
    </section>
  );
}
