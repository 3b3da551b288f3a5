// Times from the API (RFC 3339, UTC) as the reader's locale writes them.

/** The date alone: "3/14/2025". */
export const day = (t: string) => new Date(t).toLocaleDateString();

/** The date and the time: "3/14/2025, 9:26:53 AM". */
export const when = (t: string) => new Date(t).toLocaleString();
