import { useState } from "react";
import { identities, unlinkIdentity, type Identity, type OnAuthLost } from "../../api/client";
import { day } from "../../dates";
import { useLoad } from "../../hooks/useLoad";
import { goToProvider, providerLabel, useProviders } from "../Providers";
import { Problem, THIS_PAGE, useAction } from "./forms";

/**
 * The providers the account signs in with (GET/DELETE /account/identities):
 * each linked identity with Remove (refused, 409 last_login_method, while it
 * is the only way in), and "Link …" for each provider not linked yet: a
 * sign-in started while signed in links the identity to this account and
 * comes back here.
 */
export default function SignInProviders({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const list = useLoad(identities, [], onAuthLost);
  const linked = list.data;
  const [notice, setNotice] = useState<string | null>(null);
  const remove = useAction(onAuthLost);
  const offered = useProviders();

  function unlink(identity: Identity) {
    return remove.run(async () => {
      setNotice(null);
      await unlinkIdentity(identity.id);
      setNotice(`${providerLabel(identity.provider)} no longer signs you in.`);
      await list.reload();
    });
  }

  const unlinked = offered.filter((p) => !linked?.some((i) => i.provider === p.name));
  return (
    <div className="card" data-testid="identities">
      <h3>Sign-in providers</h3>
      {!linked ? (
        list.error ? <p className="error" data-testid="identities-error">{list.error.message}</p> : <p>Loading providers…</p>
      ) : linked.length === 0 ? (
        <p data-testid="identities-none">No provider signs you in yet.</p>
      ) : (
        <table className="list identities" data-testid="identity-list">
          <thead><tr><th>Provider</th><th>Email</th><th>Linked</th><th></th></tr></thead>
          <tbody>
            {linked.map((i) => (
              <tr key={i.id} data-testid="identity-row" data-provider={i.provider}>
                <td data-label="Provider">{providerLabel(i.provider)}</td>
                <td data-label="Email" className="email" data-testid="identity-email">{i.email ?? "—"}</td>
                <td data-label="Linked">{day(i.created_at)}</td>
                <td className="actions">
                  <button type="button" data-testid={`identity-remove-${i.id}`} disabled={remove.busy}
                    aria-label={`Stop signing in with ${providerLabel(i.provider)}`} onClick={() => unlink(i)}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Problem text={remove.error} testid="identity-unlink-error" />
      <p className="hint" role="status" data-testid="identities-notice" hidden={!notice}>{notice}</p>
      {unlinked.length > 0 && (
        <div className="actions">
          {unlinked.map(({ name }) => (
            <button type="button" key={name} data-testid={`identity-link-${name}`} onClick={() => goToProvider(name, THIS_PAGE)}>
              Link {providerLabel(name)}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
