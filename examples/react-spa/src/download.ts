// Saving what the API answered as a file on the reader's device: the
// answer is fetched with the session cookie (a plain link to the API would
// not carry the app's error handling), then handed to the browser as a
// download under the name given.

/**
 * How long the object URL is kept after the click: the browser reads it
 * after the click has returned, so it is revoked only once that read has
 * surely begun.
 */
const KEEP_URL_MS = 10_000;

/** Downloads `blob` as `filename`, through a temporary `<a download>`. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), KEEP_URL_MS);
  }
}
