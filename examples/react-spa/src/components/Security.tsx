import { useCallback, useEffect, useState, type FormEvent } from "react";
import {
  ApiError, asApiError, call, client, identities, unlinkIdentity, type Account, type Identity, type OnAuthLost,
  type Passkey, type TotpEnrolment, type TwoFactor,
} from "../api/client";
import { day, when } from "../dates";
import { createPasskey, passkeyFailure, passkeysSupported } from "../webauthn";
import { goToProvider, providerLabel, SignInAgain, useProviders } from "./Providers";

/** Where a sign-in with a provider started on this page comes back to (App's landing). */
const THIS_PAGE = "/account/security";

/** The base32 secret in groups of four, easier to type into an app. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, "$1 ");

/**
 * What a failed call means for a form here: a 422's field messages, or one
 * sentence. A wrong password is a 401 too (invalid_credentials); only a lost
 * session (not_logged_in) goes back to the login form. `reauth`: an account
 * without a password signed in too long ago for this change
 * (reauth_required), so the form offers to sign in again with its provider.
 */
function useFailure(onAuthLost: OnAuthLost) {
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [reauth, setReauth] = useState(false);
  const fail = useCallback((caught: unknown) => {
    const err: ApiError = asApiError(caught);
    if (err.code === "validation_failed" && Object.keys(err.fields).length) setFields(err.fields);
    else setError(err.message);
    setReauth(err.code === "reauth_required");
    if (err.code === "not_logged_in") onAuthLost(err);
  }, [onAuthLost]);
  const clear = useCallback(() => {
    setError(null);
    setFields({});
    setReauth(false);
  }, []);
  return { error, fields, reauth, fail, clear };
}

/**
 * An error sentence, announced to screen readers as it appears; after
 * reauth_required, the buttons to sign in again with a provider.
 */
function Problem({ text, testid, reauth = false }: { text: string | null; testid: string; reauth?: boolean }) {
  return (
    <>
      <p className="error" role="alert" data-testid={testid} hidden={!text}>{text}</p>
      {reauth && <SignInAgain returnTo={THIS_PAGE} />}
    </>
  );
}

