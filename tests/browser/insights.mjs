// The browser test's insights flow (run by e2e.mjs, which hands it its
// helpers and its browser), once the rest of the run has given it something
// to count: a free reader read posts and met the paywall (402), readers
// subscribed through the Stripe stand-in, a gift was opened, the publishing
// flow's reader read the writer's post. The admin opens Admin → Insights;
// every figure on the page (the totals, the monthly recurring revenue, each
// day's row, each post's row) is the API's for the period the page shows,
// fetched from the page with its session; a column header orders the posts
// as the API does; a period the server refuses (to before from) is said by
// the date inputs; the three charts are drawn. The writer (an author, made
// by the publishing flow) sees their own posts' figures beside My posts.

const DAY_FIELDS = ["registrations", "conversions", "cancellations", "members", "premium_members", "readers", "paywall_hits", "gift_readers"];
const TOTAL_FIELDS = ["members", "premium_members", "registrations", "conversions", "cancellations", "readers", "paywall_hits", "gift_readers"];
const POST_FIELDS = ["readers", "paywall_hits", "conversions", "registrations", "gift_readers"];
const CHARTS = ["insights-chart-members", "insights-chart-signups", "insights-chart-reading"];
/** The rows a page of the per-post table asks for (the SPA's PER_PAGE). */
const PER_PAGE = 20;

/** A count as the page writes it: "1,234". */
const count = (n) => n.toLocaleString("en-US");

/** The UTC date `n` days after `date` (both YYYY-MM-DD). */
const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** GET `path` of the API from the page `p`, with its session cookie: {status, body}. */
async function apiGet(p, api, path) {
  return p.evaluate(async ([base, target]) => {
    const r = await fetch(`${base}${target}`, { credentials: "include" });
    return { status: r.status, body: await r.json() };
  }, [api, path]);
}

/** The query of a period (and more), as the page sends it. */
const query = (params) => new URLSearchParams(params).toString();

