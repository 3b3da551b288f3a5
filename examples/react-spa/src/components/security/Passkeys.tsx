import { useState, type FormEvent } from "react";
import { ApiError, call, client, type OnAuthLost, type Passkey } from "../../api/client";
import { day, when } from "../../dates";
import { useLoad } from "../../hooks/useLoad";
import { createPasskey, passkeyFailure, passkeysSupported } from "../../webauthn";
import { ChangeForm, PasswordField, Problem, useAction } from "./forms";

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
  const add = useAction(onAuthLost);
  const remove = useAction(onAuthLost);
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
        <table className="list passkeys" data-testid="passkey-list">
          <thead><tr><th>Name</th><th>Added</th><th>Last used</th><th></th></tr></thead>
          <tbody>
            {passkeys.map((p) => (
              <tr key={p.id} data-testid="passkey-row" data-name={p.name}>
                <td data-label="Name">{p.name}</td>
                <td data-label="Added">{day(p.created_at)}</td>
                <td data-label="Last used" data-testid="passkey-last-used">{p.last_used_at ? when(p.last_used_at) : "never"}</td>
                <td className="actions">
                  <button type="button" data-testid={`passkey-remove-${p.id}`} aria-label={`Remove the passkey ${p.name}`}
                    onClick={() => { remove.clear(); setRemovePassword(""); setRemoving(p); }}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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
