import { Fragment } from "react";

/**
 * An email address that may wrap where a reader expects it to: before the
 * `@` and after each dot, never inside a word (a long address on a phone
 * breaks as `someone.with.a.long.name` / `@example.com`).
 */
export default function Address({ email }: { email: string }) {
  const [local, domain] = splitAt(email);
  return (
    <span className="address">
      {withBreaks(local)}
      {domain !== null && (
        <>
          <wbr />@{withBreaks(domain)}
        </>
      )}
    </span>
  );
}

function splitAt(email: string): [string, string | null] {
  const at = email.lastIndexOf("@");
  return at < 0 ? [email, null] : [email.slice(0, at), email.slice(at + 1)];
}

/** The text with a break opportunity after each dot. */
function withBreaks(text: string) {
  return text.split(".").map((part, i, parts) => (
    <Fragment key={i}>
      {part}
      {i < parts.length - 1 && (
        <>
          .<wbr />
        </>
      )}
    </Fragment>
  ));
}