export async function insights(t, { API_URL, password, writer, writerPostId }) {
  const { step, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD } = t;
  let admin;

  /** GET `path` from `p`; fails unless it is 200. */
  async function ok(p, path) {
    const { status, body } = await apiGet(p, API_URL, path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Waits until the site's figures and the posts' figures are in for `period` (and `sort`), nothing loading. */
  async function settled(p, { from, to }, { site, sort = "readers" }) {
    const sections = [`[data-testid="post-insights"][data-from="${from}"][data-to="${to}"][data-sort="${sort}"][aria-busy="false"]`];
    if (site) sections.push(`[data-testid="insights-site"][data-from="${from}"][data-to="${to}"][aria-busy="false"]`);
    for (const selector of sections) await p.locator(selector).waitFor();
  }

  /** The period the page's figures are for, as its sections say (both must agree). */
  async function shownPeriod(p, { site }) {
    const posts = p.getByTestId("post-insights");
    const period = { from: await posts.getAttribute("data-from"), to: await posts.getAttribute("data-to") };
    if (site) {
      const whole = p.getByTestId("insights-site");
      const said = { from: await whole.getAttribute("data-from"), to: await whole.getAttribute("data-to") };
      if (said.from !== period.from || said.to !== period.to) throw new Error(`the site's figures are for ${JSON.stringify(said)}, the posts' for ${JSON.stringify(period)}`);
    }
    return period;
  }

  /** Every total and the revenue on the page are those of `report` (GET /insights). */
  async function expectTotals(p, report) {
    for (const key of TOTAL_FIELDS) {
      const el = p.getByTestId(`insights-total-${key}`);
      const value = await el.getAttribute("data-value");
      if (value !== String(report.totals[key])) throw new Error(`insights-total-${key} says ${value}, the API ${report.totals[key]}`);
      const text = (await el.textContent()).trim();
      if (text !== count(report.totals[key])) throw new Error(`insights-total-${key} reads ${JSON.stringify(text)}, expected ${count(report.totals[key])}`);
    }
    const mrr = p.getByTestId("insights-mrr");
    if (report.mrr === null) {
      if ((await mrr.getAttribute("data-billing")) !== "off") throw new Error("the API has no revenue (billing off) but the page does not say billing is off");
    } else {
      const shown = { amount: await mrr.getAttribute("data-amount"), currency: await mrr.getAttribute("data-currency") };
      if (shown.amount !== String(report.mrr.amount) || shown.currency !== report.mrr.currency) {
        throw new Error(`insights-mrr shows ${JSON.stringify(shown)}, the API ${JSON.stringify(report.mrr)}`);
      }
      if (!/\d/.test(await mrr.textContent())) throw new Error(`insights-mrr reads ${JSON.stringify(await mrr.textContent())}`);
    }
  }

  /** The table of days (opened) holds one row per Day of `report`, oldest first, each cell its value. */
  async function expectDays(p, report) {
    const details = p.locator("details.days");
    if (!(await details.evaluate((el) => el.open))) await details.locator("summary").click();
    await p.getByTestId("insights-days").waitFor({ state: "visible" });
    const rows = await p.locator('[data-testid="insights-day"]').evaluateAll((trs) =>
      trs.map((tr) => ({
        date: tr.dataset.date,
        cells: Object.fromEntries([...tr.querySelectorAll("td[data-field]")].map((td) => [td.dataset.field, { value: td.dataset.value, text: td.textContent.trim() }])),
      })),
    );
    if (rows.length !== report.days.length) throw new Error(`${rows.length} day rows, the API has ${report.days.length} days`);
    report.days.forEach((d, i) => {
      const row = rows[i];
      if (row.date !== d.date) throw new Error(`day row ${i} is ${row.date}, the API's ${d.date}`);
      for (const field of DAY_FIELDS) {
        const cell = row.cells[field];
        if (!cell) throw new Error(`${d.date} has no ${field} cell`);
        if (cell.value !== String(d[field]) || cell.text !== count(d[field])) {
          throw new Error(`${d.date} ${field}: the page says ${cell.value} (${JSON.stringify(cell.text)}), the API ${d[field]}`);
        }
      }
      if (Object.keys(row.cells).length !== DAY_FIELDS.length) throw new Error(`${d.date} has cells ${Object.keys(row.cells).join(", ")}`);
    });
  }

  /** The per-post table is `page` (GET /insights/posts): the same rows in the same order, each cell its value. */
  async function expectPostRows(p, page) {
    const rows = await p.locator('[data-testid="post-insight-row"]').evaluateAll((trs) =>
      trs.map((tr) => ({
        id: Number(tr.dataset.id),
        slug: tr.dataset.slug,
        title: tr.querySelector("th").textContent,
        cells: Object.fromEntries([...tr.querySelectorAll("td[data-field]")].map((td) => [td.dataset.field, { testid: td.dataset.testid, value: td.dataset.value, text: td.textContent.trim() }])),
      })),
    );
    const ids = rows.map((r) => r.id);
    const expected = page.posts.map((r) => r.post.id);
    if (JSON.stringify(ids) !== JSON.stringify(expected)) throw new Error(`the table's posts are ${JSON.stringify(ids)}, the API's ${JSON.stringify(expected)}`);
    page.posts.forEach((r, i) => {
      const row = rows[i];
      if (row.slug !== r.post.slug) throw new Error(`post ${r.post.id}: slug ${row.slug}, the API's ${r.post.slug}`);
      if (!row.title.startsWith(r.post.title)) throw new Error(`post ${r.post.id}: title ${JSON.stringify(row.title)}, the API's ${JSON.stringify(r.post.title)}`);
      for (const field of POST_FIELDS) {
        const cell = row.cells[field];
        if (!cell || cell.testid !== `post-insight-${r.post.id}-${field}`) throw new Error(`post ${r.post.id} has no post-insight-${r.post.id}-${field} cell`);
        if (cell.value !== String(r[field]) || cell.text !== count(r[field])) {
          throw new Error(`post ${r.post.id} ${field}: the page says ${cell.value} (${JSON.stringify(cell.text)}), the API ${r[field]}`);
        }
      }
    });
  }

  /** The API's own order: `sort` largest first, ties by post id. */
  function expectSorted(page, sort) {
    for (let i = 1; i < page.posts.length; i += 1) {
      const [a, b] = [page.posts[i - 1], page.posts[i]];
      if (!(a[sort] > b[sort] || (a[sort] === b[sort] && a.post.id < b.post.id))) {
        throw new Error(`GET /insights/posts?sort=${sort} puts post ${a.post.id} (${a[sort]}) before post ${b.post.id} (${b[sort]})`);
      }
    }
  }

  let period; // what the admin's page shows at first
  await step("the admin opens Admin → Insights: every total, the revenue and each day's row are the API's for the period shown", async () => {
    admin = await newTab();
    await admin.setViewportSize({ width: 1440, height: 900 });
    await login(admin, ADMIN_USERNAME, ADMIN_PASSWORD);
    await admin.getByTestId("nav-insights").click();
    await admin.locator('[data-testid="insights"][data-scope="site"]').waitFor();
    await admin.getByTestId("insights-total-members").waitFor();
    await admin.locator('[data-testid="post-insights"][data-sort="readers"][aria-busy="false"]').waitFor();
    period = await shownPeriod(admin, { site: true });
    // At first the 30 days ending today (UTC), as the date inputs say.
    const today = new Date().toISOString().slice(0, 10);
    if (![today, addDays(today, -1)].includes(period.to) || period.from !== addDays(period.to, -29)) {
      throw new Error(`the page starts with ${JSON.stringify(period)}, not the 30 days ending ${today}`);
    }
    const inputs = { from: await admin.getByTestId("insights-from").inputValue(), to: await admin.getByTestId("insights-to").inputValue() };
    if (inputs.from !== period.from || inputs.to !== period.to) throw new Error(`the date inputs say ${JSON.stringify(inputs)}, the figures are for ${JSON.stringify(period)}`);
    await settled(admin, period, { site: true });

    const report = await ok(admin, `/insights?${query(period)}`);
    if (report.from !== period.from || report.to !== period.to) throw new Error(`the API answered for ${report.from}–${report.to}`);
    // Something to count: the first reader's reads and paywall (402) earlier in this run.
    if (!(report.totals.readers >= 1 && report.totals.paywall_hits >= 1 && report.totals.registrations >= 1)) {
      throw new Error(`the API counted nothing of this run: ${JSON.stringify(report.totals)}`);
    }
    await expectTotals(admin, report);
    await expectDays(admin, report);
    const posts = await ok(admin, `/insights/posts?${query({ ...period, sort: "readers", page: 1, per_page: PER_PAGE })}`);
    await expectPostRows(admin, posts);
    console.log(`   ${period.from} – ${period.to}: ${JSON.stringify(report.totals)}, mrr ${JSON.stringify(report.mrr)}; ${posts.total} posts`);
  });

  await step("the three charts are drawn: a canvas in each figure, as wide as its box at 1,440 and at 360 px", async () => {
    // The canvases' widths and their figures' (CSS pixels), once each canvas fits its figure.
    const fitted = (p) => until("each chart's canvas drawn within its figure", () => p.evaluate((ids) => {
      const sizes = ids.map((id) => {
        const figure = document.querySelector(`[data-testid="${id}"]`);
        const canvas = figure?.tagName === "FIGURE" ? figure.querySelector("canvas") : null;
        return canvas && { canvas: canvas.getBoundingClientRect().width, height: canvas.getBoundingClientRect().height, figure: figure.clientWidth };
      });
      return sizes.every((s) => s && s.canvas > 0 && s.height > 0 && s.canvas <= s.figure) && sizes;
    }, CHARTS));
    const wide = await fitted(admin);
    await admin.setViewportSize({ width: 360, height: 900 });
    // Drawn again for a phone: narrower than before, and still filling most of its box.
    const narrow = await until("the charts drawn again for 360 px", async () => {
      const sizes = await fitted(admin);
      return sizes.every((s, i) => s.canvas < wide[i].canvas && s.canvas >= s.figure * 0.6) && sizes;
    });
    console.log(`   canvas widths: ${wide.map((s) => Math.round(s.canvas)).join(", ")} px at 1,440; ${narrow.map((s) => Math.round(s.canvas)).join(", ")} px at 360`);
    await admin.setViewportSize({ width: 1440, height: 900 });
    await shotsAtWidths(admin, "40-insights", "Admin → Insights");
    await admin.setViewportSize({ width: 1440, height: 900 });
  });

  await step("a column header orders the posts as the API does (paywall hits, largest first, ties by id)", async () => {
    await admin.getByTestId("post-insights-sort-paywall_hits").click();
    await settled(admin, period, { site: true, sort: "paywall_hits" });
    const header = admin.getByTestId("post-insights-sort-paywall_hits").locator("xpath=..");
    if ((await header.getAttribute("aria-sort")) !== "descending") throw new Error("the paywall hits column is not marked as the sorted one");
    const posts = await ok(admin, `/insights/posts?${query({ ...period, sort: "paywall_hits", page: 1, per_page: PER_PAGE })}`);
    expectSorted(posts, "paywall_hits");
    if (!(posts.posts[0]?.paywall_hits >= 1)) throw new Error(`no post has a paywall hit: ${JSON.stringify(posts.posts[0])}`);
    await expectPostRows(admin, posts);
    if ((await admin.getByTestId("post-insights").getAttribute("data-page")) !== "1") throw new Error("a new order does not start on page 1");
  });

  await step("a period the server refuses (to before from) is said by the date inputs; the figures keep their period", async () => {
    const bad = { from: period.to, to: addDays(period.to, -1) };
    await admin.getByTestId("insights-from").fill(bad.from);
    await admin.getByTestId("insights-to").fill(bad.to);
    await admin.getByTestId("insights-show").click();
    const error = admin.getByTestId("insights-period-error");
    await error.waitFor();
    // The server's words: its sentence and what it says of `to`.
    const refused = await apiGet(admin, API_URL, `/insights?${query(bad)}`);
    if (refused.status !== 422 || !refused.body.fields?.to) throw new Error(`the API answers the refused period with ${refused.status} ${JSON.stringify(refused.body)}`);
    if ((await error.getAttribute("data-code")) !== refused.body.code) throw new Error(`the error's code is ${await error.getAttribute("data-code")}, the API's ${refused.body.code}`);
    const said = (await error.textContent()).trim();
    if (!said.includes(refused.body.error)) throw new Error(`the page says ${JSON.stringify(said)}, not the API's ${JSON.stringify(refused.body.error)}`);
    const blamed = await textOf(admin, "insights-error-to");
    if (!blamed.includes(refused.body.fields.to)) throw new Error(`the To field's error reads ${JSON.stringify(blamed)}, the API says ${JSON.stringify(refused.body.fields.to)}`);
    if ((await admin.getByTestId("insights-to").getAttribute("aria-invalid")) !== "true") throw new Error("the To input is not marked invalid");
    // What is shown is still the last period answered, and says so.
    const kept = await shownPeriod(admin, { site: true });
    if (kept.from !== period.from || kept.to !== period.to) throw new Error(`after the refusal the figures claim ${JSON.stringify(kept)}`);
    await shotsAtWidths(admin, "41-insights-refused", "Admin → Insights with a refused period");
    await admin.setViewportSize({ width: 1440, height: 900 });
  });

  await step("one day (today) shown: the error goes, and the page is the API's again for that day", async () => {
    const one = { from: period.to, to: period.to };
    await admin.getByTestId("insights-from").fill(one.from);
    await admin.getByTestId("insights-to").fill(one.to);
    await admin.getByTestId("insights-show").click();
    await settled(admin, one, { site: true, sort: "paywall_hits" });
    await expectAbsent(admin, '[data-testid="insights-period-error"]', "after a period the server answers");
    const report = await ok(admin, `/insights?${query(one)}`);
    await expectTotals(admin, report);
    await expectDays(admin, report);
    await expectPostRows(admin, await ok(admin, `/insights/posts?${query({ ...one, sort: "paywall_hits", page: 1, per_page: PER_PAGE })}`));
    await admin.context().close();
  });

  await step("the writer (an author) sees their own posts' figures beside My posts, as the API gives them, and no site figures", async () => {
    const author = await newTab();
    await author.setViewportSize({ width: 1440, height: 900 });
    await login(author, writer, password);
    await expectText(author, "current-role", "author");
    // Insights sits right after My posts in the publishing bar.
    const next = await author.getByTestId("nav-mine").evaluate((el) => el.nextElementSibling?.dataset.testid);
    if (next !== "nav-insights") throw new Error(`after My posts comes ${next}, not Insights`);
    await expectText(author, "nav-mine", "My posts");
    await author.getByTestId("nav-insights").click();
    await author.locator('[data-testid="insights"][data-scope="posts"]').waitFor();
    await author.locator('[data-testid="post-insights"][data-sort="readers"][aria-busy="false"]').waitFor();
    await expectAbsent(author, '[data-testid="insights-site"], [data-testid^="insights-total-"], [data-testid="insights-mrr"]', "an author's insights");
    const shown = await shownPeriod(author, { site: false });
    await settled(author, shown, { site: false });
    const posts = await ok(author, `/insights/posts?${query({ ...shown, sort: "readers", page: 1, per_page: PER_PAGE })}`);
    if (!posts.posts.length) throw new Error("the author has no posts in their insights");
    for (const r of posts.posts) {
      if (r.post.author?.username !== writer) throw new Error(`the author's insights list post ${r.post.id} by ${JSON.stringify(r.post.author)}`);
    }
    // The published post the publishing flow's reader read (unpublished since): counted.
    const read = posts.posts.find((r) => r.post.id === writerPostId);
    if (!read || !(read.readers >= 1)) throw new Error(`the post a reader read (${writerPostId}) is ${JSON.stringify(read)}`);
    await expectPostRows(author, posts);
    // The site's figures are the admin's alone.
    const site = await apiGet(author, API_URL, `/insights?${query(shown)}`);
    if (site.status !== 403) throw new Error(`an author's GET /insights: ${site.status}`);
    await shotsAtWidths(author, "42-insights-author", "an author's Insights");
    await author.context().close();
  });
}
