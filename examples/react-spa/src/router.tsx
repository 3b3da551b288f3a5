import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";
import { PUBLICATION } from "./publication";

// Every screen has its own address in the browser's history: links are
// real <a href> elements (open in a new tab, copy the address, bookmark),
// a plain click moves within the page without a reload, and Back and
// Forward return to the screen the address names. A few dozen lines instead
// of a routing library: the app has a handful of flat paths.

const CHANGE = "tollgate:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(CHANGE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(CHANGE, onChange);
  };
}

const current = () => window.location.pathname + window.location.search;

/** The address shown (path and query), kept in step with the history. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const at = useSyncExternalStore(subscribe, current);
  const url = new URL(at, window.location.origin);
  return { path: url.pathname, search: url.searchParams };
}

/**
 * Moves to `to` (a path of this app). `replace` rewrites the current
 * history entry instead of adding one (an address said once, such as the
 * way back from Stripe). A new screen starts at the top.
 */
export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  if (to === current()) return;
  if (replace) window.history.replaceState(null, "", to);
  else {
    window.history.pushState(null, "", to);
    window.scrollTo(0, 0);
  }
  window.dispatchEvent(new Event(CHANGE));
}

/** A link within the app: an ordinary <a href>, whose plain clicks stay in the page. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  function click(event: MouseEvent<HTMLAnchorElement>) {
    onClick?.(event);
    // A modified click (new tab, new window, download) is the browser's.
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (rest.target && rest.target !== "_self") return;
    event.preventDefault();
    navigate(href);
  }
  return <a href={href} onClick={click} {...rest} />;
}

/** The tab's title: "<what> — <publication>", or the publication alone; `false` leaves it to the page shown. */
export function useTitle(what: string | null | undefined | false): void {
  useEffect(() => {
    if (what === false) return;
    document.title = what ? `${what} — ${PUBLICATION}` : PUBLICATION;
  }, [what]);
}

/** A post's address: `/blog/<slug>`. */
export const postPath = (slug: string) => `/blog/${encodeURIComponent(slug)}`;

/** The slug in a post's address, or null when `path` is not one. */
export function postSlug(path: string): string | null {
  const match = /^\/blog\/([^/]+)\/?$/.exec(path);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}
