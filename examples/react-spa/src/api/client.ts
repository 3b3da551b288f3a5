// The one place the app talks to the tollgate API.
//
// Every path, parameter, request body and answer is typed from the server's
// contract: `schema.d.ts` is generated from the repository's openapi.yaml
// (`npm run gen:api`), so a field renamed there fails `npm run typecheck`
// here instead of showing `undefined` on a user's page.
//
// `credentials: "include"` makes the browser send (and store) the `session`
// cookie on these cross-origin calls; without it every guarded route answers
// 401 not_logged_in.

import createClient from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type Account = Schemas["Account"];
export type Meter = Schemas["Meter"];
export type Post = Schemas["Post"];
export type PostList = Schemas["PostList"];
export type Session = Schemas["Session"];
export type AccountEvent = Schemas["Event"];
export type Plan = User["plan"];
export type Role = Schemas["Role"];
export type Access = Schemas["Access"];
export type PostStatus = Schemas["PostStatus"];
export type EditablePost = Schemas["EditablePost"];
export type EditablePostList = Schemas["EditablePostList"];
export type AdminUser = Schemas["AdminUser"];
export type AdminUserList = Schemas["AdminUserList"];
export type Insights = Schemas["Insights"];
export type InsightDay = Schemas["InsightDay"];
export type InsightTotals = Schemas["InsightTotals"];
export type InsightSort = Schemas["InsightSort"];
export type PostInsights = Schemas["PostInsights"];
export type PostInsight = Schemas["PostInsight"];
export type TwoFactor = Schemas["TwoFactor"];
export type TwoFactorRequired = Schemas["TwoFactorRequired"];
export type TotpEnrolment = Schemas["TotpEnrolment"];
export type RecoveryCodes = Schemas["RecoveryCodes"];
export type Passkey = Schemas["Passkey"];
export type PasskeyList = Schemas["PasskeyList"];
export type PasskeyCreationOptions = Schemas["PasskeyCreationOptions"];
export type PasskeyRequestOptions = Schemas["PasskeyRequestOptions"];
export type RegistrationCredential = Schemas["RegistrationCredential"];
export type AuthenticationCredential = Schemas["AuthenticationCredential"];
export type Provider = Schemas["Provider"];
export type Identity = Schemas["Identity"];
export type ProviderSignInError = Schemas["ProviderSignInError"];
export type AccountExport = Schemas["AccountExport"];

export const API_URL = (import.meta.env.VITE_API_URL ?? "http://localhost:8080").replace(/\/$/, "");

export const client = createClient<paths>({ baseUrl: API_URL, credentials: "include" });

/** What an error answer can carry: `{error, code}` plus the extras some codes add. */
type ErrorBody = Partial<Schemas["Error"]> & {
  fields?: Schemas["ValidationError"]["fields"];
  meter?: Meter;
};

/**
 * `code` of an ApiError: the contract's codes, `network` when the API could
 * not be reached, `unknown` when the answer was not the contract's JSON.
 */
export type ErrorCode = Schemas["Error"]["code"] | "network" | "unknown";

/** An error answer from the API: `{error, code}` plus the extras some codes carry. */
export class ApiError extends Error {
  /** HTTP status, or 0 when the API could not be reached. */
  readonly status: number;
  /** e.g. "validation_failed", "paywall". */
  readonly code: ErrorCode;
  /** 422: {field: "what is wrong"}. */
  readonly fields: Record<string, string>;
  /** 402: the used-up meter. */
  readonly meter: Meter;
  /** 429: seconds until the login lockout ends. */
  readonly retryAfter: number | null;

