import { lazy, Suspense, useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { asApiError, call, client, providerSignInError, type OnAuthLost, type ProviderSignInError, type User } from "./api/client";
import PostList from "./components/PostList";
import PostView from "./components/PostView";
import { managesUsers, readsPostInsights, readsSiteInsights, writesPosts } from "./roles";
import { PUBLICATION } from "./publication";
import { Link, navigate, postSlug, useLocation, useTitle } from "./router";
import { SECOND_STEP_PATH, SIGNED_OUT_TITLES, SIGN_IN_PATHS } from "./paths";
import { Skeleton } from "./components/Skeleton";

// What a reader never needs is loaded when first opened: the publishing
// pages, the account's pages, insights and its chart library, the pages
// emailed links open, the second sign-in step. The sign-in forms too: a
// signed-in reader never needs them, and a visitor's arrive with the
// latest posts.
const SignedOut = lazy(() => import("./components/SignedOut"));
const Sessions = lazy(() => import("./components/Sessions"));
const Account = lazy(() => import("./components/Account"));
const Security = lazy(() => import("./components/Security"));
const Editor = lazy(() => import("./components/Editor"));
const MyPosts = lazy(() => import("./components/MyPosts"));
const Users = lazy(() => import("./components/Users"));
const Webhooks = lazy(() => import("./components/Webhooks"));
const Insights = lazy(() => import("./components/Insights"));
const Subscribe = lazy(() => import("./components/Subscribe"));
const UnsubscribePage = lazy(() => import("./components/Unsubscribe"));
const VerifyEmail = lazy(() => import("./components/Recovery").then((m) => ({ default: m.VerifyEmail })));
const ResetPassword = lazy(() => import("./components/Recovery").then((m) => ({ default: m.ResetPassword })));
const EmailLinkPage = lazy(() => import("./components/EmailSignIn").then((m) => ({ default: m.EmailLinkPage })));
const GiftPage = lazy(() => import("./components/Gifts").then((m) => ({ default: m.GiftPage })));
const MyGifts = lazy(() => import("./components/Gifts").then((m) => ({ default: m.MyGifts })));

/** A note shown once, on landing: the checkout's outcome. */
type Note = "checkout-done" | "checkout-cancelled";

/** The words of a landing note, for a user on `plan`. */
function noteText(note: Note, plan: User["plan"]): string {
  if (note === "checkout-cancelled") return "Checkout cancelled: nothing was charged.";
  return plan === "premium"
    ? "You're premium. Thank you for subscribing!"
    : "Thank you! Your premium plan starts as soon as Stripe confirms the payment.";
}

// Where Stripe sends the browser back (APP_URL/billing/success, /cancel)
// and where a provider sign-in that failed lands (APP_URL/login?error=<code>):
// said once, as the address becomes the page's own, so a reload or Back
// does not say it again.
function landing(): { note: Note | null; signInError: ProviderSignInError | null } {
  const { pathname, search } = window.location;
  if (pathname === "/billing/success") {
    window.history.replaceState(null, "", "/account");
    return { note: "checkout-done", signInError: null };
  }
  if (pathname === "/billing/cancel") {
    window.history.replaceState(null, "", "/");
    return { note: "checkout-cancelled", signInError: null };
  }
  if (pathname === "/login") {
    const code = providerSignInError(search);
    if (code) window.history.replaceState(null, "", "/");
    return { note: null, signInError: code };
  }
  return { note: null, signInError: null };
}

/** A page's frame while its code arrives. */
const loading = <Skeleton lines={4} />;

/** The pages an emailed link opens: shown whether or not anyone is signed in. */
function linkPage(path: string): ReactNode {
  if (path === "/verify-email") return <VerifyEmail />;
  if (path === "/reset-password") return <ResetPassword />;
  if (path === "/login/email") return <EmailLinkPage />;
  if (path === "/unsubscribe") return <UnsubscribePage />;
  const gift = /^\/gift\/([^/]+)$/.exec(path)?.[1];
  if (gift) {
    try {
      return <GiftPage token={decodeURIComponent(gift)} />;
    } catch {
      return null; // malformed escapes: no gift
    }
  }
  return null;
}

/** The page an address names, for a signed-in reader. */
type Page =
  | { name: "posts" | "account" | "security" | "sessions" | "mine" | "users" | "insights" | "subscribe" | "missing" }
  | { name: "post"; slug: string }
  | { name: "editor"; id: number | null };

function pageAt(path: string): Page {
  const slug = postSlug(path);
  if (slug) return { name: "post", slug };
  const editing = /^\/write\/(\d+)$/.exec(path)?.[1];
  if (editing) return { name: "editor", id: Number(editing) };
  const fixed: Record<string, Page["name"]> = {
    "/": "posts", "/account": "account", "/account/security": "security", "/account/sessions": "sessions",
    "/write": "mine", "/write/new": "editor", "/admin/users": "users", "/insights": "insights", "/subscribe": "subscribe",
  };
  const name = fixed[path.replace(/(.)\/$/, "$1")] ?? "missing";
  return name === "editor" ? { name, id: null } : ({ name } as Page);
}

const TITLES: Partial<Record<Page["name"], string>> = {
  account: "Your account", security: "Account security", sessions: "Sessions", mine: "Posts",
  users: "Users", insights: "Insights", subscribe: "Subscribe", missing: "Page not found",
};

const LINK_TITLES: Record<string, string | undefined> = {
  "/verify-email": "Confirm your email", "/reset-password": "Choose a new password", "/login/email": "Sign in",
  "/unsubscribe": "Newsletters", [SECOND_STEP_PATH]: "Sign in",
};

export default function App() {
  // undefined: still asking the server; null: signed out; object: the User.
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [first] = useState(landing);
  const [note, setNote] = useState(first.note);
  const [startupError, setStartupError] = useState<string | null>(null);
  const [signInError, setSignInError] = useState<string | null>(null);
  // Signed in, a provider's failure came from linking one, which starts on
  // the security page: its note is shown there.
  const landedSignedIn = useRef<boolean | null>(null);
  useEffect(() => {
    if (user === undefined || landedSignedIn.current !== null) return;
    landedSignedIn.current = user !== null;
    if (user && first.signInError) navigate("/account/security", { replace: true });
  }, [user, first]);
  // A provider's failed sign-in, in words (loaded only when there is one).
  useEffect(() => {
    const code = first.signInError;
    if (code) import("./signInErrors").then((m) => setSignInError(m.SIGN_IN_ERRORS[code]));
  }, [first]);
  // "New post" always starts from an empty form, even on the editor's own address.
  const [editorKey, setEditorKey] = useState(0);
  const { path } = useLocation();

  // A landing note belongs to the page it landed on: gone once the reader moves on.
  const landedAt = useRef(path);
  useEffect(() => {
    if (path !== landedAt.current) {
      landedAt.current = path;
      setNote(null);
    }
  }, [path]);

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

  // A sign-in stays on the page it was made from: a post read past its
  // wall (the posts the browser opened this month joined the account's
  // meter), a page of the account. The front page's forms, at /login and
  // /join, lead to the posts.
  const loggedIn = useCallback((u: User) => {
    setUser(u);
    setNote(null);
    setSignInError(null);
    const at = window.location.pathname;
    if (SIGN_IN_PATHS.includes(at)) navigate("/", { replace: true });
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

  // Any 401 while signed in means the session ended elsewhere (expired,
  // revoked from another device): back to the login form. A 403 forbidden
  // means the role changed meanwhile (an admin's change holds at once): ask
  // who we are again, so the navigation offers what the role allows now.
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
    navigate("/");
  }

  const page = pageAt(path);
  const screenTitle =
    LINK_TITLES[path] ?? (path.startsWith("/gift/") ? "A gift for you" : null) ??
    (user === null ? SIGNED_OUT_TITLES[path] ?? null : TITLES[page.name]);
  // A post's page names itself once it knows its title.
  useTitle(page.name === "post" ? false : screenTitle);

  const link = linkPage(path);
  if (link) {
    return (
      <main className="app">
        <p className="publication"><Link href="/">{PUBLICATION}</Link></p>
        <Suspense fallback={loading}>{link}</Suspense>
      </main>
    );
  }

  if (user === undefined) {
    return (
      <main className="app" aria-busy="true">
        <p className="publication">{PUBLICATION}</p>
        {/* What the address shows is already on its way (src/early.ts). */}
        <Skeleton lines={6} testid="loading" />
      </main>
    );
  }

  if (user === null && page.name === "post") {
    return (
      <main className="app">
        <p className="publication"><Link href="/">{PUBLICATION}</Link></p>
        {/* Keyed by who reads: signing in on a wall opens the post afresh, as the account. */}
        <PostView key={`${page.slug}:anyone`} slug={page.slug} premium={false} staff={false} onSignedIn={loggedIn} />
      </main>
    );
  }

  if (user === null) {
    return (
      <main className="app">
        <Suspense fallback={<Skeleton lines={6} testid="loading" />}>
          <SignedOut startupError={startupError} signInError={signInError} onSignInError={setSignInError}
            onSignedIn={loggedIn} />
        </Suspense>
      </main>
    );
  }

  const writer = writesPosts(user.role);
  const admin = managesUsers(user.role);
  const insights = readsPostInsights(user.role);
  // A page the role does not allow (or no longer allows, after a change by an admin) is not found.
  const allowed =
    ((page.name === "mine" || page.name === "editor") && !writer) || (page.name === "users" && !admin) ||
    (page.name === "insights" && !insights)
      ? ({ name: "missing" } as Page)
      : page;
  const inAccount = allowed.name === "account" || allowed.name === "security" || allowed.name === "sessions";
  const current = (on: boolean) => (on ? { className: "active", "aria-current": "page" as const } : {});

  return (
    <main className="app">
      <header className="bar">
        <p className="brand"><Link href="/" data-testid="brand">{PUBLICATION}</Link></p>
        <nav aria-label="Main">
          <Link {...current(allowed.name === "posts" || allowed.name === "post")} data-testid="nav-posts" href="/">Posts</Link>
          <Link {...current(inAccount)} data-testid="nav-account" href="/account">Account</Link>
        </nav>
        <span className="who" title={`Signed in as ${user.username} (${user.plan})`}>
          <span className="visually-hidden">Signed in as </span>
          <strong data-testid="current-user">{user.username}</strong>{" "}
          <span className="plan" data-testid="current-plan">{user.plan}</span>
        </span>
        {/* Free readers: the plans, one step before Stripe. */}
        {user.plan === "free" && !writer && (
          <span className="billing">
            <Link className="pill" data-testid="nav-upgrade" href="/subscribe">Upgrade</Link>
          </span>
        )}
        <button className="logout" data-testid="logout" onClick={logout}>Log out</button>
      </header>
      {writer && (
        // Only for the roles that may use them: a reader never sees these.
        <nav className="tools" aria-label="Publishing" data-testid="tools">
          {/* Staff read unmetered whatever their plan: their role says what they are. */}
          <span className="role" data-testid="current-role">{user.role}</span>
          {/* The editor belongs to the list it opens from; "New post" is an action, never a place. */}
          <Link {...current(allowed.name === "mine" || allowed.name === "editor")} data-testid="nav-mine" href="/write">
            {admin ? "All posts" : "My posts"}
          </Link>
          {/* Beside the posts it counts: an author's own, an admin's every post and the whole site. */}
          {insights && (
            <Link {...current(allowed.name === "insights")} data-testid="nav-insights" href="/insights">Insights</Link>
          )}
          <Link data-testid="nav-new-post" href="/write/new" onClick={() => setEditorKey((k) => k + 1)}>New post</Link>
          {admin && <Link {...current(allowed.name === "users")} data-testid="nav-users" href="/admin/users">Users</Link>}
        </nav>
      )}
      {note && (
        <p className="note" role="status" data-testid="billing-note" data-note={note}>
          {noteText(note, user.plan)}{" "}
          <button className="link" onClick={() => setNote(null)}>Dismiss</button>
        </p>
      )}
      {signInError && (
        // Signed in: linking a provider (or signing in again with one) did not finish.
        <p className="note" role="alert" data-testid="sign-in-note">
          The sign-in with your provider did not finish. {signInError}{" "}
          <button className="link" onClick={() => setSignInError(null)}>Dismiss</button>
        </p>
      )}

      {allowed.name === "posts" && <PostList staff={writer} onAuthLost={onAuthLost} />}
      {allowed.name === "post" && (
        <PostView key={`${allowed.slug}:${user.id}`} slug={allowed.slug} premium={user.plan === "premium"} staff={writer}
          onAuthLost={onAuthLost} />
      )}
      {inAccount && (
        // The account area's own pages: the header stays one row, down to a phone's 360 px.
        <nav className="tabs" aria-label="Account pages" data-testid="account-tabs">
          <Link {...current(allowed.name === "account")} data-testid="nav-account-details" href="/account">Plan and email</Link>
          <Link {...current(allowed.name === "security")} data-testid="nav-security" href="/account/security">Account security</Link>
          <Link {...current(allowed.name === "sessions")} data-testid="nav-sessions" href="/account/sessions">Sessions</Link>
        </nav>
      )}
      <Suspense fallback={loading}>
        {allowed.name === "sessions" && <Sessions onAuthLost={onAuthLost} />}
        {allowed.name === "account" && <Account onAuthLost={onAuthLost} />}
        {allowed.name === "account" && user.plan === "premium" && <MyGifts onAuthLost={onAuthLost} />}
        {allowed.name === "security" && <Security onAuthLost={onAuthLost} />}
        {allowed.name === "subscribe" && <Subscribe plan={user.plan} staff={writer} />}
        {allowed.name === "mine" && (
          <MyPosts everyone={admin} onAuthLost={onAuthLost} />
        )}
        {allowed.name === "editor" && (
          <Editor key={`${allowed.id ?? "new"}-${editorKey}`} id={allowed.id} onClose={() => navigate("/write")}
            onAuthLost={onAuthLost} />
        )}
        {allowed.name === "users" && <Users me={user.id} onSelfChanged={refreshUser} onAuthLost={onAuthLost} />}
        {allowed.name === "users" && <Webhooks onAuthLost={onAuthLost} />}
        {allowed.name === "insights" && (
          // Keyed by the role: a change between author and admin starts the page afresh.
          <Insights key={user.role} site={readsSiteInsights(user.role)} onAuthLost={onAuthLost} />
        )}
      </Suspense>
      {allowed.name === "missing" && (
        <section className="card" data-testid="not-found">
          <h2>Page not found</h2>
          <p>There is no page at this address. <Link href="/">See the latest posts</Link></p>
        </section>
      )}
    </main>
  );
}
