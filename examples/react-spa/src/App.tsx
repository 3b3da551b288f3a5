import { lazy, Suspense, useCallback, useEffect, useState, type ComponentType } from "react";
import { asApiError, call, client, providerSignInError, type OnAuthLost, type User } from "./api/client";
import AuthForm from "./components/AuthForm";
import PostList, { type Summary } from "./components/PostList";
import PostView from "./components/PostView";
import Sessions from "./components/Sessions";
import Account from "./components/Account";
import Security from "./components/Security";
import Editor from "./components/Editor";
import MyPosts from "./components/MyPosts";
import Users from "./components/Users";
import Webhooks from "./components/Webhooks";
import { managesUsers, readsPostInsights, readsSiteInsights, writesPosts } from "./roles";
import { BillingAction } from "./components/Billing";
import { ForgotPassword, ResetPassword, VerifyEmail } from "./components/Recovery";
import { EmailLinkPage, EmailSignInForm } from "./components/EmailSignIn";
import { GiftPage, MyGifts, giftToken } from "./components/Gifts";
import SecondStep from "./components/SecondStep";
import UnsubscribePage from "./components/Unsubscribe";
import FrontPage from "./components/FrontPage";
import { PUBLICATION } from "./publication";
import { SIGN_IN_ERRORS } from "./components/Providers";

// Insights and its chart library load when the page is first opened: readers never download them.
const Insights = lazy(() => import("./components/Insights"));

/**
 * What the app shows below the header. An editor's `key` is new each time
 * one is opened, so "New post" always starts from an empty form.
 */
type View =
  | { name: "posts" | "sessions" | "account" | "security" | "mine" | "users" | "insights" }
  | { name: "post"; id: number; summary?: Summary }
  | { name: "editor"; id: number | null; key: number };

let editors = 0;
const editorView = (id: number | null): View => ({ name: "editor", id, key: (editors += 1) });

// Where Stripe sends the browser back (APP_URL/billing/success, /cancel,
// and /account from the portal): a note, then the app as usual. Where a
// provider sign-in sends it back: the page it started from (/account,
// /account/security), or APP_URL/login?error=<code> when it failed, shown
// on the login form (or, signed in, as a note on the security page, where
// linking starts).
function landing(): { view: "posts" | "account" | "security"; note: Note | null; signInError: string | null } {
  const path = window.location.pathname;
  if (path === "/login") {
    const code = providerSignInError(window.location.search);
    return { view: code ? "security" : "posts", note: null, signInError: code && SIGN_IN_ERRORS[code] };
  }
  const page = landingPage(path);
  return { ...page, signInError: null };
}

/** A note shown once, on landing: the checkout's outcome. */
type Note = "checkout-done" | "checkout-cancelled";

function landingPage(path: string): { view: "posts" | "account" | "security"; note: Note | null } {
  if (path === "/billing/success") return { view: "account", note: "checkout-done" };
  if (path === "/billing/cancel") return { view: "posts", note: "checkout-cancelled" };
  if (path === "/account") return { view: "account", note: null };
  if (path === "/account/security") return { view: "security", note: null };
  return { view: "posts", note: null };
}

/** The words of a landing note, for a user on `plan`. */
function noteText(note: Note, plan: User["plan"]): string {
  if (note === "checkout-cancelled") return "Checkout cancelled: nothing was charged.";
  return plan === "premium"
    ? "You're premium. Thank you for subscribing!"
    : "Thank you! Your premium plan starts as soon as Stripe confirms the payment.";
}

// After a provider, an account with an authenticator app on finishes its
// sign-in here ({APP_URL}/login/two-factor): the session cookie holds the
// pending sign-in, which only the second step accepts.
const SECOND_STEP_PATH = "/login/two-factor";

// The pages an emailed link opens ({APP_URL}/verify-email?token=…,
// {APP_URL}/reset-password?token=…, {APP_URL}/login/email?token=…, and a
// newsletter's {APP_URL}/unsubscribe?token=…): shown whether or not anyone
// is logged in.
const LINK_PAGES: Record<string, ComponentType | undefined> = {
  "/verify-email": VerifyEmail,
  "/reset-password": ResetPassword,
  "/login/email": EmailLinkPage,
  "/unsubscribe": UnsubscribePage,
};

