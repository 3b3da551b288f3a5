import { lazy, Suspense, useState } from "react";
import type { User } from "../api/client";
import { Link, navigate, useLocation } from "../router";
import AuthForm from "./AuthForm";
import FrontPage from "./FrontPage";
import { Skeleton } from "./Skeleton";
import { BY_EMAIL_PATH, FORGOT_PATH, SECOND_STEP_PATH } from "../paths";

const SecondStep = lazy(() => import("./SecondStep"));
const ForgotPassword = lazy(() => import("./Recovery").then((m) => ({ default: m.ForgotPassword })));
const EmailSignInForm = lazy(() => import("./EmailSignIn").then((m) => ({ default: m.EmailSignInForm })));


/**
 * A visitor without an account: the front page with one form at a time,
 * the login form at /login (and at any member's page, which opens once
 * signed in), the register form at /join.
 */
export default function SignedOut({ startupError, signInError, onSignInError, onSignedIn }: {
  /** Why the session check failed, when it was not a plain "not signed in". */
  startupError: string | null;
  /** Why the last sign-in at a provider did not finish. */
  signInError: string | null;
  onSignInError: (reason: string | null) => void;
  onSignedIn: (user: User) => void;
}) {
  const { path, search } = useLocation();
  // Each form at an address of its own: Back returns to the login form.
  const forgot = path === FORGOT_PATH;
  const byEmail = path === BY_EMAIL_PATH;
  // The login form has turned into a sign-in's second step.
  const [inSecondStep, setInSecondStep] = useState(false);
  const joining = path === "/join" || search.has("join");

  return (
    <FrontPage>
      {startupError && <p className="error" data-testid="startup-error">{startupError}</p>}
      <Suspense fallback={<Skeleton lines={4} />}>
        {path === SECOND_STEP_PATH ? (
          <SecondStep methods={["totp", "recovery_code"]} intro="Your provider has signed you in."
            onSuccess={onSignedIn}
            // The pending sign-in lasts 5 minutes; then it is the provider again.
            onRestart={(reason) => {
              navigate("/login", { replace: true });
              onSignInError(reason && "The sign-in timed out after 5 minutes. Please sign in again.");
            }} />
        ) : forgot ? (
          <ForgotPassword onCancel={() => navigate("/login")} />
        ) : byEmail ? (
          <EmailSignInForm onCancel={() => navigate("/login")} onSuccess={onSignedIn} />
        ) : joining ? (
          // One form at a time: a newcomer's, with the way back.
          <>
            <AuthForm kind="register" onSuccess={onSignedIn} />
            <p className="switch">
              Already have an account?{" "}
              <Link href="/login" data-testid="show-login">Log in</Link>
            </p>
          </>
        ) : (
          <>
            {/* Keyed by the message, so a new one shows even after the form was used. */}
            <AuthForm key={signInError ?? ""} kind="login" onSuccess={onSignedIn} onForgot={() => navigate(FORGOT_PATH)}
              onEmail={() => navigate(BY_EMAIL_PATH)} problem={signInError} onSecondStep={setInSecondStep} />
            {/* Not beside a sign-in's second step: that person has an account. */}
            {!inSecondStep && (
              <p className="switch">
                New here?{" "}
                <Link href="/join" data-testid="show-register">Create an account</Link>
              </p>
            )}
          </>
        )}
      </Suspense>
    </FrontPage>
  );
}
