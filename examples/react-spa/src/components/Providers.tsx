import { useEffect, useState } from "react";
import {
  call, client, identities, providers, providerStartUrl, type Provider,
} from "../api/client";

/** "github" → "GitHub", "google" → "Google", any other name capitalized ("corp" → "Corp"). */
export function providerLabel(name: string): string {
  const known: Record<string, string> = { github: "GitHub", google: "Google" };
  return known[name] ?? name.charAt(0).toUpperCase() + name.slice(1);
}

export { SIGN_IN_ERRORS } from "../signInErrors";

/**
 * Sends the browser to the provider: a navigation, not a fetch, because the
 * provider's pages are where the person signs in. Started while signed in,
 * it signs in again, and the new session replaces this one (which renews
 * the window for the sensitive changes of an account without a password).
 */
export function goToProvider(name: string, returnTo: string, stay = false) {
  window.location.assign(providerStartUrl(name, returnTo, stay));
}

/**
 * The page to come back to after a sign-in started here: this one, unless
 * it is one of the sign-in pages a provider sends the browser to.
 */
export function thisPage(): string {
  const { pathname, search } = window.location;
  return pathname === "/login" || pathname.startsWith("/login/") ? "/" : pathname + search;
}

/** The providers the server offers (`[]` until it answers, when none is set up, or when not `wanted`). */
export function useProviders(wanted = true): Provider[] {
  const [list, setList] = useState<Provider[]>([]);
  useEffect(() => {
    // Without the list the password form still works: no buttons, no error.
    if (wanted) providers().then(setList).catch(() => setList([]));
  }, [wanted]);
  return list;
}

/**
 * `403 reauth_required`: an account without a password proves it is its
 * owner by a sign-in less than 5 minutes old. Offers one for each provider
 * linked to the account, coming back to `returnTo`, as a session of the
 * kind this one is (the sign-in replaces it).
 */
export function SignInAgain({ returnTo }: { returnTo: string }) {
  const [names, setNames] = useState<string[] | null>(null);
  const [stay, setStay] = useState(false);
  useEffect(() => {
    identities()
      .then((list) => setNames([...new Set(list.map((i) => i.provider))]))
      .catch(() => setNames([]));
    call(client.GET("/sessions"))
      .then((d) => setStay(d.sessions.some((s) => s.current && s.stay_signed_in)))
      .catch(() => setStay(false));
  }, []);
  return (
    <div className="actions" data-testid="reauth">
      <p className="hint">
        For this change, sign in again with your provider (a sign-in is good for 5 minutes), then try again.
      </p>
      {names?.map((name) => (
        <button type="button" key={name} data-testid={`reauth-${name}`} onClick={() => goToProvider(name, returnTo, stay)}>
          Sign in again with {providerLabel(name)}
        </button>
      ))}
    </div>
  );
}
