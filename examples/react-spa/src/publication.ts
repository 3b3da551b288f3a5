// What the app says of the publication before anyone signs in. The API
// does not tell an anonymous visitor its settings, so the offer's number is
// fixed at build time: keep VITE_FREE_READS equal to the server's
// FREE_READS (5 unless set).

/** The publication's name, on the front page and in the header. */
export const PUBLICATION = import.meta.env.VITE_PUBLICATION_NAME ?? "The Tollgate Review";

/** Free articles a reader gets each month (the server's FREE_READS). */
export const FREE_READS = Number(import.meta.env.VITE_FREE_READS ?? 5);

/** "5 free posts a month" (the server's FREE_READS). */
function freeReadsText(): string {
  return `${FREE_READS} free post${FREE_READS === 1 ? "" : "s"} a month`;
}

/**
 * The registration wall's offer: a free account and what it reads, never a
 * price. An account's allowance is FREE_READS, which the server tells no
 * anonymous caller (the wall's meter is the browser's own, ANONYMOUS_READS).
 */
export function joinText(): string {
  return FREE_READS > 0 ? `Create a free account to keep reading: ${freeReadsText()}` : "Create a free account to keep reading";
}

/** The offer, in one line. */
export function offerText(): string {
  return FREE_READS > 0
    ? `${FREE_READS} free post${FREE_READS === 1 ? "" : "s"} a month. Subscribe to read everything.`
    : "Subscribe to read everything.";
}

/** A day, written the same way everywhere: "Dec 1, 2026". */
export function dayText(when: string | Date): string {
  return new Date(when).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
}
