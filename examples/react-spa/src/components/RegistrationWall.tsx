import { lazy, Suspense, useState, type ReactNode } from "react";
import type { User } from "../api/client";
import { Skeleton } from "./Skeleton";

const AuthForm = lazy(() => import("./AuthForm"));
import type { Summary } from "./PostList";

type Start = "register" | "login";

/**
 * The way in for a reader without an account, where a post is closed to
 * them: the register form (or, when `start` says so, the login form) with a
 * switch to the other. Either way in brings what this browser opened this
 * month into the account's meter, and `onSignedIn` goes back to the post.
 */
export function SignUpForms({ start = "register", onSignedIn }: { start?: Start; onSignedIn: (user: User) => void }) {
  const [kind, setKind] = useState<Start>(start);
  return (
    <div className="wall-forms">
      <Suspense fallback={<Skeleton lines={4} />}>
        <AuthForm key={kind} kind={kind} onSuccess={onSignedIn} />
      </Suspense>
      {kind === "register" ? (
        <p className="switch">
          Already have an account?{" "}
          <button className="link" data-testid="wall-show-login" onClick={() => setKind("login")}>Log in</button>
        </p>
      ) : (
        <p className="switch">
          New here?{" "}
          <button className="link" data-testid="wall-show-register" onClick={() => setKind("register")}>
            Create a free account
          </button>
        </p>
      )}
    </div>
  );
}

/**
 * A post closed to a reader without an account, for lack of one: the post
 * asked for (title and excerpt, faded out), why it is closed, and the forms
 * in place. No price: what it offers is a free account.
 */
export default function RegistrationWall({ reason, summary, title, children, start, onSignedIn }: {
  /** `registration_required`: the browser's free posts are read; `not_logged_in`: the server reads to members only. */
  reason: "registration_required" | "not_logged_in";
  summary?: Summary;
  title: string;
  /** What more there is to say, under the title. */
  children?: ReactNode;
  start?: Start;
  onSignedIn: (user: User) => void;
}) {
  return (
    <div className="paywall wall" data-testid="registration-wall" data-code={reason}>
      {summary && (
        <div className="teaser" data-testid="paywall-teaser">
          <h2>{summary.title}</h2>
          <p>{summary.excerpt}</p>
        </div>
      )}
      <h3 data-testid="wall-title">{title}</h3>
      {children}
      <SignUpForms start={start} onSignedIn={onSignedIn} />
    </div>
  );
}
