// The one place the app talks to the tollgate API.
//
// `credentials: "include"` makes the browser send (and store) the `session`
// cookie on these cross-origin calls; without it every guarded route answers
// 401 not_logged_in.

export const API_URL = (import.meta.env.VITE_API_URL ?? "http://localhost:8080").replace(/\/$/, "");

/** An error answer from the API: `{error, code}` plus the extras some codes carry. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error ?? `Request failed with status ${status}`);
    this.name = "ApiError";
    this.status = status; // HTTP status, or 0 when the API could not be reached
    this.code = body?.code ?? "unknown"; // e.g. "validation_failed", "paywall"
    this.fields = body?.fields ?? {}; // 422: {field: "what is wrong"}
    this.meter = body?.meter ?? null; // 402: the used-up meter
    this.retryAfter = retryAfter; // 429: seconds until the login lockout ends
  }
}

/**
 * `api("/login", {method: "POST", body: {...}})` → the parsed JSON body
 * (or `null` for 204). Throws ApiError for any non-2xx answer.
 */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "include", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(API_URL + path, init);
  } catch {
    throw new ApiError(0, {
      error: `Cannot reach the API at ${API_URL}. Is the server running?`,
      code: "network",
    });
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, data, retry === null ? null : Number(retry));
  }
  return data;
}
