import type { ProviderSignInError } from "./api/client";

/** What the sign-in page says when a provider sign-in came back as `/login?error=<code>`. */
export const SIGN_IN_ERRORS: Record<ProviderSignInError, string> = {
  invalid_state: "That sign-in expired or was started in another browser. Please try again.",
  access_denied: "You cancelled the sign-in at the provider.",
  provider_error: "The provider could not sign you in. Please try again in a moment.",
  invalid_id_token: "The provider's answer could not be verified, so you were not signed in.",
  account_disabled: "This account is disabled.",
  identity_taken: "That provider account already signs in to another account here, so it was not linked to this one.",
  too_many_requests: "Too many sign-ins were started from your network. Please try again later.",
  unavailable: "The server is busy. Please try again in a moment.",
  internal: "Something went wrong on our side. Please try again.",
};
