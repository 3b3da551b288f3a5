// The browser test's reader-without-an-account flow (run by e2e.mjs, which
// hands it its helpers): run.sh starts tollgate with ANONYMOUS_READS=3,
// PUBLIC_LISTING=true and FREE_READS=5. A fresh browser opens posts from
// the front page without signing in and is counted ("1 of 3 free posts
// this month" … "3 of 3"); the fourth post meets the registration wall,
// which offers a free account and its count and no price; signing up there
// lands back on that post, which opens, and the account's meter holds the
// three reads the browser brought plus this one (4 of 5). Every post page,
// open or walled, carries schema.org Article markup saying whether the post
// is free to read.

/** The one JSON-LD block of the page, parsed. */
async function articleMarkup(p) {
  const blocks = await p.locator('script[type="application/ld+json"]').evaluateAll((els) => els.map((el) => el.textContent));
  if (blocks.length !== 1) throw new Error(`${blocks.length} JSON-LD blocks on the post's page, expected 1`);
  return JSON.parse(blocks[0]);
}

/**
 * Runs in the page: what is wrong with the controls inside `selector` (a
 * tap target under 24 × 24 px, a control without an accessible name). A
 * checkbox is tapped through its label, which is measured instead.
 */
export function controlProblems(selector) {
  const problems = [];
  const root = document.querySelector(selector);
  if (!root) return [`nothing matches ${selector}`];
  const controls = [...root.querySelectorAll("button, a[href], input, select, textarea")].filter((el) => el.getClientRects().length);
  for (const el of controls) {
    const target = el.type === "checkbox" || el.type === "radio" ? el.closest("label") ?? el : el;
    const b = target.getBoundingClientRect();
    const name = el.dataset.testid || el.id || el.textContent.trim().slice(0, 30);
    if (b.width < 24 || b.height < 24) problems.push(`${name} is ${Math.round(b.width)} × ${Math.round(b.height)} px`);
    const named = el.getAttribute("aria-label") || (el.labels && [...el.labels].some((l) => l.textContent.trim()))
      || (el.tagName === "BUTTON" || el.tagName === "A" ? el.textContent.trim() : "");
    if (!named) problems.push(`${name} has no accessible name`);
  }
  return problems;
}

