// The addresses of the sign-in screens, shared by the app's frame (titles,
// where a sign-in goes next) and the signed-out pages, which load later.

/** After a provider, an account with an authenticator app on finishes its
 * sign-in here ({APP_URL}/login/two-factor): the session cookie holds the
 * pending sign-in, which only the second step accepts. */
export const SECOND_STEP_PATH = "/login/two-factor";
/** The forgot-password form. */
export const FORGOT_PATH = "/login/forgot-password";
/** The request for a sign-in link by email. */
export const BY_EMAIL_PATH = "/login/by-email";

/** Each signed-out screen's title, by its address. */
export const SIGNED_OUT_TITLES: Record<string, string | undefined> = {
  "/login": "Log in",
  "/join": "Create an account",
  [FORGOT_PATH]: "Reset your password",
  [BY_EMAIL_PATH]: "Sign in by email",
};

/** The sign-in screens, which a finished sign-in leaves for the front page. */
export const SIGN_IN_PATHS = ["/login", "/join", SECOND_STEP_PATH, FORGOT_PATH, BY_EMAIL_PATH];
