// The browser test's publishing flow (run by e2e.mjs, which hands it its
// helpers and its browser): an admin (made by run.sh with `tollgate
// set-role`) makes a new user an author; the author writes, previews and
// publishes in Markdown, meets another tab's save, schedules, unpublishes
// and deletes; a reader reads the blog and meets a premium post, and so
// does a browser without an account, offered an account to subscribe with.

/** `YYYY-MM-DDTHH:mm` in the browser's time zone (a datetime-local value), `days` from now. */
function localInput(days) {
  const at = new Date(Date.now() + days * 86_400_000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

export async function publishing(t, { suffix, password }) {
  const { step, shot, until, textOf, expectText, expectCount, shotsAtWidths, newTab, register, login, dataOf, expectStatus, expectAbsent, meterText, API_URL, SPA_URL, ADMIN_USERNAME, ADMIN_PASSWORD, browser, page } = t;
  // Names as short as the others', so that the header shows them whole at 360 px.
  const writer = `w_${suffix}`;
  const reader = `r_${suffix}`;
  const title = `What the meter counts ${suffix}`;
  const markdown = [
    "## Reads, not visits",
    "",
    "The meter counts:",
    "",
    "- distinct posts",
    "- per calendar month",
    "",
    "Read [the API guide](https://example.com/api) for more.",
    "",
    '<img src="/e2e-missing.png" onerror="window.__injected = true">',
    "<script>window.__injected = true</script>",
  ].join("\n");
  let author; // the writer's tab
  let admin;
  let postId;
  let premiumId;
  let scheduledId;

  await step(`register ${writer}: a reader sees no publishing entries`, async () => {
    if (!ADMIN_USERNAME || !ADMIN_PASSWORD) throw new Error("E2E_ADMIN_USERNAME/E2E_ADMIN_PASSWORD are not set (run tests/browser/run.sh)");
    author = await newTab();
    await author.setViewportSize({ width: 1440, height: 900 });
    await register(author, writer, password);
    await author.getByTestId("post-list").waitFor();
    await expectAbsent(author, '[data-testid="tools"], [data-testid="nav-mine"], [data-testid="nav-users"]', "a reader's page");
  });

  await step("the admin opens Admin → Users, searches the new user and makes them an author", async () => {
    admin = await newTab();
    await admin.setViewportSize({ width: 1440, height: 900 });
    await login(admin, ADMIN_USERNAME, ADMIN_PASSWORD);
    await admin.getByTestId("nav-users").click();
    await admin.getByTestId("user-list").waitFor();
    // Any part of the name, in any case.
    const part = `W_${suffix.toUpperCase()}`;
    await admin.getByTestId("users-q").fill(part);
    await admin.getByTestId("users-search").click();
    await expectText(admin, "users-total", `1 user matching “${part}”`);
    await expectCount(admin, '[data-testid="user-row"]', 1);
    const row = admin.locator(`[data-testid="user-row"][data-username="${writer}"]`);
    if ((await row.getAttribute("data-role")) !== "reader") throw new Error(`${writer} starts as ${await row.getAttribute("data-role")}`);
    await row.locator('select[data-testid^="user-role-"]').selectOption("author");
    await admin.locator(`[data-testid="user-row"][data-username="${writer}"][data-role="author"]`).waitFor();
    await row.locator('[data-testid^="user-saved-"]').waitFor();
    await shotsAtWidths(admin, "20-admin-users", "Admin → Users");
  });

  await step("making an admin or disabling an account asks first; Cancel changes nothing", async () => {
    const row = admin.locator(`[data-testid="user-row"][data-username="${writer}"]`);
    const id = (await row.locator('select[data-testid^="user-role-"]').getAttribute("data-testid")).slice("user-role-".length);
    await admin.getByTestId(`user-role-${id}`).selectOption("admin");
    const asked = await textOf(admin, `user-confirm-${id}`);
    if (!asked.startsWith(`Make ${writer} an admin?`)) throw new Error(`the question: ${JSON.stringify(asked)}`);
    await shot(admin, "20b-admin-confirm-1440.png");
    await admin.getByTestId(`user-confirm-no-${id}`).click();
    await expectCount(admin, `[data-testid="user-confirm-${id}"]`, 0);
    await admin.getByTestId(`user-disabled-${id}`).click();
    const disabling = await textOf(admin, `user-confirm-${id}`);
    if (!disabling.includes("signed out everywhere")) throw new Error(`the question: ${JSON.stringify(disabling)}`);
    await admin.getByTestId(`user-confirm-no-${id}`).click();
    // Nothing was sent: the author is still an author, and enabled.
    await admin.reload();
    await admin.getByTestId("nav-users").click();
    await admin.getByTestId("users-q").fill(writer);
    await admin.getByTestId("users-search").click();
    await admin.locator(`[data-testid="user-row"][data-username="${writer}"][data-role="author"][data-disabled="false"]`).waitFor();
  });

  await step("the last admin cannot step down: the row shows 409 last_admin and stays admin", async () => {
    await admin.getByTestId("users-q").fill(ADMIN_USERNAME);
    await admin.getByTestId("users-search").click();
    const row = admin.locator(`[data-testid="user-row"][data-username="${ADMIN_USERNAME}"]`);
    await row.waitFor();
    await expectCount(admin, '[data-testid="user-row"]', 1);
    await row.locator('select[data-testid^="user-role-"]').selectOption("reader");
    const error = row.locator('[data-testid^="user-error-"]');
    await error.waitFor();
    if ((await error.getAttribute("data-code")) !== "last_admin") throw new Error(`the row's error is ${await error.getAttribute("data-code")}: ${await error.textContent()}`);
    if (!/admin/i.test(await error.textContent())) throw new Error(`last_admin message: ${JSON.stringify(await error.textContent())}`);
    const select = row.locator('select[data-testid^="user-role-"]');
    await until("the role control back at admin", async () => (await select.inputValue()) === "admin");
    if ((await row.getAttribute("data-role")) !== "admin") throw new Error("the row no longer says admin");
    await admin.getByTestId("nav-users").waitFor(); // still an admin's navigation
    await shot(admin, "21-admin-last-admin-1440.png");
  });

  await step("the role holds at once: the author's open tab now offers My posts (and no Users), says the role, and sells nothing", async () => {
    await author.reload();
    await expectText(author, "nav-mine", "My posts");
    await expectAbsent(author, '[data-testid="nav-users"]', "an author's page");
    // Staff read unmetered: their role, never an upsell.
    await expectText(author, "current-role", "author");
    await expectText(author, "meter", "Staff: every post, unmetered");
    await expectAbsent(author, '[data-testid="upgrade"]', "an author's page");
  });

  await step("the author writes Markdown: a 422 shows beside its field, then the draft saves", async () => {
    await author.getByTestId("nav-new-post").click();
    await expectStatus(author, "new");
    await author.getByTestId("editor-body").fill(markdown);
    await author.getByTestId("editor-save").click(); // no title
    const titleError = await textOf(author, "editor-error-title");
    if (!titleError) throw new Error("the title's 422 field error is empty");
    await expectStatus(author, "new");
    await author.getByTestId("editor-title").fill(title);
    await author.getByTestId("editor-save").click();
    await expectStatus(author, "draft");
    await author.getByTestId("editor-notice").waitFor();
    await expectAbsent(author, '[data-testid="editor-error-title"]', "after a good save");
    postId = Number(await dataOf(author, "editor", "post-id"));
    if (!(postId > 0)) throw new Error(`the editor names no post id after saving (${postId})`);
    await shotsAtWidths(author, "22-editor", "the editor");
  });

  await step("the preview is the server's html: heading, list and link, and nothing that runs", async () => {
    await author.getByTestId("editor-tab-preview").click();
    const preview = author.getByTestId("editor-preview");
    await preview.waitFor();
    const h2 = (await preview.locator("h2").allTextContents()).map((t) => t.trim());
    if (JSON.stringify(h2) !== JSON.stringify(["Reads, not visits"])) throw new Error(`preview h2: ${JSON.stringify(h2)}`);
    const items = (await preview.locator("ul > li").allTextContents()).map((t) => t.trim());
    if (JSON.stringify(items) !== JSON.stringify(["distinct posts", "per calendar month"])) throw new Error(`preview li: ${JSON.stringify(items)}`);
    const link = preview.locator('a[href="https://example.com/api"]');
    if ((await link.count()) !== 1) throw new Error(`preview has no link to https://example.com/api: ${await preview.innerHTML()}`);
    if (!/\bnofollow\b/.test((await link.getAttribute("rel")) ?? "")) throw new Error(`the link's rel is ${await link.getAttribute("rel")}`);
    await expectAbsent(author, '[data-testid="editor-preview"] script, [data-testid="editor-preview"] [onerror]', "the preview");
    await new Promise((r) => setTimeout(r, 300)); // time for an image's error event, had one survived
    if (await author.evaluate(() => window.__injected)) throw new Error("markup from the post's body ran in the page");
    await shotsAtWidths(author, "23-preview", "the preview");
  });

  await step("publish now: the post is published and My posts lists it under Published", async () => {
    await author.getByTestId("editor-tab-write").click();
    await author.getByTestId("editor-publish").click();
    await expectStatus(author, "published");
    await author.getByTestId("editor-unpublish").waitFor();
    await author.getByTestId("nav-mine").click();
    await author.getByTestId("mine-list").waitFor();
    await author.getByTestId("mine-filter-published").click();
    await author.locator('[data-testid="mine-list"][data-status="published"]').waitFor();
    await author.locator(`[data-testid="mine-row"][data-id="${postId}"][data-status="published"]`).waitFor();
    await shotsAtWidths(author, "24-my-posts", "My posts");
    await author.getByTestId("mine-filter-draft").click();
    await author.getByTestId("mine-empty").waitFor();
    await expectAbsent(author, `[data-testid="mine-row"][data-id="${postId}"]`, "My posts under Drafts");
  });

  await step("a save from a stale version shows the conflict message; their version can be loaded", async () => {
    await author.getByTestId("mine-filter-all").click();
    await author.getByTestId(`mine-open-${postId}`).click();
    await expectStatus(author, "published");
    const before = await dataOf(author, "editor", "updated-at");

    // The same author in a second tab opens the post and saves first.
    const other = await newTab();
    await login(other, writer, password);
    await other.getByTestId("nav-mine").click();
    await other.getByTestId(`mine-open-${postId}`).click();
    await expectStatus(other, "published");
    const theirTitle = `${title} (edited in another tab)`;
    await other.getByTestId("editor-title").fill(theirTitle);
    await other.getByTestId("editor-save").click();
    await other.getByTestId("editor-notice").waitFor();
    await other.context().close();

    // The first tab, still on the version it loaded, saves.
    const mine = "\n\nA line written in the first tab.";
    await author.getByTestId("editor-body").fill(markdown + mine);
    await author.getByTestId("editor-save").click();
    // The same author's other tab is not "someone else": the message names no one, and its button says what it loads.
    const message = await textOf(author, "editor-conflict-message");
    if (!/saved after you opened it here/i.test(message) || /someone else/i.test(message)) throw new Error(`conflict message: ${JSON.stringify(message)}`);
    await expectText(author, "editor-reload", "Load the newer version");
    await expectAbsent(author, '[data-testid="editor-publish-at"]', "a published post's editor");
    if ((await dataOf(author, "editor", "updated-at")) !== before) throw new Error("the editor moved to another version without being asked");
    await shotsAtWidths(author, "25-conflict", "the edit conflict");

    // Nothing of the refused save is stored.
    const stored = await author.evaluate(async ([api, id]) => {
      const r = await fetch(`${api}/posts/${id}`, { credentials: "include" });
      return r.json();
    }, [API_URL, postId]);
    if (stored.title !== theirTitle || stored.body.includes(mine.trim())) throw new Error(`stored after the conflict: ${JSON.stringify({ title: stored.title, body: stored.body })}`);

    await author.getByTestId("editor-reload").click();
    await until("their title in the form", async () => (await author.getByTestId("editor-title").inputValue()) === theirTitle);
    await expectAbsent(author, '[data-testid="editor-conflict"]', "after loading their version");
    const kept = await author.getByTestId("editor-unsaved").locator("textarea").inputValue();
    if (!kept.includes(mine.trim())) throw new Error("the refused text is not kept to copy from");
    // From their version, a save goes through.
    await author.getByTestId("editor-excerpt").fill("How the meter counts reads.");
    await author.getByTestId("editor-save").click();
    await author.getByTestId("editor-notice").waitFor();
    await expectAbsent(author, '[data-testid="editor-conflict"]', "a save from the current version");
  });

  await step("a premium post, published; a third post scheduled for tomorrow", async () => {
    await author.getByTestId("nav-new-post").click();
    await author.getByTestId("editor-title").fill(`Members only ${suffix}`);
    await author.getByTestId("editor-body").fill("Premium **content**.");
    await author.getByTestId("editor-access").selectOption("premium");
    await author.getByTestId("editor-publish").click(); // saves, then publishes
    await expectStatus(author, "published");
    premiumId = Number(await dataOf(author, "editor", "post-id"));

    await author.getByTestId("nav-new-post").click();
    await expectStatus(author, "new");
    await author.getByTestId("editor-title").fill(`Coming soon ${suffix}`);
    await author.getByTestId("editor-body").fill("Tomorrow.");
    await author.getByTestId("editor-publish-at").fill(localInput(-2));
    await expectText(author, "editor-publish-at-submit", "Back-date");
    await author.getByTestId("editor-publish-at").fill(localInput(1));
    await expectText(author, "editor-publish-at-submit", "Schedule");
    await author.getByTestId("editor-publish-at-submit").click();
    await expectStatus(author, "scheduled");
    scheduledId = Number(await dataOf(author, "editor", "post-id"));
    await author.getByTestId("nav-mine").click();
    await author.getByTestId("mine-filter-scheduled").click();
    await author.locator(`[data-testid="mine-row"][data-id="${scheduledId}"][data-status="scheduled"]`).waitFor();
    await expectCount(author, '[data-testid="mine-row"]', 1);
  });

  let readerTab;
  let limit;
  await step("a reader reads the published post; the premium one says premium — upgrade, and uses no read", async () => {
    readerTab = await newTab();
    await readerTab.setViewportSize({ width: 1440, height: 900 });
    await register(readerTab, reader, password);
    await expectAbsent(readerTab, '[data-testid="tools"]', "a reader's page");
    const m = /^(\d+) free posts? left this month$/.exec(await textOf(readerTab, "meter"));
    if (!m) throw new Error(`the reader's meter reads ${await textOf(readerTab, "meter")}`);
    limit = Number(m[1]);
    await readerTab.getByTestId(`post-link-${postId}`).waitFor();
    await readerTab.getByTestId(`premium-${premiumId}`).waitFor();
    await expectAbsent(readerTab, `[data-testid="post-link-${scheduledId}"]`, "the blog before the scheduled time");

    await readerTab.getByTestId(`post-link-${postId}`).click();
    await expectText(readerTab, "post-title", `${title} (edited in another tab)`);
    await readerTab.getByTestId("post-body").locator("h2").waitFor();
    await expectText(readerTab, "post-meter", meterText(limit - 1));
    await readerTab.getByTestId("back").click();

    await readerTab.getByTestId(`post-link-${premiumId}`).click();
    const wall = readerTab.locator('[data-testid="paywall"][data-code="premium_required"]');
    await wall.waitFor();
    await expectText(readerTab, "paywall-title", "This post is for subscribers");
    await wall.getByTestId("upgrade").waitFor();
    // One reason: the free-reads meter has nothing to do with a premium post.
    await expectAbsent(readerTab, '[data-testid="paywall-meter"]', "the premium post's page");
    await shotsAtWidths(readerTab, "26-premium", "the premium message");
    await readerTab.getByTestId("back").click();
    await expectText(readerTab, "meter", meterText(limit - 1));
  });

  await step("a browser without an account opening the premium post is offered the subscription, which starts with a free account; it spends none of its free posts", async () => {
    const stranger = await newTab();
    await stranger.goto(SPA_URL);
    const title = await textOf(stranger, `read-post-${premiumId}`);
    await stranger.getByTestId(`read-post-${premiumId}`).click();
    const wall = stranger.locator('[data-testid="paywall"][data-code="premium_required"]');
    await wall.waitFor();
    await expectText(stranger, "paywall-title", "This post is for subscribers");
    await expectAbsent(stranger, '[data-testid="paywall-meter"]', "the premium post's page");
    await expectText(stranger, "paywall-offer", "Premium: €5 a month, or €50 a year (save 17%)");
    // Checkout needs an account: the one action is to make one.
    await expectAbsent(stranger, '[data-testid="upgrade"]', "the premium post for a browser without an account");
    await stranger.getByTestId("subscribe-first").click();
    await wall.getByTestId("register-form").waitFor();
    const markup = await stranger.locator('script[type="application/ld+json"]').evaluateAll((els) => els.map((el) => JSON.parse(el.textContent)));
    if (markup.length !== 1 || markup[0].headline !== title || markup[0].isAccessibleForFree !== false || "hasPart" in markup[0]) {
      throw new Error(`the premium post's markup: ${JSON.stringify(markup)}`);
    }
    await shotsAtWidths(stranger, "26a-premium-without-account", "the premium post for a browser without an account");
    await stranger.context().close();
  });

  await step("the admin gives the reader complimentary premium until a date: the premium post opens; removed, the reader is free again", async () => {
    await admin.getByTestId("users-q").fill(reader);
    await admin.getByTestId("users-search").click();
    const row = admin.locator(`[data-testid="user-row"][data-username="${reader}"]`);
    await row.waitFor();
    const id = (await row.locator('select[data-testid^="user-role-"]').getAttribute("data-testid")).slice("user-role-".length);
    // A date input takes YYYY-MM-DD; the grant ends as that day begins (UTC).
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await admin.getByTestId(`user-premium-until-${id}`).fill(until);
    await admin.getByTestId(`user-grant-${id}-give`).click();
    await admin.locator(`[data-testid="user-row"][data-username="${reader}"][data-plan="premium"]`).waitFor();
    const grant = await textOf(admin, `user-grant-${id}`);
    if (!grant.startsWith("Complimentary until ") || !grant.includes(until.slice(0, 4))) throw new Error(`the grant reads ${JSON.stringify(grant)}`);
    const saved = await textOf(admin, `user-saved-${id}`);
    if (!saved.includes("not billed")) throw new Error(`the saved note: ${JSON.stringify(saved)}`);
    await shotsAtWidths(admin, "26b-admin-complimentary", "Admin → Users with a complimentary grant");

    // The reader's next request reads the grant: the premium post opens.
    await readerTab.reload();
    await readerTab.getByTestId(`post-link-${premiumId}`).click();
    await readerTab.getByTestId("post-body").waitFor();
    await expectAbsent(readerTab, '[data-testid="paywall"]', "the premium post during a grant");
    await readerTab.getByTestId("nav-account").click();
    await expectText(readerTab, "account-plan", "premium");
    const shown = await textOf(readerTab, "account-grant");
    if (!shown.startsWith("complimentary until ")) throw new Error(`the account's grant reads ${JSON.stringify(shown)}`);

    await admin.getByTestId(`user-grant-remove-${id}`).click();
    await admin.locator(`[data-testid="user-row"][data-username="${reader}"][data-plan="free"]`).waitFor();
    await admin.getByTestId(`user-premium-until-${id}`).waitFor();
    await readerTab.reload();
    await readerTab.getByTestId("nav-account").click();
    await expectText(readerTab, "account-plan", "free");
    await expectAbsent(readerTab, '[data-testid="account-grant"]', "the account after the grant was removed");
    await readerTab.getByTestId("nav-posts").click();
    // Reads during the grant spent nothing.
    await expectText(readerTab, "meter", meterText(limit - 1));
  });

  await step("unpublish takes the post from readers; delete (confirmed) removes the premium one", async () => {
    await author.getByTestId("nav-mine").click();
    await author.getByTestId("mine-filter-all").click();
    await author.getByTestId(`mine-open-${postId}`).click();
    await author.getByTestId("editor-unpublish").click();
    await expectStatus(author, "draft");

    await author.getByTestId("nav-mine").click();
    await author.getByTestId(`mine-open-${premiumId}`).click();
    await expectStatus(author, "published");
    await author.getByTestId("editor-delete").click();
    await author.getByTestId("editor-delete-no").click(); // changed their mind: nothing happens
    await expectStatus(author, "published");
    await author.getByTestId("editor-delete").click();
    await author.getByTestId("editor-delete-yes").click();
    await author.getByTestId("my-posts").waitFor();
    await author.getByTestId(`mine-open-${postId}`).waitFor();
    await expectAbsent(author, `[data-testid="mine-open-${premiumId}"]`, "My posts after the delete");

    await readerTab.reload();
    await readerTab.getByTestId("post-list").waitFor();
    await expectAbsent(readerTab, `[data-testid="post-link-${postId}"]`, "the blog after unpublish");
    await expectAbsent(readerTab, `[data-testid="post-link-${premiumId}"]`, "the blog after delete");
    await expectText(readerTab, "meter", meterText(limit - 1));
    for (const p of [author, admin, readerTab]) await p.context().close();
  });

  // For the flows after this one (insights.mjs): the author, and the post the reader read.
  return { writer, postId };
}
