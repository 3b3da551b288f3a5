// The browser test's data-out flow (run by e2e.mjs, which hands it its
// helpers): an admin exports every member from Admin → Users as a CSV file,
// and a reader downloads everything stored about them from the account
// page as a JSON file. Chromium saves each download into a temporary folder
// of the test's (set through its DevTools protocol), where the test reads
// the file as the person who clicked would open it.

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { controlProblems } from "./reader_wall.mjs";

/** The export's header row (API.md, "Members in and out"). */
const CSV_HEADER = "id,username,email,email_verified,plan,premium_until,role,newsletter,created_at,last_login_at,stripe_customer_id,disabled";
/** A field of the reader's data that must never be there, by its name. */
const SECRET_NAME = /password|secret|token|hash/i;
/** The one such name allowed: whether the account has a password (a flag, not the password). */
const FLAGS = new Set(["account.has_password"]);

/** RFC 4180: the records of `text` (CRLF or LF between them), each a list of its fields. */
function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { record.push(field); field = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { /* the \n ends it */ }
    else if (c === "\n") { record.push(field); records.push(record); record = []; field = ""; }
    else field += c;
  }
  if (quoted) throw new Error("the CSV ends inside a quoted field");
  if (field || record.length) { record.push(field); records.push(record); }
  return records;
}

