import { useState, type FormEvent } from "react";
import { ApiError, call, client, type TwoFactorRequired, type User } from "../api/client";
import { useAction } from "../hooks/useAction";
import { getPasskey, passkeyFailure, passkeysSupported } from "../webauthn";

/**
 * Signs in with a passkey: POST /login/passkey/options, the browser's
 * prompt, POST /login/passkey. On its own it is a whole sign-in (a passkey
 * is both factors); after a right password it finishes the pending one
 * (the server then lists that user's passkeys and ignores `stay`).
 */
export async function signInWithPasskey(stay: boolean): Promise<User> {
  const options = await call(client.POST("/login/passkey/options", { body: {} }));
  let credential;
  try {
    credential = await getPasskey(options.publicKey);
  } catch (refused) {
    // The browser's refusal reads like the API's errors, so forms handle one shape.
    throw new ApiError(0, { error: passkeyFailure(refused), code: "unknown" });
  }
  return call(client.POST("/login/passkey", { body: { credential, stay_signed_in: stay } }));
}

/** A sign-in's failure as a sentence; after too many, when the lockout ends. */
export function lockoutProblem(err: ApiError): string {
  return err.code === "too_many_attempts" && err.retryAfter != null
    ? `${err.message} Try again in ${Math.ceil(err.retryAfter / 60)} min.`
    : err.message;
}

// The second step of a login (POST /login answered 202, or a provider
// sign-in sent the browser to /login/two-factor): a code from the
// authenticator app, a recovery code, or a passkey, within the 300 s the
// pending sign-in lives.
export default function SecondStep({ methods, onSuccess, onRestart, intro = "Your password is right." }: {
  methods: TwoFactorRequired["methods"];
  onSuccess: (user: User) => void;
  /** Back to the password step, with the reason to show there. */
  onRestart: (reason: string | null) => void;
  /** What the first step was. */
  intro?: string;
}) {
  const [recovery, setRecovery] = useState(!methods.includes("totp"));
  const [code, setCode] = useState("");
  // A success signs in: the step stays locked until the app (or the next page) replaces it.
  const { busy, error, clear, run } = useAction({
    leaves: true,
    explain: (err) => {
      if (err.code === "invalid_code") return recovery ? "That recovery code is not right (or was used already)." : "That code is not right.";
      // Said by the step that replaces this one (see `attempt`).
      if (err.code === "not_logged_in") return {};
      return lockoutProblem(err);
    },
  });
  const canRecover = methods.includes("recovery_code");
  const canPasskey = methods.includes("passkey") && passkeysSupported();

  async function attempt(signIn: () => Promise<User>) {
    const done = await run(async () => onSuccess(await signIn()));
    // The pending sign-in is gone (its 300 s passed): start again, from a step that replaces this one.
    if (!done.ok && done.err.code === "not_logged_in") {
      onRestart("The sign-in timed out after 5 minutes. Enter your password again.");
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const body = recovery ? { recovery_code: code.trim() } : { code: code.replace(/\s/g, "") };
    return attempt(() => call(client.POST("/login/two-factor", { body })));
  }

  const passkey = () => attempt(() => signInWithPasskey(false));

  function switchMode() {
    setRecovery(!recovery);
    setCode("");
    clear();
  }

  return (
    <form className="card" onSubmit={submit} data-testid="second-step" noValidate>
      <h2>Two-step sign-in</h2>
      <p className="hint">{intro} Now prove it is you with your second factor.</p>
      {recovery ? (
        <>
          <label htmlFor="second-step-recovery">A recovery code</label>
          <input id="second-step-recovery" data-testid="second-step-recovery" value={code} autoComplete="off"
            autoCapitalize="off" spellCheck={false} placeholder="xxxx-xxxx-xxxx-xxxx" autoFocus
            aria-invalid={error ? true : undefined} aria-describedby="second-step-error"
            onChange={(e) => setCode(e.target.value)} />
        </>
      ) : (
        <>
          <label htmlFor="second-step-code">The 6-digit code from your authenticator app</label>
          <input id="second-step-code" data-testid="second-step-code" value={code} inputMode="numeric"
            autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} autoFocus
            aria-invalid={error ? true : undefined} aria-describedby="second-step-error"
            onChange={(e) => setCode(e.target.value)} />
        </>
      )}
      <p className="error" id="second-step-error" role="alert" data-testid="second-step-error" hidden={!error}>{error}</p>
      <button type="submit" data-testid="second-step-submit" disabled={busy || !code.trim()}>{busy ? "…" : "Sign in"}</button>
      {canRecover && methods.includes("totp") && (
        <button type="button" className="link" data-testid="second-step-switch" aria-pressed={recovery} onClick={switchMode}>
          {recovery ? "Use a code from the app instead" : "Lost your phone? Use a recovery code"}
        </button>
      )}
      {canPasskey && (
        <button type="button" data-testid="second-step-passkey" disabled={busy} onClick={passkey}>Use a passkey</button>
      )}
      <button type="button" className="link" data-testid="second-step-cancel" onClick={() => onRestart(null)}>
        Back to the password
      </button>
    </form>
  );
}