// The account's second factors: the authenticator app (POST/DELETE
// /account/totp, POST /account/totp/confirm, POST /account/recovery-codes)
// and passkeys (GET/POST /account/passkeys, DELETE /account/passkeys/{id});
// the providers it signs in with (GET/DELETE /account/identities); and, for
// an account made by a provider, its first password (POST /password).
// Such an account has no password to type: its forms leave the field out.
export default function Security({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const [account, setAccount] = useState<Account | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [passwordSet, setPasswordSet] = useState(false);

  const load = useCallback(() => {
    return call(client.GET("/account"))
      .then(setAccount)
      .catch((caught: unknown) => {
        const err = asApiError(caught);
        setError(err.message);
        onAuthLost(err);
      });
  }, [onAuthLost]);

  useEffect(() => {
    load();
  }, [load]);

  if (!account) {
    return error ? <p className="error" data-testid="security-error">{error}</p> : <p>Loading your sign-in settings…</p>;
  }
  const status = account.two_factor;
  const hasPassword = account.has_password;
  return (
    <section className="security" data-testid="security">
      <h2>Account security</h2>
      <p className="hint">
        After your password, sign-in can ask for a code from an authenticator app. Passkeys sign you in
        on their own, without the password.
      </p>
      {passwordSet && (
        <p className="note" role="status" data-testid="password-set">
          Your password is set: you can now sign in with your username and password too.
        </p>
      )}
      <div className="security-grid">
        <Authenticator status={status} hasPassword={hasPassword} onChanged={load} onAuthLost={onAuthLost} />
        <Passkeys hasPassword={hasPassword} onChanged={load} onAuthLost={onAuthLost} />
        <SignInProviders onAuthLost={onAuthLost} />
        {!hasPassword && <SetPassword onChanged={() => load().then(() => setPasswordSet(true))} onAuthLost={onAuthLost} />}
      </div>
    </section>
  );
}

/** Recovery codes, shown this once, until the user says they have kept them. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="codes" data-testid="recovery-codes">
      <p role="status"><strong>Save these recovery codes now.</strong> They are shown only this once.</p>
      <p className="hint">
        Each one signs you in once, or turns the authenticator app off, if you lose your phone. Keep them
        somewhere safe, apart from the phone (a password manager, or printed).
      </p>
      <ol>
        {codes.map((c) => <li key={c}><code data-testid="recovery-code">{c}</code></li>)}
      </ol>
      <button type="button" data-testid="recovery-codes-done" onClick={onDone}>Done, I have saved them</button>
    </div>
  );
}

function Authenticator({ status, hasPassword, onChanged, onAuthLost }: {
  status: TwoFactor;
  hasPassword: boolean;
  onChanged: () => Promise<unknown>;
  onAuthLost: OnAuthLost;
}) {
  // Which form is open: none, set-up (password, then the code), new codes, turn off.
  const [open, setOpen] = useState<"none" | "setup" | "regenerate" | "off">("none");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const { error, fields, reauth, fail, clear } = useFailure(onAuthLost);
  // Without a password, a recent sign-in stands for it.
  const proof = hasPassword ? { password } : {};

  function show(form: typeof open) {
    clear();
    setPassword("");
    setCode("");
    setEnrolment(null);
    setOpen(form);
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    clear();
    try {
      await action();
    } catch (caught) {
      fail(caught);
    }
    setBusy(false);
  }

  const start = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      setEnrolment(await call(client.POST("/account/totp", { body: proof })));
      setPassword("");
    });
  };
  const confirm = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      const answer = await call(client.POST("/account/totp/confirm", { body: { code } }));
      setCodes(answer.recovery_codes);
      show("none");
      await onChanged();
    });
  };
  const regenerate = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      const answer = await call(client.POST("/account/recovery-codes", { body: proof }));
      setCodes(answer.recovery_codes);
      show("none");
      await onChanged();
    });
  };
  const turnOff = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      await call(client.DELETE("/account/totp", { body: { ...proof, code } }));
      show("none");
      await onChanged();
    });
  };

  const passwordField = (id: string) => hasPassword && (
    <>
      <label htmlFor={id}>Your password</label>
      <input id={id} data-testid={id} type="password" value={password} autoComplete="current-password"
        aria-invalid={fields.password ? true : undefined} onChange={(e) => setPassword(e.target.value)} />
      {fields.password && <p className="field-error" data-testid={`${id}-error`}>{fields.password}</p>}
    </>
  );

  return (
    <div className="card" data-testid="totp">
      <h3>Authenticator app</h3>
      <p data-testid="totp-status" data-on={status.totp ? "true" : "false"}>
        {status.totp
          ? <>On. <span data-testid="recovery-codes-left">{status.recovery_codes_left}</span> unused recovery code{status.recovery_codes_left === 1 ? "" : "s"}.</>
          : `Off: your ${hasPassword ? "password" : "provider"} alone signs you in.`}
      </p>

      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}

      {!codes && open === "none" && (
        <div className="actions">
          {!status.totp && <button type="button" data-testid="totp-setup" onClick={() => show("setup")}>Set up an authenticator app</button>}
          {status.totp && <button type="button" data-testid="recovery-regenerate" onClick={() => show("regenerate")}>New recovery codes</button>}
          {status.totp && <button type="button" data-testid="totp-off" onClick={() => show("off")}>Turn off</button>}
        </div>
      )}

      {open === "setup" && !enrolment && (
        <form className="stack" onSubmit={start} data-testid="totp-setup-form" noValidate>
          <p className="hint">{hasPassword ? "Confirm it is you; then scan" : "Scan"} a QR code with an app such as Aegis, Google Authenticator or 1Password.</p>
          {passwordField("totp-setup-password")}
          <Problem text={error} testid="totp-setup-error" reauth={reauth} />
          <div className="actions">
            <button type="submit" data-testid="totp-setup-submit" disabled={busy}>{busy ? "…" : "Continue"}</button>
            <button type="button" className="link" onClick={() => show("none")}>Cancel</button>
          </div>
        </form>
      )}

      {open === "setup" && enrolment && (
        <form className="stack" onSubmit={confirm} data-testid="totp-confirm-form" noValidate>
          <img className="qr" data-testid="totp-qr" width={212} height={212}
            src={"data:image/svg+xml;utf8," + encodeURIComponent(enrolment.qr_svg)}
            alt="QR code of the authenticator secret: scan it with your authenticator app, or type in the key below" />
          <p>
            Can't scan it? Type in this key:{" "}
            <code className="secret" data-testid="totp-secret" data-secret={enrolment.secret}>{grouped(enrolment.secret)}</code>
          </p>
          <label htmlFor="totp-code">The 6-digit code the app shows now</label>
          <input id="totp-code" data-testid="totp-code" value={code} inputMode="numeric" autoComplete="one-time-code"
            maxLength={8} aria-invalid={fields.code ? true : undefined} aria-describedby={fields.code ? "totp-code-error" : undefined}
            onChange={(e) => setCode(e.target.value)} />
          {fields.code && <p className="field-error" id="totp-code-error" role="alert" data-testid="totp-error-code">{fields.code}</p>}
          <Problem text={error} testid="totp-confirm-error" />
          <div className="actions">
            <button type="submit" data-testid="totp-confirm" disabled={busy}>{busy ? "…" : "Turn on"}</button>
            <button type="button" className="link" onClick={() => show("none")}>Cancel</button>
          </div>
        </form>
      )}

      {open === "regenerate" && (
        <form className="stack" onSubmit={regenerate} data-testid="recovery-regenerate-form" noValidate>
          <p className="hint">Ten new codes; the ones you have now stop working.</p>
          {passwordField("recovery-regenerate-password")}
          <Problem text={error} testid="recovery-regenerate-error" reauth={reauth} />
          <div className="actions">
            <button type="submit" data-testid="recovery-regenerate-submit" disabled={busy}>{busy ? "…" : "Make new codes"}</button>
            <button type="button" className="link" onClick={() => show("none")}>Cancel</button>
          </div>
        </form>
      )}

      {open === "off" && (
        <form className="stack" onSubmit={turnOff} data-testid="totp-off-form" noValidate>
          <p className="hint">Sign-in will ask for your password only; the recovery codes stop working.</p>
          {passwordField("totp-off-password")}
          <label htmlFor="totp-off-code">A code from the app, or a recovery code</label>
          <input id="totp-off-code" data-testid="totp-off-code" value={code} autoComplete="one-time-code"
            aria-invalid={fields.code ? true : undefined} onChange={(e) => setCode(e.target.value)} />
          {fields.code && <p className="field-error" data-testid="totp-off-error-code">{fields.code}</p>}
          <Problem text={error} testid="totp-off-error" reauth={reauth} />
          <div className="actions">
            <button type="submit" className="destructive" data-testid="totp-off-submit" disabled={busy}>{busy ? "…" : "Turn off"}</button>
            <button type="button" className="link" onClick={() => show("none")}>Cancel</button>
          </div>
        </form>
      )}
    </div>
  );
}

function Passkeys({ hasPassword, onChanged, onAuthLost }: {
  hasPassword: boolean;
  onChanged: () => Promise<unknown>;
  onAuthLost: OnAuthLost;
}) {
  const [passkeys, setPasskeys] = useState<Passkey[] | null>(null);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const [removePassword, setRemovePassword] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const add = useFailure(onAuthLost);
  const remove = useFailure(onAuthLost);
  const list = useFailure(onAuthLost);
  const supported = passkeysSupported();

  const load = useCallback(() => {
    return call(client.GET("/account/passkeys")).then((d) => setPasskeys(d.passkeys)).catch(list.fail);
  }, [list.fail]);

  useEffect(() => {
    load();
  }, [load]);

  async function submitAdd(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    add.clear();
    setNotice(null);
    try {
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
      await Promise.all([load(), onChanged()]);
    } catch (caught) {
      add.fail(caught);
    }
    setBusy(false);
  }

  async function submitRemove(event: FormEvent) {
    event.preventDefault();
    if (!removing) return;
    setBusy(true);
    remove.clear();
    setNotice(null);
    try {
      await call(client.DELETE("/account/passkeys/{id}", { params: { path: { id: removing.id } }, body: hasPassword ? { password: removePassword } : {} }));
      setNotice(`Passkey “${removing.name}” removed.`);
      setRemoving(null);
      setRemovePassword("");
      await Promise.all([load(), onChanged()]);
    } catch (caught) {
      remove.fail(caught);
    }
    setBusy(false);
  }

  return (
    <div className="card" data-testid="passkeys">
      <h3>Passkeys</h3>
      {!passkeys ? (
        list.error ? <p className="error" data-testid="passkeys-error">{list.error}</p> : <p>Loading passkeys…</p>
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
        <form className="stack" onSubmit={submitRemove} data-testid="passkey-remove-form" noValidate>
          <h4>Remove “{removing.name}”?</h4>
          {hasPassword && (
            <>
              <label htmlFor="passkey-remove-password">Your password</label>
              <input id="passkey-remove-password" data-testid="passkey-remove-password" type="password" value={removePassword}
                autoComplete="current-password" onChange={(e) => setRemovePassword(e.target.value)} />
            </>
          )}
          <Problem text={remove.error} testid="passkey-remove-error" reauth={remove.reauth} />
          <div className="actions">
            <button type="submit" className="destructive" data-testid="passkey-remove-submit" disabled={busy}>{busy ? "…" : "Remove passkey"}</button>
            <button type="button" className="link" onClick={() => setRemoving(null)}>Cancel</button>
          </div>
        </form>
      )}

      {supported ? (
        <form className="stack" onSubmit={submitAdd} data-testid="passkey-add-form" noValidate>
          <h4>Add a passkey</h4>
          <label htmlFor="passkey-name">Name (to tell your passkeys apart)</label>
          <input id="passkey-name" data-testid="passkey-name" value={name} maxLength={64} placeholder="Work laptop"
            aria-invalid={add.fields.name ? true : undefined} onChange={(e) => setName(e.target.value)} />
          {add.fields.name && <p className="field-error" data-testid="passkey-error-name">{add.fields.name}</p>}
          {hasPassword && (
            <>
              <label htmlFor="passkey-password">Your password</label>
              <input id="passkey-password" data-testid="passkey-password" type="password" value={password}
                autoComplete="current-password" aria-invalid={add.fields.password ? true : undefined}
                onChange={(e) => setPassword(e.target.value)} />
              {add.fields.password && <p className="field-error" data-testid="passkey-error-password">{add.fields.password}</p>}
            </>
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

/**
 * The providers the account signs in with: each linked identity with
 * Remove (refused, 409 last_login_method, while it is the only way in), and
 * "Link …" for each provider not linked yet: a sign-in started while signed
 * in links the identity to this account and comes back here.
 */
function SignInProviders({ onAuthLost }: { onAuthLost: OnAuthLost }) {
  const [linked, setLinked] = useState<Identity[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const list = useFailure(onAuthLost);
  const remove = useFailure(onAuthLost);
  const offered = useProviders();

  const load = useCallback(() => identities().then(setLinked).catch(list.fail), [list.fail]);

  useEffect(() => {
    load();
  }, [load]);

  async function unlink(identity: Identity) {
    setBusy(true);
    remove.clear();
    setNotice(null);
    try {
      await unlinkIdentity(identity.id);
      setNotice(`${providerLabel(identity.provider)} no longer signs you in.`);
      await load();
    } catch (caught) {
      remove.fail(caught);
    }
    setBusy(false);
  }

  const unlinked = offered.filter((p) => !linked?.some((i) => i.provider === p.name));
  return (
    <div className="card" data-testid="identities">
      <h3>Sign-in providers</h3>
      {!linked ? (
        list.error ? <p className="error" data-testid="identities-error">{list.error}</p> : <p>Loading providers…</p>
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
                  <button type="button" data-testid={`identity-remove-${i.id}`} disabled={busy}
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

/**
 * An account made by a provider has no password: it may set one
 * (POST /password with only `new_password`) within 5 minutes of signing in,
 * then sign in with its username and that password too.
 */
function SetPassword({ onChanged, onAuthLost }: { onChanged: () => Promise<unknown>; onAuthLost: OnAuthLost }) {
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const { error, fields, reauth, fail, clear } = useFailure(onAuthLost);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    clear();
    try {
      await call(client.POST("/password", { body: { new_password: password } }));
      setPassword("");
      await onChanged(); // has_password is now true: this card goes, the forms ask for it
    } catch (caught) {
      fail(caught);
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} data-testid="set-password-form" noValidate>
      <h3>Password</h3>
      <p className="hint">
        You sign in with a provider and have no password here. Set one to sign in with your username too.
      </p>
      <label htmlFor="set-password">New password</label>
      <input id="set-password" data-testid="set-password" type="password" value={password} autoComplete="new-password"
        aria-invalid={fields.new_password ? true : undefined} onChange={(e) => setPassword(e.target.value)} />
      {fields.new_password && <p className="field-error" data-testid="set-password-error-field">{fields.new_password}</p>}
      <Problem text={error} testid="set-password-error" reauth={reauth} />
      <button type="submit" data-testid="set-password-submit" disabled={busy || !password}>{busy ? "…" : "Set a password"}</button>
    </form>
  );
}