/** Every key path of `value` whose name says it holds a password, secret, token or hash. */
function secretNames(value, at = "") {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretNames(v, `${at}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const here = at ? `${at}.${key}` : key;
    const named = SECRET_NAME.test(key) && !(FLAGS.has(here) && typeof v === "boolean") ? [here] : [];
    return [...named, ...secretNames(v, here)];
  });
}

export async function dataOut(t, { reader, password }) {
  const { step, until, textOf, expectText, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD } = t;
  const folders = [];

  /** Sends the downloads of tab `p` to a fresh temporary folder (Browser.setDownloadBehavior): the folder. */
  async function downloadsOf(p) {
    const folder = await mkdtemp(path.join(os.tmpdir(), "tollgate-downloads-"));
    folders.push(folder);
    const cdp = await p.context().newCDPSession(p);
    const { targetInfo } = await cdp.send("Target.getTargetInfo");
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: folder, browserContextId: targetInfo.browserContextId });
    return folder;
  }

  /** The text of `name` in `folder` once Chromium has finished writing it (it is renamed from a .crdownload then). */
  async function downloaded(folder, name) {
    await until(`${name} in ${folder}`, async () => (await readdir(folder)).includes(name));
    const names = await readdir(folder);
    if (names.length !== 1) throw new Error(`the folder holds ${JSON.stringify(names)}, expected ${name} alone`);
    return readFile(path.join(folder, name), "utf8");
  }

  /** Tap targets of at least 24 × 24 px and accessible names inside `selector`, at 360 px. */
  async function expectControls(p, selector, what) {
    const before = p.viewportSize();
    await p.setViewportSize({ width: 360, height: 900 });
    const problems = await p.evaluate(controlProblems, selector);
    await p.setViewportSize(before);
    if (problems.length) throw new Error(`${what} at 360 px: ${problems.join("; ")}`);
  }

  try {
    await step("an admin exports the members from Admin → Users: a failure is said, then members.csv holds the header row and every member", async () => {
      const admin = await newTab();
      await login(admin, ADMIN_USERNAME, ADMIN_PASSWORD);
      await admin.getByTestId("nav-users").click();
      await admin.getByTestId("user-list").waitFor();
      const total = Number(/^(\d+) users?$/.exec(await textOf(admin, "users-total"))?.[1]);
      await expectControls(admin, '[data-testid="members-export-row"]', "the export button");
      const folder = await downloadsOf(admin);

      // The first try fails: the button is busy while it is on its way, then the server's sentence is shown.
      let answer;
      const held = new Promise((resolve) => { answer = resolve; });
      const exportUrl = "**/admin/members.csv";
      await admin.route(exportUrl, async (route) => {
        await held;
        // A cross-origin answer the page may read, as tollgate's CORS answers are.
        const headers = { "Access-Control-Allow-Origin": new URL(admin.url()).origin, "Access-Control-Allow-Credentials": "true" };
        const body = JSON.stringify({ error: "The server is busy. Try again in a moment.", code: "unavailable" });
        await route.fulfill({ status: 503, contentType: "application/json", headers, body });
      });
      await admin.getByTestId("members-export").click();
      await admin.locator('[data-testid="members-export"][aria-busy="true"]:disabled').waitFor();
      await expectText(admin, "members-export", "Preparing the file…");
      answer();
      await expectText(admin, "members-export-error", "The server is busy. Try again in a moment.");
      await expectText(admin, "members-export", "Export members (CSV)");
      await admin.unroute(exportUrl);

      await admin.getByTestId("members-export").click();
      const text = await downloaded(folder, "members.csv");
      await admin.getByTestId("members-export-error").waitFor({ state: "hidden" });
      await admin.locator('[data-testid="members-export"][aria-busy="false"]:enabled').waitFor();
      const firstLine = text.slice(0, text.indexOf("\r\n"));
      if (firstLine !== CSV_HEADER) throw new Error(`the header row is ${JSON.stringify(firstLine)}, expected ${JSON.stringify(CSV_HEADER)}`);
      const [header, ...rows] = parseCsv(text);
      const column = Object.fromEntries(header.map((name, i) => [name, i]));
      const bad = rows.filter((r) => r.length !== header.length);
      if (bad.length) throw new Error(`${bad.length} rows without ${header.length} fields, the first: ${JSON.stringify(bad[0])}`);
      if (rows.length !== total) throw new Error(`${rows.length} members in the file, the page counts ${total}`);
      const mine = rows.filter((r) => r[column.username] === ADMIN_USERNAME);
      if (mine.length !== 1) throw new Error(`${mine.length} rows for ${ADMIN_USERNAME}`);
      if (mine[0][column.role] !== "admin" || mine[0][column.disabled] !== "false") throw new Error(`${ADMIN_USERNAME}'s row: ${JSON.stringify(mine[0])}`);
      if (!rows.some((r) => r[column.username] === reader)) throw new Error(`no row for ${reader}`);
      await shotsAtWidths(admin, "45-members-export", "Admin → Users after the export");
      await admin.context().close();
    });

    await step("a reader downloads their data from the account page: tollgate-my-data.json, theirs, with no password, secret, token or hash", async () => {
      const tab = await newTab();
      await login(tab, reader, password);
      await tab.getByTestId("nav-account").click();
      const button = tab.getByTestId("my-data");
      await button.waitFor();
      const said = await tab.locator("#my-data-what").textContent();
      for (const part of ["account", "sessions", "activity", "read this month", "gifts", "sign-in methods", "never your password"]) {
        if (!said.includes(part)) throw new Error(`the sentence beside the button does not say "${part}": ${JSON.stringify(said)}`);
      }
      await expectControls(tab, '[data-testid="my-data-row"]', "the download button");
      const folder = await downloadsOf(tab);
      await button.click();
      const text = await downloaded(folder, "tollgate-my-data.json");
      await tab.locator('[data-testid="my-data"][aria-busy="false"]:enabled').waitFor();
      const data = JSON.parse(text);
      if (!text.startsWith('{\n  "')) throw new Error(`the file is not indented: ${JSON.stringify(text.slice(0, 40))}`);
      if (data.account?.username !== reader) throw new Error(`the file's account is ${JSON.stringify(data.account?.username)}, expected ${reader}`);
      const named = secretNames(data);
      if (named.length) throw new Error(`fields named like a secret: ${named.join(", ")}`);
      if (text.includes(password)) throw new Error("the file holds the reader's password");
      // What this reader did in the run is there: signed in, and gave a gift.
      if (!data.sessions?.length) throw new Error("no sessions in the file");
      if (!data.gifts?.length) throw new Error("no gifts in the file");
      await shotsAtWidths(tab, "46-my-data", "the account page after the download");
      await tab.context().close();
    });
  } finally {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  }
}