export default function App() {
  // undefined: still asking the server; null: logged out; object: the User.
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [first] = useState(landing);
  const [view, setView] = useState<View>({ name: first.view });
  const [note, setNote] = useState(first.note);
  const [startupError, setStartupError] = useState<string | null>(null);
  const [forgot, setForgot] = useState(false);
  const [byEmail, setByEmail] = useState(false);
  // Logged out: the register form instead of the login form (at first too
  // when a link says so: {APP_URL}/?join, the gift page's invitation).
  const [joining, setJoining] = useState(() => new URLSearchParams(window.location.search).has("join"));
  // Signed out: the post a reader opened from the front page, read without
  // an account (or walled); signing in from its page goes back to it.
  const [reading, setReading] = useState<{ id: number; summary: Summary } | null>(null);
  // The login form has turned into a sign-in's second step.
  const [inSecondStep, setInSecondStep] = useState(false);
  const [signInError, setSignInError] = useState(first.signInError);
  const [secondStep, setSecondStep] = useState(window.location.pathname === SECOND_STEP_PATH);
  const LinkPage = LINK_PAGES[window.location.pathname];
  // {APP_URL}/gift/<token>: a gifted post, readable signed in or not.
  const gift = giftToken(window.location.pathname);

  // Who am I? The cookie is HttpOnly, so only the server can tell.
  useEffect(() => {
    call(client.GET("/check_session"))
      .then(setUser)
      .catch((caught: unknown) => {
        const err = asApiError(caught);
        if (err.status !== 401) setStartupError(err.message);
        setUser(null);
      });
  }, []);

  // What one user was told is theirs alone: a sign-in, like a logout,
  // starts from no note and no sign-in error. A sign-in from a post's page
  // (its wall) lands back on that post, which the account now reads: the
  // posts the browser opened this month joined the account's meter.
  const loggedIn = useCallback((u: User) => {
    setUser(u);
    setView(reading ? { name: "post", ...reading } : { name: "posts" });
    setReading(null);
    setNote(null);
    setSignInError(null);
    setInSecondStep(false);
  }, [reading]);

  // A failed provider sign-in, or the way back from Stripe, is said once:
  // a reload does not say it again.
  useEffect(() => {
    const path = window.location.pathname;
    if (path === "/login" || path.startsWith("/billing/")) window.history.replaceState(null, "", "/");
  }, []);

  // Back from Checkout, the plan changes when Stripe's event reaches the
  // server, usually within seconds: ask again until it has (a minute at most).
  const waitingForPlan = note === "checkout-done" && user?.plan === "free";
  useEffect(() => {
    if (!waitingForPlan) return;
    let asked = 0;
    const timer = window.setInterval(() => {
      asked += 1;
      if (asked > 20) window.clearInterval(timer);
      call(client.GET("/check_session")).then(setUser).catch(() => {});
    }, 3000);
    return () => window.clearInterval(timer);
  }, [waitingForPlan]);

  /** Leaves the provider's second step, for the app (signed in) or the login form. */
  const endSecondStep = useCallback((reason: string | null) => {
    window.history.replaceState(null, "", "/");
    setSecondStep(false);
    setSignInError(reason);
  }, []);

  // Any 401 while logged in means the session ended elsewhere (expired,
  // revoked from another device): go back to the login form. A 403
  // forbidden means the role changed meanwhile (an admin's change holds at
  // once): ask who we are again, so the navigation offers what the role
  // allows now.
  const refreshUser = useCallback(() => {
    call(client.GET("/check_session"))
      .then(setUser)
      .catch((caught: unknown) => {
        if (asApiError(caught).status === 401) setUser(null);
      });
  }, []);
  const onAuthLost: OnAuthLost = useCallback((err) => {
    if (err.status === 401) setUser(null);
    if (err.code === "forbidden") refreshUser();
  }, [refreshUser]);

  async function logout() {
    try {
      await call(client.DELETE("/logout"));
    } catch (caught) {
      const err = asApiError(caught);
      if (err.status !== 401) {
        alert(err.message);
        return;
      }
    }
    setUser(null);
    setNote(null);
    setSignInError(null);
    setJoining(false);
    setReading(null);
    setView({ name: "posts" });
  }

  if (LinkPage) {
    return (
      <main className="app">
        <h1 className="publication">{PUBLICATION}</h1>
        <LinkPage />
      </main>
    );
  }

  if (gift) {
    return (
      <main className="app">
        <h1 className="publication">{PUBLICATION}</h1>
        <GiftPage token={gift} />
      </main>
    );
  }

  if (user === undefined) {
    return <main className="app"><p data-testid="loading">Loading…</p></main>;
  }

  if (user === null && reading) {
    return (
      <main className="app">
        <h1 className="publication">{PUBLICATION}</h1>
        <PostView id={reading.id} summary={reading.summary} premium={false} staff={false}
          onBack={() => setReading(null)} onSignedIn={loggedIn} />
      </main>
    );
  }

  if (user === null) {
    return (
      <main className="app">
        <FrontPage onOpen={(id, summary) => setReading({ id, summary })}>
          {startupError && <p className="error" data-testid="startup-error">{startupError}</p>}
          {secondStep ? (
            <SecondStep methods={["totp", "recovery_code"]} intro="Your provider has signed you in."
              onSuccess={(u) => {
                endSecondStep(null);
                loggedIn(u);
              }}
              // The pending sign-in lasts 5 minutes; then it is the provider again.
              onRestart={(reason) => endSecondStep(reason && "The sign-in timed out after 5 minutes. Please sign in again.")} />
          ) : forgot ? (
            <ForgotPassword onCancel={() => setForgot(false)} />
          ) : byEmail ? (
            <EmailSignInForm onCancel={() => setByEmail(false)} onSuccess={(u) => {
              setByEmail(false);
              loggedIn(u);
            }} />
          ) : joining ? (
            // One form at a time: a newcomer's, with the way back.
            <>
              <AuthForm kind="register" onSuccess={loggedIn} />
              <p className="switch">
                Already have an account?{" "}
                <button className="link" data-testid="show-login" onClick={() => setJoining(false)}>Log in</button>
              </p>
            </>
          ) : (
            <>
              {/* Keyed by the message, so a new one shows even after the form was used. */}
              <AuthForm key={signInError ?? ""} kind="login" onSuccess={loggedIn} onForgot={() => setForgot(true)}
                onEmail={() => setByEmail(true)} problem={signInError} onSecondStep={setInSecondStep} />
              {/* Not beside a sign-in's second step: that person has an account. */}
              {!inSecondStep && (
                <p className="switch">
                  New here?{" "}
                  <button className="link" data-testid="show-register" onClick={() => setJoining(true)}>
                    Create an account
                  </button>
                </p>
              )}
            </>
          )}
        </FrontPage>
      </main>
    );
  }

  const writer = writesPosts(user.role);
  const admin = managesUsers(user.role);
  const insights = readsPostInsights(user.role);
  // A page the role no longer allows (after a change by an admin) falls back to the blog.
  const shown: View =
    (!writer && (view.name === "mine" || view.name === "editor")) || (!admin && view.name === "users") ||
    (!insights && view.name === "insights")
      ? { name: "posts" }
      : view;
  const inAccount = shown.name === "account" || shown.name === "security" || shown.name === "sessions";

  return (
    <main className="app">
      <header className="bar">
        {/* The short name: the header is one row down to 360 px. */}
        <h1>tollgate</h1>
        <nav>
          <button className={shown.name === "posts" || shown.name === "post" ? "active" : ""} data-testid="nav-posts"
            onClick={() => setView({ name: "posts" })}>Posts</button>
          <button className={inAccount ? "active" : ""} data-testid="nav-account"
            onClick={() => setView({ name: "account" })}>Account</button>
        </nav>
        <span className="who" title={`Signed in as ${user.username} (${user.plan})`}>
          <span className="visually-hidden">Signed in as </span>
          <strong data-testid="current-user">{user.username}</strong>{" "}
          <span className="plan" data-testid="current-plan">{user.plan}</span>
        </span>
        <BillingAction plan={user.plan} staff={writer} compact />
        <button className="logout" data-testid="logout" onClick={logout}>Log out</button>
      </header>
      {writer && (
        // Only for the roles that may use them: a reader never sees these.
        <nav className="tools" aria-label="Publishing" data-testid="tools">
          {/* Staff read unmetered whatever their plan: their role says what they are. */}
          <span className="role" data-testid="current-role">{user.role}</span>
          {/* The editor belongs to the list it opens from; "New post" is an action, never a place. */}
          <button className={shown.name === "mine" || shown.name === "editor" ? "active" : ""}
            data-testid="nav-mine" onClick={() => setView({ name: "mine" })}>{admin ? "All posts" : "My posts"}</button>
          {/* Beside the posts it counts: an author's own, an admin's every post and the whole site. */}
          {insights && (
            <button className={shown.name === "insights" ? "active" : ""} data-testid="nav-insights"
              onClick={() => setView({ name: "insights" })}>Insights</button>
          )}
          <button data-testid="nav-new-post" onClick={() => setView(editorView(null))}>New post</button>
          {admin && (
            <button className={shown.name === "users" ? "active" : ""} data-testid="nav-users"
              onClick={() => setView({ name: "users" })}>Users</button>
          )}
        </nav>
      )}
      {note && (
        <p className="note" role="status" data-testid="billing-note" data-note={note}>
          {noteText(note, user.plan)} <button className="link" onClick={() => setNote(null)}>Dismiss</button>
        </p>
      )}
      {signInError && (
        // Signed in: linking a provider (or signing in again with one) did not finish.
        <p className="note" role="alert" data-testid="sign-in-note">
          The sign-in with your provider did not finish. {signInError}{" "}
          <button className="link" onClick={() => setSignInError(null)}>Dismiss</button>
        </p>
      )}

      {shown.name === "posts" && (
        <PostList staff={writer} onOpen={(id, summary) => setView({ name: "post", id, summary })}
          onAuthLost={onAuthLost} />
      )}
      {shown.name === "post" && (
        <PostView id={shown.id} summary={shown.summary} premium={user.plan === "premium"} staff={writer}
          onBack={() => setView({ name: "posts" })}
          onAuthLost={onAuthLost} />
      )}
      {inAccount && (
        // The account area's own pages: the header stays one row, down to a phone's 360 px.
        <nav className="tabs" aria-label="Account pages" data-testid="account-tabs">
          <button className={shown.name === "account" ? "active" : ""} aria-current={shown.name === "account" ? "page" : undefined}
            data-testid="nav-account-details" onClick={() => setView({ name: "account" })}>Plan and email</button>
          <button className={shown.name === "security" ? "active" : ""} aria-current={shown.name === "security" ? "page" : undefined}
            data-testid="nav-security" onClick={() => setView({ name: "security" })}>Account security</button>
          <button className={shown.name === "sessions" ? "active" : ""} aria-current={shown.name === "sessions" ? "page" : undefined}
            data-testid="nav-sessions" onClick={() => setView({ name: "sessions" })}>Sessions</button>
        </nav>
      )}
      {shown.name === "sessions" && <Sessions onAuthLost={onAuthLost} />}
      {shown.name === "account" && <Account onAuthLost={onAuthLost} />}
      {shown.name === "account" && user.plan === "premium" && <MyGifts onAuthLost={onAuthLost} />}
      {shown.name === "security" && <Security onAuthLost={onAuthLost} />}
      {shown.name === "mine" && (
        <MyPosts everyone={admin} onOpen={(id) => setView(editorView(id))} onAuthLost={onAuthLost} />
      )}
      {shown.name === "editor" && (
        <Editor key={shown.key} id={shown.id} onClose={() => setView({ name: "mine" })} onAuthLost={onAuthLost} />
      )}
      {shown.name === "users" && <Users me={user.id} onSelfChanged={refreshUser} onAuthLost={onAuthLost} />}
      {shown.name === "users" && <Webhooks onAuthLost={onAuthLost} />}
      {shown.name === "insights" && (
        // Keyed by the role: a change between author and admin starts the page afresh.
        <Suspense fallback={<p data-testid="insights-loading">Loading insights…</p>}>
          <Insights key={user.role} site={readsSiteInsights(user.role)} onAuthLost={onAuthLost} />
        </Suspense>
      )}
    </main>
  );
}
