// The browser test's newsletter flow (run by e2e.mjs, which hands it its
// helpers and its browser): a reader takes the newsletter at a verified
// address; the admin publishes a metered post with "Email it to
// subscribers" and watches the editor count the messages (and schedules
// another, which waits for its time until unpublished); the reader's
// message (an .eml file in MAIL_DIR) carries the title, the one-click
// unsubscribe headers, the excerpt and a link but not the body (a free
// member); its unsubscribe link, opened signed out and confirmed, turns the
// newsletter off on the account page.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** How long the sender may take to deliver: it starts at once on publishing, within 60 s at worst. */
const SENDING_MS = 60_000;

/** `YYYY-MM-DDTHH:mm` in the browser's time zone (a datetime-local value), `days` from now. */
function localInput(days) {
  const at = new Date(Date.now() + days * 86_400_000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** An .eml file's headers (unfolded, by lower-case name) and its body. */
function parseMessage(raw) {
  const text = raw.replace(/\r\n/g, "\n");
  const end = text.indexOf("\n\n");
  const headers = new Map();
  for (const line of text.slice(0, end).replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: text.slice(end + 2) };
}

export async function newsletters(t, { suffix, password, emailedLink, MAIL_DIR, SPA_URL, API_URL }) {
  const { step, shot, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, login, dataOf, expectStatus, ADMIN_USERNAME, ADMIN_PASSWORD } = t;
  const subscriber = `s_${suffix}`;
  const address = `${subscriber}@example.com`;
  const title = `Letters from the tollgate ${suffix}`;
  const excerpt = "What the newsletter carries, in a line.";
  const secret = "Only members read this sentence.";
  let reader; // the subscriber's tab
  let admin;
  let postId;
  let slug;
  let sentTo;
  let message;

  await step(`register ${subscriber} with an address and the newsletter, and verify the address`, async () => {
    if (!MAIL_DIR) throw new Error("MAIL_DIR is not set (run tests/browser/run.sh)");
    reader = await newTab();
    await reader.goto(SPA_URL);
    await reader.getByTestId("show-register").click();
    await reader.getByTestId("register-username").fill(subscriber);
    await reader.getByTestId("register-password").fill(password);
    await reader.getByTestId("register-email").fill(address);
    await reader.getByTestId("register-newsletter").click();
    if (!(await reader.getByTestId("register-newsletter").isChecked())) throw new Error("the newsletter box is not ticked after a click");
    await reader.getByTestId("register-submit").click();
    await expectText(reader, "current-user", subscriber);
    await reader.goto(await emailedLink(address, "/verify-email"));
    await reader.getByTestId("verify-done").waitFor();
    await reader.getByTestId("recovery-home").click();
    await reader.getByTestId("nav-account").click();
    await expectText(reader, "account-verified", "verified");
    if (!(await reader.getByTestId("newsletter").isChecked())) throw new Error("the newsletter is off after registering with it");
  });

  await step("the admin publishes a metered post with \"Email it to subscribers\"; the editor counts the messages until all are sent", async () => {
    if (!ADMIN_USERNAME || !ADMIN_PASSWORD) throw new Error("E2E_ADMIN_USERNAME/E2E_ADMIN_PASSWORD are not set (run tests/browser/run.sh)");
    admin = await newTab();
    await admin.setViewportSize({ width: 1440, height: 900 });
    await login(admin, ADMIN_USERNAME, ADMIN_PASSWORD);
    await admin.getByTestId("nav-new-post").click();
    await expectStatus(admin, "new");
    await admin.getByTestId("editor-title").fill(title);
    await admin.getByTestId("editor-body").fill(`${secret}\n\nAnd more of it.`);
    await admin.getByTestId("editor-excerpt").fill(excerpt);
    await admin.getByTestId("editor-access").selectOption("metered");
    await expectAbsent(admin, '[data-testid="post-email-status"]', "a post never asked to be emailed");
    // The box shows what will be sent (a controlled input): a click, not check().
    await admin.getByTestId("publish-email").click();
    await until("the email box ticked", () => admin.getByTestId("publish-email").isChecked());
    await shotsAtWidths(admin, "27-publish-email", "the editor with the email box");
    await admin.getByTestId("editor-publish").click();
    await expectStatus(admin, "published");
    postId = Number(await dataOf(admin, "editor", "post-id"));
    slug = (await textOf(admin, "editor-slug")).replace(/^Address: \/blog\//, "");
    // Emailed once ever: nothing more to ask for this post.
    await admin.getByTestId("post-email-status").waitFor();
    await expectAbsent(admin, '[data-testid="publish-email"]', "the editor of a post asked to be emailed");
    // The editor asks for the post again while its email is on its way.
    const said = await until("the editor to say the post was sent", async () => {
      const text = await textOf(admin, "post-email-status");
      return /^Sent to \d+ of \d+ subscribers?$/.test(text) && text;
    }, SENDING_MS);
    const [, sent, of] = /^Sent to (\d+) of (\d+)/.exec(said).map(Number);
    if (sent !== of || of < 1) throw new Error(`the editor says ${JSON.stringify(said)}: every subscriber, at least ${subscriber}, should have it`);
    sentTo = of;
    await shotsAtWidths(admin, "27b-post-emailed", "the editor of an emailed post");
  });

  await step("a scheduled post asked to be emailed waits for its time; unpublished, it is not asked any more", async () => {
    await admin.getByTestId("nav-new-post").click();
    await expectStatus(admin, "new");
    await admin.getByTestId("editor-title").fill(`Later letters ${suffix}`);
    await admin.getByTestId("editor-body").fill("Tomorrow's letter.");
    await admin.getByTestId("publish-email").click();
    await until("the email box ticked", () => admin.getByTestId("publish-email").isChecked());
    await admin.getByTestId("editor-publish-at").fill(localInput(1));
    await admin.getByTestId("editor-publish-at-submit").click();
    await expectStatus(admin, "scheduled");
    await expectText(admin, "post-email-status", "Emailing to subscribers: waiting for the post's time");
    await expectAbsent(admin, '[data-testid="publish-email"]', "the editor of a post asked to be emailed");
    // Unpublished before its time: nothing was sent, so nothing is asked any more.
    await admin.getByTestId("editor-unpublish").click();
    await expectStatus(admin, "draft");
    await expectAbsent(admin, '[data-testid="post-email-status"]', "a draft whose email never started");
    if (await admin.getByTestId("publish-email").isChecked()) throw new Error("the email box is ticked again by itself");
  });

  await step("the subscriber's message: the title as Subject, one-click unsubscribe headers, the excerpt and a link but not the body", async () => {
    // `20261125T101500Z-n000013-u000000004-alice@example.com.eml`: one per post and recipient.
    const tag = `-n${String(postId).padStart(6, "0")}-`;
    const names = (await readdir(MAIL_DIR)).filter((n) => n.includes(tag) && n.endsWith(".eml"));
    if (names.length !== sentTo) throw new Error(`${names.length} messages of post ${postId} in MAIL_DIR, the editor says ${sentTo}: ${names.join(", ")}`);
    const mine = names.filter((n) => n.endsWith(`-${address}.eml`));
    if (mine.length !== 1) throw new Error(`${mine.length} messages of post ${postId} to ${address}: ${names.join(", ")}`);
    message = parseMessage(await readFile(path.join(MAIL_DIR, mine[0]), "utf8"));
    const { headers, body } = message;
    if (!(headers.get("to") ?? "").includes(address)) throw new Error(`To: ${headers.get("to")}`);
    if (headers.get("subject") !== title) throw new Error(`Subject: ${JSON.stringify(headers.get("subject"))}, expected ${JSON.stringify(title)}`);
    const escaped = API_URL.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const oneClick = new RegExp(`^<(${escaped}/newsletter/unsubscribe\\?token=([A-Za-z0-9_-]+))>$`).exec(headers.get("list-unsubscribe") ?? "");
    if (!oneClick) throw new Error(`List-Unsubscribe: ${JSON.stringify(headers.get("list-unsubscribe"))}`);
    if (headers.get("list-unsubscribe-post") !== "List-Unsubscribe=One-Click") throw new Error(`List-Unsubscribe-Post: ${JSON.stringify(headers.get("list-unsubscribe-post"))}`);
    message.oneClick = oneClick[1];
    // A free member and a metered post: the excerpt and the way to it, never the body.
    if (!body.includes(excerpt)) throw new Error("the message lacks the excerpt");
    if (body.includes(secret)) throw new Error("a free member's message carries the body of a metered post");
    const blog = `${SPA_URL}/blog/${slug}`;
    if (!body.includes(blog)) throw new Error(`the message has no link to ${blog}`);
    // The link a person clicks (in the text and the html part), carrying the header's token.
    const visible = await emailedLink(address, "/unsubscribe");
    const token = new URL(visible).searchParams.get("token");
    if (token !== oneClick[2]) throw new Error(`the visible link's token differs from List-Unsubscribe's: ${visible}`);
    if (body.split(visible).length - 1 < 2) throw new Error("the unsubscribe link is not in both parts");
    message.link = visible;
  });

  await step("the unsubscribe link, opened signed out: nothing happens until the button; then unsubscribed, and again", async () => {
    const mailbox = await newTab(); // another browser: the mail program's
    await mailbox.goto(message.link);
    await mailbox.getByTestId("unsubscribe-confirm").waitFor();
    await expectAbsent(mailbox, '[data-testid="unsubscribe-done"]', "the page before the button");
    await shotsAtWidths(mailbox, "28-unsubscribe", "the unsubscribe page");
    await mailbox.getByTestId("unsubscribe-confirm").click();
    await mailbox.getByTestId("unsubscribe-done").waitFor();
    await expectAbsent(mailbox, '[data-testid="unsubscribe-confirm"]', "the page once unsubscribed");
    await shotsAtWidths(mailbox, "28b-unsubscribed", "the unsubscribed page");
    // A mail program's one-click (RFC 8058), after the page: the same answer.
    const posted = await fetch(message.oneClick, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    const answer = await posted.text();
    if (posted.status !== 200 || JSON.parse(answer).status !== "unsubscribed") throw new Error(`one-click: ${posted.status} ${answer}`);
    // A link no message carried.
    await mailbox.goto(`${SPA_URL}/unsubscribe?token=${"A".repeat(43)}`);
    await mailbox.getByTestId("unsubscribe-confirm").click();
    const refused = await textOf(mailbox, "unsubscribe-error");
    if (!refused.startsWith("This unsubscribe link is not valid.")) throw new Error(`unsubscribe-error: ${JSON.stringify(refused)}`);
    await expectAbsent(mailbox, '[data-testid="unsubscribe-done"]', "the page of a link no message carried");
    await shot(mailbox, "28c-unsubscribe-invalid-1440.png");
    await mailbox.context().close();
  });

  await step("the subscriber's account page shows the newsletter off", async () => {
    await reader.reload();
    await reader.getByTestId("nav-account").click();
    await reader.getByTestId("newsletter-row").waitFor();
    await until("the newsletter box to load", async () => (await reader.getByTestId("newsletter").count()) === 1);
    if (await reader.getByTestId("newsletter").isChecked()) throw new Error("the newsletter is still on after unsubscribing");
    await shot(reader, "28d-account-newsletter-off.png");
    for (const p of [reader, admin]) await p.context().close();
  });
}
