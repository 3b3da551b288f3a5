import { useState } from "react";
import { identities, linkIdentity, unlinkIdentity, type Identity, type OnAuthLost } from "../../api/client";
import { day } from "../../dates";
import { useAction } from "../../hooks/useAction";
import { useLoad } from "../../hooks/useLoad";
import { providerLabel, useProviders } from "../Providers";
import { ChangeForm, PasswordField, Problem, THIS_PAGE } from "./forms";
import Address from "../Address";
import ListTable, { type Column } from "../ListTable";

const COLUMNS: Column<Identity>[] = [
  { label: "Provider", cell: (i) => providerLabel(i.provider) },
  {
    label: "Email",
    cell: (i) => (i.email ? <Address email={i.email} /> : "—"),
    attributes: () => ({ className: "email", "data-testid": "identity-email" }),
  },
  { label: "Linked", cell: (i) => day(i.created_at) },
];

/**
 * The providers the account signs in with (GET/DELETE /account/identities):
 * each linked identity with Remove (refused, 409 last_login_method, while it
 * is the only way in), and "Link …" for each provider not linked yet. A link
 * is a way in that outlives this session, so it asks for the password, as
 * adding a passkey does (POST /account/identities); the browser then signs
 * in at the provider and comes back here with the identity linked.
 */
export default function SignInProviders({ hasPassword, onAuthLost }: { hasPassword: boolean; onAuthLost: OnAuthLost }) {
  const list = useLoad(identities, [], onAuthLost);
  const linked = list.data;
  const [notice, setNotice] = useState<string | null>(null);
  const remove = useAction({ onAuthLost });
  const offered = useProviders();
  const [linking, setLinking] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const link = useAction({ onAuthLost });

  function unlink(identity: Identity) {
    return remove.run(async () => {
      setNotice(null);
      await unlinkIdentity(identity.id);
      setNotice(`${providerLabel(identity.provider)} no longer signs you in.`);
      await list.reload();
    });
  }

  function openLink(name: string) {
    link.clear();
    setNotice(null);
    setPassword("");
    setLinking(name);
  }

  async function startLink() {
    if (!linking) return;
    window.location.assign(await linkIdentity(linking, hasPassword ? password : undefined, THIS_PAGE));
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
        <ListTable kind="identities" testid="identity-list" columns={COLUMNS} items={linked}
          row={(i) => ({ "data-testid": "identity-row", "data-provider": i.provider })}
          actions={(i) => (
            <button type="button" data-testid={`identity-remove-${i.id}`} disabled={remove.busy}
              aria-label={`Remove ${providerLabel(i.provider)} as a way to sign in`} onClick={() => unlink(i)}>Remove</button>
          )} />
      )}
      <Problem text={remove.error} testid="identity-unlink-error" />
      <p className="hint" role="status" data-testid="identities-notice" hidden={!notice}>{notice}</p>
      {linking ? (
        <ChangeForm name="identity-link" action={link} onSubmit={startLink} submit={`Continue to ${providerLabel(linking)}`}
          onCancel={() => setLinking(null)}>
          <h4>Link {providerLabel(linking)}</h4>
          <p className="hint">
            You sign in at {providerLabel(linking)} and come back here; from then on it signs you in to this account too.
          </p>
          {hasPassword && <PasswordField id="identity-link-password" value={password} onChange={setPassword} error={link.fields.password} />}
        </ChangeForm>
      ) : unlinked.length > 0 && (
        <div className="actions">
          {unlinked.map(({ name }) => (
            <button type="button" key={name} data-testid={`identity-link-${name}`} onClick={() => openLink(name)}>
              Link {providerLabel(name)}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
