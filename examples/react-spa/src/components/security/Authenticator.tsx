import { useEffect, useMemo, useState } from "react";
import { call, client, type OnAuthLost, type TotpEnrolment, type TwoFactor } from "../../api/client";
import { useAction } from "../../hooks/useAction";
import { ChangeForm, PasswordField } from "./forms";

/** The base32 secret in groups of four, easier to type into an app. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, "$1 ");

/**
 * A button that copies `text` to the clipboard and says so ("Copied"), or
 * says it could not (a browser that refuses: the text is on screen to
 * select by hand).
 */
function CopyButton({ text, testid, label }: { text: string; testid: string; label: string }) {
  const [said, setSaid] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setSaid("Copied");
    } catch {
      setSaid("This browser did not allow copying: select the text instead.");
    }
  }
  return (
    <>
      <button type="button" data-testid={testid} onClick={copy}>{label}</button>
      {said && <span className="hint" role="status" data-testid={`${testid}-said`}>{said}</span>}
    </>
  );
}

/** The codes as a text file to keep: one per line, and what they are. */
function codesFile(codes: string[]): string {
  return `Recovery codes for ${window.location.host}\nEach one signs you in once if you lose your authenticator app.\n\n${codes.join("\n")}\n`;
}

/** Recovery codes, shown this once, until the user says they have kept them. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  // The file to download, made once for these codes and let go with them.
  const download = useMemo(() => URL.createObjectURL(new Blob([codesFile(codes)], { type: "text/plain" })), [codes]);
  useEffect(() => () => URL.revokeObjectURL(download), [download]);
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
      <div className="actions">
        <CopyButton text={codes.join("\n")} testid="recovery-codes-copy" label="Copy" />
        <a className="button" href={download} download="recovery-codes.txt" data-testid="recovery-codes-download">Download</a>
        <button type="button" data-testid="recovery-codes-print" onClick={() => window.print()}>Print</button>
      </div>
      <button type="button" className="primary" data-testid="recovery-codes-done" onClick={onDone}>Done, I have saved them</button>
    </div>
  );
}

// The authenticator app: POST/DELETE /account/totp, POST /account/totp/confirm,
// and POST /account/recovery-codes for a new set.
export default function Authenticator({ status, hasPassword, onChanged, onAuthLost }: {
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
  const action = useAction({ onAuthLost });
  // Without a password, a recent sign-in stands for it.
  const proof = hasPassword ? { password } : {};

  function show(form: typeof open) {
    action.clear();
    setPassword("");
    setCode("");
    setEnrolment(null);
    setOpen(form);
  }
  const close = () => show("none");

  /** After a change the server took: the form closes, the page reloads the status. */
  async function done(recoveryCodes?: string[]) {
    if (recoveryCodes) setCodes(recoveryCodes);
    close();
    await onChanged();
  }

  async function start() {
    setEnrolment(await call(client.POST("/account/totp", { body: proof })));
    setPassword("");
  }
  async function confirm() {
    await done((await call(client.POST("/account/totp/confirm", { body: { code } }))).recovery_codes);
  }
  async function regenerate() {
    await done((await call(client.POST("/account/recovery-codes", { body: proof }))).recovery_codes);
  }
  async function turnOff() {
    await call(client.DELETE("/account/totp", { body: { ...proof, code } }));
    await done();
  }

  const passwordField = (id: string) => hasPassword && (
    <PasswordField id={id} value={password} onChange={setPassword} error={action.fields.password} />
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
        <ChangeForm name="totp-setup" action={action} onSubmit={start} submit="Continue" onCancel={close}>
          <ol className="steps" data-testid="totp-steps">
            <li aria-current="step">{hasPassword ? "Confirm it is you." : "Continue (your recent sign-in stands for a password)."}</li>
            <li>Add this account to an authenticator app such as Aegis, Google Authenticator or 1Password.</li>
            <li>Type the 6-digit code the app shows.</li>
          </ol>
          {passwordField("totp-setup-password")}
        </ChangeForm>
      )}

      {open === "setup" && enrolment && (
        <ChangeForm name="totp-confirm" submitTestid="totp-confirm" action={action} onSubmit={confirm} submit="Turn on"
          onCancel={close} offerReauth={false}>
          <ol className="steps" start={2}>
            <li aria-current="step">
              Add this account to your authenticator app. On another device, scan the code; on this one (a
              phone cannot scan its own screen), open it in the app or copy the key.
            </li>
          </ol>
          <img className="qr" data-testid="totp-qr" width={212} height={212}
            src={"data:image/svg+xml;utf8," + encodeURIComponent(enrolment.qr_svg)}
            alt="QR code of the authenticator secret: scan it with your authenticator app, or type in the key below" />
          <div className="actions">
            <a className="button" href={enrolment.otpauth_url} data-testid="totp-open-app">Open in authenticator app</a>
            <CopyButton text={enrolment.secret} testid="totp-copy" label="Copy the key" />
          </div>
          <p>
            Or type in this key:{" "}
            <code className="secret" data-testid="totp-secret" data-secret={enrolment.secret}>{grouped(enrolment.secret)}</code>
          </p>
          <ol className="steps" start={3}>
            <li>Type the code the app shows for this account.</li>
          </ol>
          <label htmlFor="totp-code">The 6-digit code the app shows now</label>
          <input id="totp-code" data-testid="totp-code" value={code} inputMode="numeric" autoComplete="one-time-code"
            maxLength={8} aria-invalid={action.fields.code ? true : undefined}
            aria-describedby={action.fields.code ? "totp-code-error" : undefined} onChange={(e) => setCode(e.target.value)} />
          {action.fields.code && <p className="field-error" id="totp-code-error" role="alert" data-testid="totp-error-code">{action.fields.code}</p>}
        </ChangeForm>
      )}

      {open === "regenerate" && (
        <ChangeForm name="recovery-regenerate" action={action} onSubmit={regenerate} submit="Make new codes" onCancel={close}>
          <p className="hint">Ten new codes; the ones you have now stop working.</p>
          {passwordField("recovery-regenerate-password")}
        </ChangeForm>
      )}

      {open === "off" && (
        <ChangeForm name="totp-off" action={action} onSubmit={turnOff} submit="Turn off" onCancel={close} destructive>
          <p className="hint">Sign-in will ask for your password only; the recovery codes stop working.</p>
          {passwordField("totp-off-password")}
          <label htmlFor="totp-off-code">A code from the app, or a recovery code</label>
          <input id="totp-off-code" data-testid="totp-off-code" value={code} autoComplete="one-time-code"
            aria-invalid={action.fields.code ? true : undefined} onChange={(e) => setCode(e.target.value)} />
          {action.fields.code && <p className="field-error" data-testid="totp-off-error-code">{action.fields.code}</p>}
        </ChangeForm>
      )}
    </div>
  );
}
