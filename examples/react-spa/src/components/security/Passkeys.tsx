import { useState, type FormEvent } from "react";
import { ApiError, call, client, type OnAuthLost, type Passkey } from "../../api/client";
import { day, when } from "../../dates";
import { useAction } from "../../hooks/useAction";
import { useLoad } from "../../hooks/useLoad";
import { createPasskey, passkeyFailure, passkeysSupported } from "../../webauthn";
import ListTable, { type Column } from "../ListTable";
import { ChangeForm, PasswordField, Problem } from "./forms";

const COLUMNS: Column<Passkey>[] = [
  { label: "Name", cell: (p) => p.name },
  { label: "Added", cell: (p) => day(p.created_at) },
  {
    label: "Last used",
    cell: (p) => (p.last_used_at ? when(p.last_used_at) : "never"),
    attributes: () => ({ "data-testid": "passkey-last-used" }),
  },
];

// The account's passkeys: GET/POST /account/passkeys (after
// POST /account/passkeys/options and the browser's prompt), and
// DELETE /account/passkeys/{id}.
export default function Passkeys({ hasPassword, onChanged, onAuthLost }: {
  hasPassword: boolean;
  onChanged: () => Promise<unknown>;
  onAuthLost: OnAuthLost;
}) {
  const list = useLoad(() => call(client.GET("/account/passkeys")).then((d) => d.passkeys), [], onAuthLost);
  const passkeys = list.data;
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const [removePassword, setRemovePassword] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const add = useAction({ onAuthLost });
  const remove = useAction({ onAuthLost });
  // One change at a time: either one locks both forms.
  const busy = add.busy || remove.busy;
  const supported = passkeysSupported();

  function submitAdd(event: FormEvent) {
    event.preventDefault();
    return add.run(async () => {
      setNotice(null);
      const options = await call(client.POST("/account/passkeys/options", { body: hasPassword ? { password } : {} }));
      let credential;
      try {
        credential = await createPasskey(options.publicKey);
      } catch (refused) {
        throw new ApiError(0, { error: passkeyFailure(refused), code: "unknown" });
      }
      const trimmed = name.trim();
      const added = await call(client.POST("/account/passkeys", { body: { credential, ...(trimmed ? { name: trimmed } : {}) } }));
      setName("");
      setPassword("");
      setNotice(`Passkey “${added.name}” added: it signs you in without your password.`);
      await Promise.all([list.reload(), onChanged()]);
    });
  }

  async function removeChosen() {
    if (!removing) return;
    setNotice(null);
    await call(client.DELETE("/account/passkeys/{id}", { params: { path: { id: removing.id } }, body: hasPassword ? { password: removePassword } : {} }));
    setNotice(`Passkey “${removing.name}” removed.`);
    setRemoving(null);
    setRemovePassword("");
    await Promise.all([list.reload(), onChanged()]);
  }

  return (
    <div className="card" data-testid="passkeys">
      <h3>Passkeys</h3>
      {!passkeys ? (
        list.error ? <p className="error" data-testid="passkeys-error">{list.error.message}</p> : <p>Loading passkeys…</p>
      ) : passkeys.length === 0 ? (
        <p data-testid="passkeys-none">No passkeys yet.</p>
      ) : (
        <ListTable kind="passkeys" testid="passkey-list" columns={COLUMNS} items={passkeys}
          row={(p) => ({ "data-testid": "passkey-row", "data-name": p.name })}
          actions={(p) => (
            <button type="button" data-testid={`passkey-remove-${p.id}`} aria-label={`Remove the passkey ${p.name}`}
              onClick={() => { remove.clear(); setRemovePassword(""); setRemoving(p); }}>Remove</button>
          )} />
      )}
      <p className="hint" role="status" data-testid="passkeys-notice" hidden={!notice}>{notice}</p>

      {removing && (
        <ChangeForm name="passkey-remove" action={{ ...remove, busy }} onSubmit={removeChosen} submit="Remove passkey"
          onCancel={() => setRemoving(null)} destructive>
          <h4>Remove “{removing.name}”?</h4>
          {hasPassword && <PasswordField id="passkey-remove-password" value={removePassword} onChange={setRemovePassword} />}
        </ChangeForm>
      )}

      {supported ? (
        <form className="stack" onSubmit={submitAdd} data-testid="passkey-add-form" noValidate>
          <h4>Add a passkey</h4>
          <label htmlFor="passkey-name">Name (to tell your passkeys apart)</label>
          <input id="passkey-name" data-testid="passkey-name" value={name} maxLength={64} placeholder="Work laptop"
            aria-invalid={add.fields.name ? true : undefined} onChange={(e) => setName(e.target.value)} />
          {add.fields.name && <p className="field-error" data-testid="passkey-error-name">{add.fields.name}</p>}
          {hasPassword && (
            <PasswordField id="passkey-password" value={password} onChange={setPassword} error={add.fields.password}
              errorTestid="passkey-error-password" />
          )}
          {add.fields.credential && <p className="field-error" role="alert" data-testid="passkey-error-credential">{add.fields.credential}</p>}
          <Problem text={add.error} testid="passkey-add-error" reauth={add.reauth} />
          <button type="submit" data-testid="passkey-add" disabled={busy}>{busy ? "…" : "Add a passkey"}</button>
        </form>
      ) : (
        <p className="hint">This browser cannot make passkeys.</p>
      )}
    </div>
  );
}