  constructor(status: number, body: unknown, retryAfter: number | null = null) {
    const known = (typeof body === "object" && body !== null ? body : {}) as ErrorBody;
    super(known.error ?? `Request failed with status ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = known.code ?? "unknown";
    // A password's length is counted in bytes by the server; a reader counts characters.
    this.fields = Object.fromEntries(
      Object.entries(known.fields ?? {}).map(([field, text]) => [field, text.replace(/\bbytes\b/g, "characters")]),
    );
    this.meter = known.meter ?? null;
    this.retryAfter = retryAfter;
  }
}

/** Called with any error a view meets; a 401 there means the session is gone. */
export type OnAuthLost = (err: ApiError) => void;

/** What every `client.GET/POST/DELETE(…)` resolves to. */
interface Answer<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/**
 * Awaits a `client` call: the typed body of a 2xx answer (`undefined` for
 * 204), or an ApiError for anything else, so components handle one shape.
 *
 *   const user = await call(client.POST("/login", { body: { username, password, stay_signed_in } }));
 */
export async function call<D>(pending: Promise<Answer<D>>): Promise<D> {
  let answer: Answer<D>;
  try {
    answer = await pending;
  } catch (err) {
    // fetch() rejects with a TypeError when there is no answer at all.
    if (err instanceof TypeError) {
      throw new ApiError(0, { error: "We can't reach the site right now. Check your connection and try again.", code: "network" });
    }
    throw new ApiError(0, { error: "Something went wrong on our side. Please try again.", code: "unknown" });
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, error, retry === null ? null : Number(retry));
  }
  return data as D;
}

/**
 * Whether `POST /login` answered `202`: the password was right, but the
 * account has an authenticator app on, so the login waits for
 * `POST /login/two-factor` (a code, or a recovery code) or, when
 * `methods` includes `passkey`, `POST /login/passkey`, instead of
 * answering the User.
 */
export function needsSecondStep(answer: User | TwoFactorRequired): answer is TwoFactorRequired {
  return "status" in answer && answer.status === "two_factor_required";
}

/**
 * `GET /admin/members.csv` (admins): every member as CSV, whole. The server
 * streams it; a download that breaks off midway is an ApiError (`network`),
 * never a short list.
 */
export async function membersCsv(): Promise<Blob> {
  const body = await call(client.GET("/admin/members.csv", { parseAs: "stream" }));
  try {
    return await new Response(body).blob();
  } catch {
    throw new ApiError(0, { error: "The download stopped before the end. Please try again.", code: "network" });
  }
}

/** `GET /account/export`: everything the server stores about the caller (never a password, secret or token). */
export async function myData(): Promise<AccountExport> {
  return call(client.GET("/account/export"));
}

/** Narrows a caught value to ApiError; anything else is a bug, so rethrown. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  throw err;
}

// Signing in with other providers (OpenID Connect, GitHub). A sign-in is a
// browser navigation, not a fetch: the browser goes to the API's
// `/auth/{provider}/start`, on to the provider, back to the API, and ends
// at this app — at `return_to` with a session cookie, at
// `/login/two-factor` when the account has an authenticator app on, or at
// `/login?error=<code>`. A link starts with a fetch (`linkIdentity`), which
// answers the address of the same journey.

/** `GET /auth/providers`: the names for the "Continue with …" buttons (`[]` when none is set up). */
export async function providers(): Promise<Provider[]> {
  return (await call(client.GET("/auth/providers"))).providers;
}

/** `GET /account/identities`: the provider identities linked to the caller's account, oldest first. */
export async function identities(): Promise<Identity[]> {
  return (await call(client.GET("/account/identities"))).identities;
}

/**
 * `DELETE /account/identities/{id}`. Throws an ApiError with code
 * `last_login_method` when it is the account's only way left to sign in
 * (no password, no passkey, no other identity).
 */
export async function unlinkIdentity(id: Identity["id"]): Promise<void> {
  await call(client.DELETE("/account/identities/{id}", { params: { path: { id } } }));
}

/**
 * `POST /account/identities`: the URL to send the browser to
 * (`window.location.assign(…)`) to link provider `name` to the caller's
 * account; the provider sends it back to `returnTo` with the identity
 * linked and the same session. A sensitive change: `password` is the
 * account's (a wrong one is `invalid_credentials`), undefined for an account
 * without one, which may link only within 5 minutes of signing in
 * (`reauth_required`). The answer also sets a cookie that binds the flow
 * to this browser.
 */
export async function linkIdentity(name: Provider["name"], password: string | undefined, returnTo: string): Promise<string> {
  const body = { provider: name, return_to: returnTo, ...(password === undefined ? {} : { password }) };
  return (await call(client.POST("/account/identities", { body }))).url;
}

/** The route a sign-in starts at, checked against the contract's paths. */
const PROVIDER_START: keyof paths = "/auth/{provider}/start";
type ProviderStartQuery = NonNullable<operations["startProviderSignIn"]["parameters"]["query"]>;

/**
 * The URL to send the browser to (`window.location.assign(…)`, or a link's
 * `href`) to sign in with provider `name`, coming back to `returnTo`, a path
 * of this app (the server replaces anything else with `/`). Signed in
 * already, it is a sign-in all the same, whose session replaces this one;
 * linking an identity is `linkIdentity`.
 */
export function providerStartUrl(name: Provider["name"], returnTo = "/", staySignedIn = false): string {
  const query: ProviderStartQuery = { return_to: returnTo, ...(staySignedIn ? { stay_signed_in: true } : {}) };
  const url = new URL(API_URL + PROVIDER_START.replace("{provider}", encodeURIComponent(name)));
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
  return url.toString();
}

const PROVIDER_SIGN_IN_ERRORS: Record<ProviderSignInError, true> = {
  invalid_state: true,
  access_denied: true,
  provider_error: true,
  invalid_id_token: true,
  account_disabled: true,
  identity_taken: true,
  too_many_requests: true,
  unavailable: true,
  internal: true,
};

/**
 * The code a failed provider sign-in left in this app's `/login?error=…`
 * (pass `window.location.search`), or null when there is none or it is not
 * one of the contract's.
 */
export function providerSignInError(search: string): ProviderSignInError | null {
  const code = new URLSearchParams(search).get("error");
  return code !== null && Object.hasOwn(PROVIDER_SIGN_IN_ERRORS, code) ? (code as ProviderSignInError) : null;
}