export async function readerWall(t, { suffix, password }) {
  const { step, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, meterText } = t;
  const FREE = 3; // run.sh's ANONYMOUS_READS
  const ACCOUNT = 5; // run.sh's FREE_READS (and the SPA's VITE_FREE_READS default)
  let reader; // a browser of its own: no session, no reader cookie
  let ids; // metered posts on the front page, newest first
  const titles = {};
  const consoleErrors = [];

  async function expectControls(p, selector, what) {
    const before = p.viewportSize();
    await p.setViewportSize({ width: 360, height: 900 });
    const problems = await p.evaluate(controlProblems, selector);
    await p.setViewportSize(before);
    if (problems.length) throw new Error(`${what} at 360 px: ${problems.join("; ")}`);
  }

  await step(`a browser without an account opens posts from the front page: 1 of ${FREE}, 2 of ${FREE}, 3 of ${FREE}`, async () => {
    reader = await newTab();
    reader.on("console", (msg) => {
      // Chromium reports each 4xx answer as an error of its own (the first
      // check_session's 401, the wall's 402): those are the contract's
      // answers, not the page's errors.
      if (msg.type() === "error" && !/^Failed to load resource: the server responded with a status of 40[12]\b/.test(msg.text())) {
        consoleErrors.push(`${msg.text()} (${msg.location().url})`);
      }
    });
    reader.on("pageerror", (err) => consoleErrors.push(err.message));
    await reader.goto(t.SPA_URL);
    await reader.getByTestId("public-posts").waitFor();
    await expectText(reader, "public-meter", `${FREE} free posts a month, no account needed`);
    ids = await reader.locator('[data-testid^="public-post-"][data-access="metered"]')
      .evaluateAll((els) => els.map((el) => el.dataset.testid.slice("public-post-".length)));
    if (ids.length < FREE + 1) throw new Error(`need ${FREE + 1} metered posts on the front page, it lists ${ids.length}`);
    await expectControls(reader, '[data-testid="public-posts"]', "the front page's posts");

    for (let i = 0; i < FREE; i += 1) {
      const id = ids[i];
      titles[id] = await textOf(reader, `read-post-${id}`);
      await reader.getByTestId(`read-post-${id}`).click();
      await expectText(reader, "post-title", titles[id]);
      await expectText(reader, "post-meter", `${i + 1} of ${FREE} free posts this month`);
      await expectAbsent(reader, '[data-testid="current-user"]', "a post read without an account");

      // Described for search engines as a paywalled article, its body the part behind the meter.
      const markup = await articleMarkup(reader);
      const part = markup.hasPart ?? {};
      if (markup["@context"] !== "https://schema.org" || markup["@type"] !== "NewsArticle" || markup.headline !== titles[id]
          || !markup.datePublished || markup.isAccessibleForFree !== false
          || part["@type"] !== "WebPageElement" || part.isAccessibleForFree !== false || !part.cssSelector) {
        throw new Error(`the post's markup: ${JSON.stringify(markup)}`);
      }
      const marked = await reader.locator(part.cssSelector).evaluateAll((els) => els.map((el) => el.dataset.testid));
      if (marked.length !== 1 || marked[0] !== "post-body") throw new Error(`${part.cssSelector} matches ${JSON.stringify(marked)}, not the post's body`);
      const published = await reader.locator('[data-testid="post-byline"] time').getAttribute("datetime");
      if (markup.datePublished !== published) throw new Error(`datePublished ${markup.datePublished}, the page says ${published}`);

      if (i === 0) {
        await expectControls(reader, "main", "a post read without an account");
        await shotsAtWidths(reader, "50-read-without-account", "a post read without an account");
      }
      await reader.getByTestId("back").click();
      await expectText(reader, "public-meter", `${i + 1} of ${FREE} free posts this month`);
      await reader.getByTestId(`public-opened-${id}`).waitFor();
      console.log(`   post ${id}: ${i + 1} of ${FREE}`);
    }
    // A post it opened opens again for nothing.
    await reader.getByTestId(`read-post-${ids[0]}`).click();
    await expectText(reader, "post-title", titles[ids[0]]);
    await expectText(reader, "post-meter", `${FREE} of ${FREE} free posts this month`);
    await reader.getByTestId("back").click();
  });

  let walled;
  await step(`the ${FREE + 1}th post meets the registration wall: a free account and its ${ACCOUNT} posts a month, no price`, async () => {
    walled = ids[FREE];
    titles[walled] = await textOf(reader, `read-post-${walled}`);
    await reader.getByTestId(`read-post-${walled}`).click();
    const wall = reader.getByTestId("registration-wall");
    await wall.waitFor();
    if ((await wall.getAttribute("data-code")) !== "registration_required") throw new Error(`the wall says ${await wall.getAttribute("data-code")}`);
    await expectText(reader, "wall-title", `Create a free account to keep reading: ${ACCOUNT} free posts a month`);
    await expectText(reader, "wall-merge", `The ${FREE} posts you read this month count among them, and stay open to you.`);
    const teaser = await textOf(reader, "paywall-teaser");
    if (!teaser.startsWith(titles[walled])) throw new Error(`the wall shows ${JSON.stringify(teaser)}, not the post asked for`);
    // A free account, not a sale.
    const said = await wall.textContent();
    if (/[€$£¥]|\bprice|premium|subscri|upgrade|trial/i.test(said)) throw new Error(`the registration wall speaks of paying: ${JSON.stringify(said)}`);
    await expectAbsent(reader, '[data-testid="upgrade"], [data-testid="paywall-offer"], [data-testid="checkout-form"]', "the registration wall");
    await wall.getByTestId("register-form").waitFor();
    // Walled, the page still describes the article, and marks no part of
    // it: the body is not on the page (a selector must match what it marks).
    const markup = await articleMarkup(reader);
    if (markup["@type"] !== "NewsArticle" || markup.headline !== titles[walled] || !markup.datePublished
        || markup.isAccessibleForFree !== false || "hasPart" in markup) {
      throw new Error(`the walled post's markup: ${JSON.stringify(markup)}`);
    }
    await expectControls(reader, '[data-testid="registration-wall"]', "the registration wall");
    await shotsAtWidths(reader, "51-registration-wall", "the registration wall");
    await reader.setViewportSize({ width: 1100, height: 800 });
  });

  await step(`signing up on the wall lands back on the post, which opens; the meter holds the browser's reads (4 of ${ACCOUNT})`, async () => {
    const name = `rw_${suffix}`;
    const wall = reader.getByTestId("registration-wall");
    await wall.getByTestId("register-username").fill(name);
    await wall.getByTestId("register-password").fill(password);
    await wall.getByTestId("register-submit").click();
    await expectText(reader, "current-user", name);
    await expectText(reader, "post-title", titles[walled]);
    const meter = reader.getByTestId("post-meter");
    await until("the account's meter at 4 of 5", async () =>
      (await meter.getAttribute("data-used")) === String(FREE + 1) && (await meter.getAttribute("data-limit")) === String(ACCOUNT));
    await expectText(reader, "post-meter", meterText(ACCOUNT - FREE - 1));
    const markup = await articleMarkup(reader);
    if (markup.isAccessibleForFree !== false || markup.hasPart?.cssSelector !== ".post-body") throw new Error(`the opened post's markup: ${JSON.stringify(markup)}`);
    await shotsAtWidths(reader, "52-after-sign-up", "the post after signing up on the wall");
    await reader.setViewportSize({ width: 1100, height: 800 });
    // The list says the same: the browser's posts are the account's.
    await reader.getByTestId("back").click();
    await expectText(reader, "meter", meterText(ACCOUNT - FREE - 1));
    for (const id of ids.slice(0, FREE + 1)) await reader.getByTestId(`unlocked-${id}`).waitFor();
    if (consoleErrors.length) throw new Error(`the page logged errors: ${consoleErrors.join("; ")}`);
    await reader.context().close();
  });
}
