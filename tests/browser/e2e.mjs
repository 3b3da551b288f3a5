// Real-browser end-to-end test: examples/react-spa in Chromium against a real
// tollgate server. run.sh starts both servers; run it rather than this file.
//
//   SPA_URL        the built SPA (default http://localhost:5173)
//   API_URL        tollgate (default http://localhost:8080), for the webhook
//   STRIPE_URL     the Stripe stand-in (tests/browser/stripe-stand-in.mjs)
//   WEBHOOK_SECRET tollgate's STRIPE_WEBHOOK_SECRET, to sign events with
//   CHROMIUM       the browser binary (default /usr/bin/chromium)
//   ARTIFACTS_DIR  where the step screenshots go (default <repo>/artifacts/browser)
//   MAIL_DIR       where the server writes its messages as .eml files (no SMTP_URL)
//   E2E_ADMIN_USERNAME, E2E_ADMIN_PASSWORD
//                  an admin that run.sh made with `tollgate set-role` before the run
//   OIDC_ISSUER    the OpenID Connect provider (tests/oidc/provider.mjs) that
//                  run.sh started and configured tollgate with, as `corp`
//
// Exits 0 when every step passed, 1 with a "FAIL" line otherwise.

import { chromium } from "playwright-core";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { createHmac, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

import { publishing } from "./publishing.mjs";
import { newsletters } from "./newsletters.mjs";
import { twoFactor } from "./two_factor.mjs";
import { providers } from "./providers.mjs";
import { insights } from "./insights.mjs";
import { readerWall } from "./reader_wall.mjs";
import { dataOut } from "./data_out.mjs";
import { webhooksPage } from "./webhooks.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SPA_URL = process.env.SPA_URL ?? "http://localhost:5173";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const API_URL = process.env.API_URL ?? "http://localhost:8080";
const STRIPE_URL = process.env.STRIPE_URL ?? "http://127.0.0.1:12111";
const WEBHOOK_SECRET = process.env.WEBHOOK_SECRET ?? "whsec_e2e";
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR ?? path.join(here, "../../artifacts/browser"));
const MAIL_DIR = process.env.MAIL_DIR;
const ADMIN_USERNAME = process.env.E2E_ADMIN_USERNAME;
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD;
// axe-core, injected into each page the test looks at (from npm, beside playwright-core).
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
// WCAG 2.0–2.2, A and AA: target-size (24 × 24 px) is a 2.2 AA rule.
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const WAIT_MS = 10_000; // any single wait
const TOTAL_MS = 330_000; // the whole test

// Chromium here cannot reach Google's services; without these flags its
// background connections stall the loopback ones too.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// The SPA's wording (src/meter.ts), so the test reads what a person reads.
function meterText(remaining) {
  if (remaining === 0) return "No free posts left this month";
  return `${remaining} free post${remaining === 1 ? "" : "s"} left this month`;
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: the browser test took longer than ${TOTAL_MS / 1000} s`);
  process.exit(1);
}, TOTAL_MS);

let passed = 0;
let browser;
let page; // the main tab, screenshotted on failure
const browserLog = [];

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    const e = new Error(`${name}: ${err.message}`);
    e.step = name;
    throw e;
  }
  passed += 1;
  console.log(`ok ${passed} - ${name} (${Date.now() - started} ms)`);
}

async function shot(p, file, { fullPage = true } = {}) {
  await p.screenshot({ path: path.join(ARTIFACTS, file), fullPage });
}

/** Polls `probe` until it returns a truthy value; fails with `what` after WAIT_MS. */
async function until(what, probe, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last seen: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function textOf(p, testid) {
  const el = p.getByTestId(testid);
  await el.waitFor({ state: "visible" });
  return (await el.textContent()).trim();
}

async function expectText(p, testid, expected) {
  let seen;
  await until(`[data-testid=${testid}] to read ${JSON.stringify(expected)}`, async () => {
    seen = await textOf(p, testid);
    return seen === expected;
  }).catch(() => {
    throw new Error(`[data-testid=${testid}] reads ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`);
  });
}

async function expectCount(p, selector, n) {
  await until(`${n} × ${selector}`, async () => (await p.locator(selector).count()) === n);
}

// The widths the layout must hold at: a small phone, a laptop (where a
// wrapping header would leave "Log out" alone on a second line), a desktop.
// The header is one row at each (styles.css has the layout).
const LAYOUT_WIDTHS = [360, 1100, 1440];

/**
 * Runs in the page: what is wrong with the layout at this width, as
 * sentences (none when it holds). Nothing may overflow the viewport
 * sideways; in the header no text may wrap, every button is one line high,
 * the name (where it is shown) is shown in full, and every item shown is on
 * one row.
 */
function layoutProblems() {
  const problems = [];
  const label = (el) => el.dataset.testid || el.className || el.tagName.toLowerCase();
  const width = window.innerWidth;
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth > width) problems.push(`the page is ${scrollWidth} px wide in a ${width} px viewport`);

  const header = document.querySelector("header.bar");
  // The pages outside the app (the front page, a gift, an emailed link's
  // page) have no header: only the overflow is theirs to check.
  if (!header) return problems;
  const shown = (el) => el.getClientRects().length > 0;
  const items = [...header.querySelectorAll(".brand, nav a, .who, .billing > a, .logout")].filter(shown);
  const box = (el) => el.getBoundingClientRect();
  for (const el of items) {
    const b = box(el);
    if (b.left < 0 || b.right > width) problems.push(`${label(el)} spans ${Math.round(b.left)}–${Math.round(b.right)} px, outside the viewport`);
  }

  // Each visible text of the header on one line: the line boxes of a
  // wrapped text do not overlap vertically.
  const walker = document.createTreeWalker(header, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || node.parentElement.closest(".visually-hidden")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    if (lines.length && Math.max(...lines.map((r) => r.top)) >= Math.min(...lines.map((r) => r.bottom))) {
      problems.push(`"${node.textContent.trim()}" wraps onto ${lines.length} lines`);
    }
  }

  // Every header button as high as "Posts", a one-word button (the
  // "Upgrade" pill is smaller by design).
  const posts = header.querySelector('[data-testid="nav-posts"]');
  const oneLine = box(posts).height;
  for (const button of header.querySelectorAll("button:not(.pill), nav a")) {
    const h = box(button).height;
    if (Math.abs(h - oneLine) > 1) problems.push(`${label(button)} is ${h} px high, one line is ${oneLine} px`);
  }

  const name = header.querySelector('[data-testid="current-user"]');
  if (shown(name) && name.scrollWidth > name.clientWidth) problems.push(`the name "${name.textContent}" is cut off`);

  // No two items overlap (a grid cell too narrow for its item lets it
  // spill over its neighbour).
  const boxes = items.map((el) => [el, box(el)]);
  for (const [i, [a, ba]] of boxes.entries()) {
    for (const [b, bb] of boxes.slice(i + 1)) {
      if (a.contains(b) || b.contains(a)) continue;
      if (ba.left < bb.right - 1 && bb.left < ba.right - 1 && ba.top < bb.bottom - 1 && bb.top < ba.bottom - 1) {
        problems.push(`${label(a)} and ${label(b)} overlap`);
      }
    }
  }

  // One row: every item shown on the row of "Log out".
  const logout = box(header.querySelector('[data-testid="logout"]'));
  const sameRow = (el) => {
    const b = box(el);
    const middle = (b.top + b.bottom) / 2;
    return middle > logout.top && middle < logout.bottom;
  };
  // (On a phone the publication's name has a row of its own above.)
  for (const el of items) {
    if (el.classList.contains("brand") && width < 544) continue;
    if (!sameRow(el)) problems.push(`${label(el)} is not on the row of "Log out" (${Math.round(box(el).top)} px vs ${Math.round(logout.top)} px)`);
  }
  return problems;
}

/**
 * Runs in the page: what is wrong with the rows of buttons below the header
 * at this width (the publishing bar of authors and admins, My posts'
 * status filter): each button on one line, inside the viewport, and each
 * row's buttons on one row. None when there are no such rows.
 */
function buttonRowProblems() {
  const problems = [];
  for (const row of document.querySelectorAll('[data-testid="tools"], .filters')) {
    const buttons = [...row.querySelectorAll("button, a")];
    const first = buttons[0].getBoundingClientRect();
    for (const button of buttons) {
      const b = button.getBoundingClientRect();
      const name = button.dataset.testid;
      if (b.left < 0 || b.right > window.innerWidth) problems.push(`${name} spans ${Math.round(b.left)}–${Math.round(b.right)} px, outside the viewport`);
      if (Math.abs(b.height - first.height) > 1) problems.push(`${name} is ${b.height} px high, one line is ${first.height} px`);
      if (Math.abs(b.top - first.top) > 1) problems.push(`${name} is not on the first row of its buttons`);
    }
  }
  return problems;
}

/**
 * Runs in the page: every tap target shown (links, buttons, form
 * controls) at least 24 × 24 px, as WCAG 2.2 asks (2.5.8). A link inside
 * a sentence is exempt, as WCAG exempts inline targets.
 */
function tapTargetProblems() {
  const problems = [];
  const targets = document.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="button"]');
  for (const el of targets) {
    if (!el.getClientRects().length || el.closest(".visually-hidden, [aria-hidden=true]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    if (el.tagName === "A" && style.display === "inline") {
      const block = el.parentElement;
      if (block && block.textContent.trim() !== el.textContent.trim()) continue; // in a sentence
    }
    const b = el.getBoundingClientRect();
    if (b.width < 23.5 || b.height < 23.5) {
      const name = el.dataset.testid || el.getAttribute("aria-label") || el.textContent.trim().slice(0, 30) || el.tagName.toLowerCase();
      problems.push(`"${name}" is ${Math.round(b.width)} × ${Math.round(b.height)} px`);
    }
  }
  return problems;
}

/** Tap targets at least 24 px and no axe-core violation on what `p` shows. */
async function expectAccessible(p, what) {
  const width = p.viewportSize().width;
  const small = await p.evaluate(tapTargetProblems);
  if (small.length) throw new Error(`${what} at ${width} px: tap targets below 24 px: ${small.join("; ")}`);
  if (!(await p.evaluate(() => typeof window.axe === "object"))) await p.addScriptTag({ path: AXE_SCRIPT });
  const violations = await p.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    // A post's own images are described (or not) by its author, in the
    // post's Markdown: not the app's to fix.
    const authors = (v, n) => v.id === "image-alt" && n.target.every((t) => document.querySelector(t)?.closest(".post-html"));
    for (const v of result.violations) v.nodes = v.nodes.filter((n) => !authors(v, n));
    return result.violations.filter((v) => v.nodes.length).map((v) => `${v.id} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}): ${v.help}`);
  }, AXE_TAGS);
  if (violations.length) throw new Error(`${what} at ${width} px: axe-core: ${violations.join("; ")}`);
}

async function expectLayoutHolds(p, what) {
  const width = p.viewportSize().width;
  const problems = [...await p.evaluate(layoutProblems), ...await p.evaluate(buttonRowProblems)];
  if (problems.length) throw new Error(`${what} at ${width} px: ${problems.join("; ")}`);
}

/**
 * Checks the layout of the page `p` shows at 1,440 and 360 px and leaves a
 * screenshot of each (`<name>-1440.png`, `<name>-360.png`); back at the
 * tab's own size after.
 */
async function shotsAtWidths(p, name, what) {
  const before = p.viewportSize();
  for (const width of [1440, 360]) {
    await p.setViewportSize({ width, height: 900 });
    await expectLayoutHolds(p, what);
    if (width === 360) await expectAccessible(p, what);
    await shot(p, `${name}-${width}.png`);
  }
  await p.setViewportSize(before);
}

async function newTab() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const p = await context.newPage();
  p.setDefaultTimeout(WAIT_MS);
  p.setDefaultNavigationTimeout(WAIT_MS);
  p.on("pageerror", (err) => browserLog.push(`pageerror: ${err.message}`));
  p.on("console", (msg) => browserLog.push(`console.${msg.type()}: ${msg.text()}`));
  return p;
}

/** The front page's register form, one click away from its login form. */
async function openRegister(p) {
  await p.getByTestId("show-register").click();
  await p.getByTestId("register-form").waitFor();
}

async function register(p, username, password) {
  await p.goto(SPA_URL);
  await openRegister(p);
  await p.getByTestId("register-username").fill(username);
  await p.getByTestId("register-password").fill(password);
  await p.getByTestId("register-submit").click();
  await expectText(p, "current-user", username);
}

async function login(p, username, password, { stay = false } = {}) {
  await p.goto(SPA_URL);
  await p.getByTestId("login-form").waitFor();
  await p.getByTestId("login-username").fill(username);
  await p.getByTestId("login-password").fill(password);
  if (stay) await p.getByTestId("login-stay").check();
  // The login's own request and answer, so that a failure says which side
  // it was on: never sent, sent and not answered, refused, or answered and
  // not followed by the page. (Handled at once: a click that throws must not
  // leave them to reject unheard.)
  const isLogin = (r) => r.url() === `${API_URL}/login` && r.method() === "POST";
  const sent = p.waitForRequest(isLogin);
  const answered = p.waitForResponse((r) => isLogin(r.request()));
  sent.catch(() => {});
  answered.catch(() => {});
  await p.getByTestId("login-submit").click();
  await sent.catch((err) => { throw new Error(`POST /login was never sent: ${err.message}`); });
  const answer = await answered.catch((err) => { throw new Error(`POST /login was sent and not answered: ${err.message}`); });
  if (answer.status() !== 200) throw new Error(`POST /login answered ${answer.status()}: ${await answer.text()}`);
  await p.getByTestId("current-user").waitFor().catch(async (err) => {
    const said = await p.getByTestId("login-error").textContent({ timeout: 500 }).catch(() => null);
    throw new Error(`${err.message} (POST /login answered 200; the login form says ${JSON.stringify(said)})`);
  });
}

/**
 * The link `{SPA_URL}{linkPath}?token=…` of the newest message to `address`
 * in MAIL_DIR, waiting for it to be written: what the recipient would click.
 */
async function emailedLink(address, linkPath) {
  const pattern = new RegExp(`${SPA_URL.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}${linkPath}\\?token=[A-Za-z0-9_-]+`);
  return until(`a message to ${address} with a ${linkPath} link in ${MAIL_DIR}`, async () => {
    const names = (await readdir(MAIL_DIR)).filter((n) => n.endsWith(".eml")).sort();
    for (const name of names.reverse()) {
      const text = await readFile(path.join(MAIL_DIR, name), "utf8");
      const to = /^To: (.*)$/m.exec(text)?.[1] ?? "";
      const link = pattern.exec(text)?.[0];
      if (to.includes(address) && link) return link;
    }
    return null;
  });
}

/**
 * The 6-digit code of the newest sign-in message to `address` in MAIL_DIR
 * (it ends the subject line), waiting for it to be written.
 */
async function emailedCode(address) {
  return until(`a sign-in code for ${address} in ${MAIL_DIR}`, async () => {
    const names = (await readdir(MAIL_DIR)).filter((n) => n.endsWith(".eml")).sort();
    for (const name of names.reverse()) {
      const text = await readFile(path.join(MAIL_DIR, name), "utf8");
      const to = /^To: (.*)$/m.exec(text)?.[1] ?? "";
      const code = /^Subject: Your sign-(?:in|up) code is (\d{6})$/m.exec(text.replace(/\r/g, ""))?.[1];
      if (to.includes(address) && code) return code;
    }
    return null;
  });
}

async function main() {
  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });

  const suffix = randomBytes(4).toString("hex");
  const username = `e2e_${suffix}`;
  const password = `Tollgate-${randomBytes(6).toString("hex")}!`;

  await step(`launch ${CHROMIUM}`, async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    page = await newTab();
  });

  await step("the front page: the publication, its offer, the latest posts (PUBLIC_LISTING), one form at a time", async () => {
    await page.goto(SPA_URL);
    await page.getByTestId("login-form").waitFor();
    // The form appears with the listing beside it, never before it: the
    // listing's arrival would move it from under the pointer.
    if (!(await page.getByTestId("public-posts").isVisible())) throw new Error("the login form was drawn before the latest posts");
    await expectText(page, "offer", "5 free posts a month. Subscribe to read everything.");
    // The prices run.sh sells, from GET /billing/prices (the Stripe stand-in's).
    await expectText(page, "front-offer", "Premium: €5 a month, or €50 a year (save 17%)");
    // run.sh sets PUBLIC_LISTING=true: titles and excerpts before sign-in.
    await expectCount(page, '[data-testid^="public-post-"]', 6);
    await expectAbsent(page, '[data-testid="register-form"]', "the register form beside the login form");
    if (await page.getByTestId("current-user").count()) throw new Error("a user is shown before anyone logged in");
    await shotsAtWidths(page, "00a-front-page", "the front page");
    await page.setViewportSize({ width: 1100, height: 800 });
    await openRegister(page);
    await expectAbsent(page, '[data-testid="login-form"]', "the login form beside the register form");
    await page.getByTestId("show-login").click();
    await page.getByTestId("login-form").waitFor();
    await openRegister(page);
  });

  await step("every post has its address: opened straight from its link, with its title in the tab; Back and Forward move between the screens", async () => {
    const tab = await newTab();
    await tab.goto(SPA_URL);
    const link = tab.locator('[data-testid^="read-post-"]').first();
    const href = await link.getAttribute("href");
    if (!/^\/blog\/[^/]+$/.test(href ?? "")) throw new Error(`a post's title links to ${JSON.stringify(href)}, not /blog/<slug>`);
    const title = (await link.textContent()).trim();
    // As a shared or bookmarked link opens it: the server hands out the app at any path.
    await tab.goto(`${SPA_URL}${href}`);
    await expectText(tab, "post-title", title);
    await until("the post's title in the tab", async () => (await tab.title()) === `${title} — The Tollgate Review`);
    const markup = await tab.locator('script[type="application/ld+json"]').evaluateAll((els) => els.map((el) => JSON.parse(el.textContent)));
    if (markup.length !== 1 || markup[0]["@type"] !== "NewsArticle" || markup[0].headline !== title) {
      throw new Error(`the post's markup: ${JSON.stringify(markup)}`);
    }
    await tab.getByTestId("back").click();
    await tab.getByTestId("public-posts").waitFor();
    if (new URL(tab.url()).pathname !== "/") throw new Error(`"All posts" leads to ${tab.url()}`);
    await tab.goBack();
    await expectText(tab, "post-title", title);
    if (new URL(tab.url()).pathname !== href) throw new Error(`Back leads to ${tab.url()}, not ${href}`);
    await tab.goForward();
    await tab.getByTestId("public-posts").waitFor();
    await tab.getByTestId("show-register").click();
    await tab.getByTestId("register-form").waitFor();
    if (new URL(tab.url()).pathname !== "/join") throw new Error(`the register form is at ${tab.url()}`);
    await until("the register form's title in the tab", async () => (await tab.title()) === "Create an account — The Tollgate Review");
    // An address that names no post says so, in words.
    await tab.goto(`${SPA_URL}/blog/no-such-post-anywhere`);
    await expectText(tab, "post-error", "There is no post at this address. It may have been unpublished or moved.");
    await shotsAtWidths(tab, "00b-no-such-post", "a post's address that names none");
    await tab.context().close();
  });

  await step("register shows the 422 field errors next to their fields", async () => {
    await page.getByTestId("register-username").fill("ab");
    await page.getByTestId("register-password").fill("short");
    await page.getByTestId("register-submit").click();
    const u = await textOf(page, "register-error-username");
    const p = await textOf(page, "register-error-password");
    if (!u || !p) throw new Error(`empty field errors: username=${JSON.stringify(u)} password=${JSON.stringify(p)}`);
    await shot(page, "00-register-errors.png");
  });

  let limit;
  await step(`register ${username} through the form`, async () => {
    await page.getByTestId("register-username").fill(username);
    await page.getByTestId("register-password").fill(password);
    await page.getByTestId("register-submit").click();
    await expectText(page, "current-user", username);
    const meter = await textOf(page, "meter");
    const m = /^(\d+) free posts? left this month$/.exec(meter);
    if (!m) throw new Error(`a new free user's meter reads ${JSON.stringify(meter)}`);
    limit = Number(m[1]);
    await page.locator('[data-testid^="post-link-"]').first().waitFor();
    await shot(page, "01-registered.png");
  });

  await step("read posts one by one: the meter counts down, then the paywall", async () => {
    const ids = await page
      .locator('[data-testid^="post-link-"]')
      .evaluateAll((els) => els.map((el) => el.dataset.testid.slice("post-link-".length)));
    if (ids.length <= limit) throw new Error(`need more than ${limit} posts to reach the paywall, the list has ${ids.length}`);
    for (let i = 0; i <= limit; i += 1) {
      const listed = await textOf(page, `post-link-${ids[i]}`);
      const href = await page.getByTestId(`post-link-${ids[i]}`).getAttribute("href");
      await page.getByTestId(`post-link-${ids[i]}`).click();
      await until(`the address ${href}`, async () => new URL(page.url()).pathname === href);
      const outcome = await until(`post ${ids[i]} or the paywall`, async () => {
        if (await page.getByTestId("post-title").isVisible()) return "post";
        if (await page.getByTestId("paywall").isVisible()) return "paywall";
        if (await page.getByTestId("post-error").isVisible()) return `error: ${await textOf(page, "post-error")}`;
        return null;
      });
      if (i < limit) {
        if (outcome !== "post") throw new Error(`read ${i + 1} of ${limit} free: expected the post, got ${outcome}`);
        await expectText(page, "post-meter", meterText(limit - i - 1));
        await page.getByTestId("back").click();
        await expectText(page, "meter", meterText(limit - i - 1));
        console.log(`   read post ${ids[i]}: ${meterText(limit - i - 1)}`);
      } else {
        if (outcome !== "paywall") throw new Error(`read ${i + 1} (free reads: ${limit}): expected the paywall, got ${outcome}`);
        console.log(`   post ${ids[i]}: paywall`);
        // What it sells: the post asked for, when free reads return, one primary action.
        const teaser = await textOf(page, "paywall-teaser");
        if (!teaser.startsWith(listed)) throw new Error(`the paywall shows ${JSON.stringify(teaser)}, not the post asked for, ${JSON.stringify(listed)}`);
        await expectText(page, "paywall-title", `You've read your ${limit} free posts this month`);
        const resets = await textOf(page, "paywall-resets");
        if (!/^Free reads return [A-Z][a-z]{2} \d{1,2}, \d{4}\.$/.test(resets)) throw new Error(`paywall-resets: ${JSON.stringify(resets)}`);
        await expectText(page, "paywall-offer", "Premium: €5 a month, or €50 a year (save 17%)");
        // The choice of price (the default first, chosen), its trial (run.sh
        // sets TRIAL_DAYS=14), a code field, and one filled button.
        if (!await page.getByTestId("price-choice-monthly").isChecked()) throw new Error("the default price is not the one chosen");
        await expectText(page, "price-saving-yearly", "save 17%");
        await expectText(page, "trial", "14 days free, then €5 a month");
        // The code field waits behind "Have a code?".
        await expectAbsent(page, '[data-testid="promotion-code"]', "the code field before asking for it");
        await page.getByTestId("paywall").getByTestId("have-code").click();
        await page.getByTestId("promotion-code").waitFor();
        await page.getByTestId("benefits").waitFor();
        await page.locator('[data-testid="paywall"] [data-testid="upgrade"].primary').waitFor();
        await expectCount(page, "button.primary", 1);
        await shotsAtWidths(page, "02-paywall", "the paywall");
        await page.setViewportSize({ width: 1100, height: 800 });
      }
    }
    // Marked in the list before the click: the posts the meter would refuse.
    await page.getByTestId("back").click();
    await page.getByTestId(`locked-${ids[limit]}`).waitFor();
    await expectAbsent(page, `[data-testid="locked-${ids[0]}"]`, "a post read this month marked as refused");
    // A post opened earlier this month stays readable behind the paywall.
    await page.getByTestId(`post-link-${ids[0]}`).click();
    await page.getByTestId("post-title").waitFor();
    await expectText(page, "post-meter", meterText(0));
    await page.getByTestId("back").click();
  });

  await step("reload: still logged in (the server-side session survives)", async () => {
    await page.reload();
    await expectText(page, "current-user", username);
    await expectText(page, "meter", meterText(0));
    await shot(page, "03-reloaded.png");
  });

  await step(`the layout holds at ${LAYOUT_WIDTHS.join(", ")} px: no header item wraps, nothing overflows`, async () => {
    for (const width of LAYOUT_WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      for (const view of ["posts", "sessions", "account", "security"]) {
        // Security and sessions are pages of the account area: Account, then its tab.
        if (view === "security" || view === "sessions") await page.getByTestId("nav-account").click();
        await page.getByTestId(`nav-${view}`).click();
        const ready = { posts: "post-list", sessions: "session-list", account: "account", security: "security" }[view];
        await page.getByTestId(ready).waitFor();
        await expectLayoutHolds(page, `the ${view} page`);
        await shot(page, `layout-${width}-${view}.png`, { fullPage: false });
      }
      console.log(`   ${width} px: header and pages hold`);
    }
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.getByTestId("nav-posts").click();
    await page.getByTestId("post-list").waitFor();
  });

  await step("paywall → Upgrade opens Stripe Checkout; after Stripe's signed event, reads go past the meter", async () => {
    const ids = await page
      .locator('[data-testid^="post-link-"]')
      .evaluateAll((els) => els.map((el) => el.dataset.testid.slice("post-link-".length)));
    const paywalled = ids[limit];
    // Stripe's hosted page cannot be reached from here: the browser gets a
    // stand-in page at the URL tollgate handed out.
    await page.context().route("https://checkout.stripe.com/**", (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Stripe Checkout (stand-in)</h1>" }),
    );
    await page.getByTestId(`post-link-${paywalled}`).click();
    await page.getByTestId("paywall").waitFor();
    await page.getByTestId("paywall").getByTestId("upgrade").click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    console.log(`   checkout: ${page.url()}`);
    await shot(page, "03a-checkout.png");

    // What tollgate asked Stripe for.
    const sent = await (await fetch(`${STRIPE_URL}/_requests`)).json();
    const session = sent.find((r) => r.method === "POST" && r.path === "/v1/checkout/sessions");
    if (!session) throw new Error(`no checkout session was requested: ${JSON.stringify(sent)}`);
    const marked = session.form["subscription_data[metadata][tollgate_user_id]"];
    if (session.form.mode !== "subscription" || !session.idempotency_key || !marked
        || session.form["metadata[tollgate_user_id]"] !== marked) {
      throw new Error(`checkout request: ${JSON.stringify(session)}`);
    }

    // Stripe, once paid: a signed customer.subscription.created, carrying
    // the metadata the checkout asked Stripe to give the subscription (by
    // which tollgate knows it for one of its own).
    const now = Math.floor(Date.now() / 1000);
    await deliverStripeEvent("customer.subscription.created", {
      id: "sub_e2e_1", object: "subscription", customer: session.form.customer, status: "active",
      cancel_at_period_end: false, current_period_end: now + 30 * 86400,
      metadata: { tollgate_user_id: marked },
    });

    // Stripe sends the browser back; the user is premium and reads on.
    await page.goto(`${SPA_URL}/billing/success?session_id=cs_test_1`);
    await page.getByTestId("billing-note").filter({ hasText: "You're premium." }).waitFor();
    await expectText(page, "current-plan", "premium");
    await page.locator('[data-testid="subscription"][data-status="active"]').waitFor();
    await page.getByTestId("manage-billing").first().waitFor();
    await shot(page, "03b-account-premium.png");
    await page.getByTestId("nav-posts").click();
    await page.getByTestId(`post-link-${paywalled}`).click();
    await page.getByTestId("post-title").waitFor();
    await shot(page, "03c-read-past-the-meter.png");
    await page.getByTestId("back").click();
  });

  await step("the checkout's note is its buyer's alone: said once, gone at logout and for the next user here", async () => {
    await page.goto(`${SPA_URL}/billing/success?session_id=cs_test_1`);
    await page.getByTestId("billing-note").waitFor();
    if (new URL(page.url()).pathname !== "/account") throw new Error(`the way back from Stripe stays in the address bar: ${page.url()}`);
    // Said once: the next page does not repeat it.
    await page.getByTestId("nav-posts").click();
    await page.getByTestId("post-list").waitFor();
    await expectAbsent(page, '[data-testid="billing-note"]', "on the next page");
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    await expectAbsent(page, '[data-testid="billing-note"]', "after logout");
    await openRegister(page);
    // The next person at this browser, without a reload: a free user.
    const next = `${username}_next`;
    await page.getByTestId("register-username").fill(next);
    await page.getByTestId("register-password").fill(password);
    await page.getByTestId("register-submit").click();
    await expectText(page, "current-user", next);
    await expectText(page, "current-plan", "free");
    await expectAbsent(page, '[data-testid="billing-note"]', "for the next user");
    await page.getByTestId("nav-account").click();
    await page.getByTestId("upgrade").first().waitFor();
    await expectAbsent(page, '[data-testid="billing-note"]', "on the next user's account page");
    await page.getByTestId("logout").click();
    await login(page, username, password);
    await expectAbsent(page, '[data-testid="billing-note"]', "after signing in again");
  });

  await step("a reader buys a yearly plan with a code through the stand-in: a wrong code is said under its field, the trial is asked for", async () => {
    const tab = await newTab();
    const buyer = `y_${suffix}`;
    await register(tab, buyer, password);
    // The header's "Upgrade" opens the plans, one step before Stripe: what a
    // subscriber gets, the prices, and the trial the button starts.
    await tab.getByTestId("nav-upgrade").click();
    await tab.getByTestId("subscribe-page").waitFor();
    if (new URL(tab.url()).pathname !== "/subscribe") throw new Error(`"Upgrade" leads to ${tab.url()}`);
    await tab.getByTestId("benefits").waitFor();
    await expectText(tab, "trial", "14 days free, then €5 a month");
    await expectText(tab, "upgrade", "Start free trial");
    await expectAbsent(tab, '[data-testid="promotion-code"]', "the plans before asking for a code");
    await shotsAtWidths(tab, "03c1-plans", "the plans");
    await tab.setViewportSize({ width: 1100, height: 800 });
    await tab.getByTestId("nav-account").click();
    await tab.locator('[data-testid="subscription"][data-status="none"]').waitFor();
    await expectText(tab, "account-offer", "Premium: €5 a month, or €50 a year (save 17%).");
    await expectText(tab, "trial", "14 days free, then €5 a month");
    await tab.getByTestId("price-choice-yearly").check();
    await expectText(tab, "trial", "14 days free, then €50 a year");

    // A code Stripe has, but not active: refused before anything is made.
    const before = (await (await fetch(`${STRIPE_URL}/_requests`)).json()).length;
    await tab.getByTestId("have-code").click();
    await tab.getByTestId("promotion-code").fill("E2EOLD");
    await tab.getByTestId("checkout-form").getByTestId("upgrade").click();
    await expectText(tab, "promotion-code-error", "is not an active promotion code");
    if (await tab.getByTestId("promotion-code").getAttribute("aria-invalid") !== "true") throw new Error("the refused code's field is not marked invalid");
    if (!await tab.getByTestId("price-choice-yearly").isChecked()) throw new Error("the yearly price is no longer chosen after the refusal");
    await shotsAtWidths(tab, "03d-checkout-code-refused", "the account page's checkout with a refused code");
    await tab.setViewportSize({ width: 1100, height: 800 });

    // The good code, typed as a customer might: Stripe matches it without regard to case.
    await tab.context().route("https://checkout.stripe.com/**", (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Stripe Checkout (stand-in)</h1>" }),
    );
    await tab.getByTestId("promotion-code").fill("e2e20");
    await tab.getByTestId("checkout-form").getByTestId("upgrade").click();
    await tab.waitForURL(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);

    const sent = (await (await fetch(`${STRIPE_URL}/_requests`)).json()).slice(before);
    const lookups = sent.filter((r) => r.method === "GET" && r.path === "/v1/promotion_codes").map((r) => r.query);
    if (lookups.length !== 2 || lookups[0].code !== "E2EOLD" || lookups[1].code !== "e2e20" || lookups.some((q) => q.active !== "true")) {
      throw new Error(`promotion code look-ups: ${JSON.stringify(lookups)}`);
    }
    const sessions = sent.filter((r) => r.method === "POST" && r.path === "/v1/checkout/sessions");
    if (sessions.length !== 1) throw new Error(`${sessions.length} checkout sessions asked for, expected 1: ${JSON.stringify(sessions)}`);
    const { form } = sessions[0];
    const expected = {
      "line_items[0][price]": "price_e2e_yearly",
      "discounts[0][promotion_code]": "promo_e2e20",
      "subscription_data[trial_period_days]": "14",
    };
    for (const [field, value] of Object.entries(expected)) {
      if (form[field] !== value) throw new Error(`the checkout session has ${field}=${JSON.stringify(form[field])}, expected ${value}: ${JSON.stringify(form)}`);
    }
    // A discount given, Checkout's own code field is not offered too (Stripe takes one or the other).
    if ("allow_promotion_codes" in form) throw new Error(`the checkout session also allows promotion codes: ${JSON.stringify(form)}`);

    // Stripe starts the trial; the account page names the price and the trial's end.
    const now = Math.floor(Date.now() / 1000);
    const trialEnd = now + 14 * 86400;
    await deliverStripeEvent("customer.subscription.created", {
      id: "sub_e2e_yearly", object: "subscription", customer: form.customer, status: "trialing",
      cancel_at_period_end: false, trial_start: now, trial_end: trialEnd,
      items: { object: "list", data: [{
        id: "si_e2e_yearly", object: "subscription_item", current_period_end: trialEnd,
        price: { id: "price_e2e_yearly", object: "price", currency: "eur", unit_amount: 5000, type: "recurring",
          recurring: { interval: "year", interval_count: 1 } },
      }] },
      metadata: { tollgate_user_id: form["metadata[tollgate_user_id]"] },
    });
    const checkout = new URL(tab.url()).pathname.split("/").pop();
    await tab.goto(`${SPA_URL}/billing/success?session_id=${checkout}`);
    await tab.getByTestId("billing-note").filter({ hasText: "You're premium." }).waitFor();
    await tab.getByTestId("nav-account").click();
    await tab.locator('[data-testid="subscription"][data-status="trialing"]').waitFor();
    const day = new Date(trialEnd * 1000).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
    await expectText(tab, "subscription", `Subscription: trialing, free trial until ${day}, then €50 a year`);
    await expectText(tab, "subscription-price", "€50 a year");
    await shotsAtWidths(tab, "03e-account-trialing", "the account page of a trialing subscriber");
    await tab.context().close();
  });

  await step("sessions: end one, then log out everywhere else", async () => {
    // Two more logins, as from two other devices; the name matches case-insensitively.
    const other1 = await newTab();
    const other2 = await newTab();
    await login(other1, username.toUpperCase(), password, { stay: true });
    await expectText(other1, "current-user", username);
    await login(other2, username, password);

    await page.getByTestId("nav-account").click();
    await page.getByTestId("nav-sessions").click();
    await expectCount(page, '[data-testid="session-row"]', 3);
    await expectCount(page, '[data-testid="session-row"][data-current="true"]', 1);
    await expectCellsInTheirRows(page, '[data-testid="session-row"]');
    await shotsAtWidths(page, "04-sessions", "the sessions page");

    // End one other session with its own button.
    await page.locator('[data-testid^="end-session-"]').first().click();
    await expectCount(page, '[data-testid="session-row"]', 2);
    // Then all the others.
    await page.getByTestId("logout-others").click();
    await expectCount(page, '[data-testid="session-row"]', 1);
    await expectCount(page, '[data-testid="session-row"][data-current="true"]', 1);

    // Recent activity: each ended session is one event, newest first, and
    // the logins read as a person would say them.
    await expectCount(page, '[data-testid="event-row"][data-kind="session_revoked"]', 2);
    await page.locator('[data-testid="event-row"][data-kind="login"]').first()
      // (A loopback address says nothing to a reader: not shown.)
      .filter({ hasText: /^Login, .+, (just now|\d+ minutes? ago)$/ })
      .waitFor({ timeout: WAIT_MS });
    await shot(page, "04b-activity.png");

    for (const other of [other1, other2]) {
      await other.reload();
      await other.getByTestId("login-form").waitFor();
      await other.context().close();
    }
    await page.reload();
    await expectText(page, "current-user", username);
  });

  await step("log out", async () => {
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    await shot(page, "05-logged-out.png");
  });

  await step("reload: still logged out", async () => {
    await page.reload();
    await page.getByTestId("login-form").waitFor();
    if (await page.getByTestId("current-user").count()) throw new Error("a user is shown after logout and reload");
    await shot(page, "06-reloaded-logged-out.png");
  });

  // Email and recovery: the register form's address, the verification
  // link, then "forgot password" and the reset link, read from the .eml
  // files the server writes into MAIL_DIR.
  const mailUser = `e2e_${suffix}_m`;
  const mailAddress = `${mailUser}@example.com`;
  const newPassword = `Renewed-${randomBytes(6).toString("hex")}!`;
  await step(`register ${mailUser} with an email address and the newsletter; the account page shows both, the address unverified`, async () => {
    if (!MAIL_DIR) throw new Error("MAIL_DIR is not set (run tests/browser/run.sh)");
    await openRegister(page);
    await page.getByTestId("register-username").fill(mailUser);
    await page.getByTestId("register-password").fill(password);
    await page.getByTestId("register-email").fill(mailAddress);
    await page.getByTestId("register-newsletter").check();
    await page.getByTestId("register-submit").click();
    await expectText(page, "current-user", mailUser);
    await page.getByTestId("nav-account").click();
    await expectText(page, "account-email", mailAddress);
    await expectText(page, "account-verified", "not verified");
    // Asked for at registration; sent only once the address is verified.
    if (!(await page.getByTestId("newsletter").isChecked())) throw new Error("the newsletter box is not ticked after asking for it");
    await expectText(page, "newsletter-hint", "They go out once your address is verified.");
    // Switched off and on again from the account page: each a PATCH /account
    // the server keeps (the box shows what is stored, so it changes once the
    // server has answered: a click, not Playwright's check()).
    await page.getByTestId("newsletter").click();
    await until("the newsletter off", async () => !(await page.getByTestId("newsletter").isChecked()) && !(await page.getByTestId("newsletter").isDisabled()));
    await page.reload();
    await page.getByTestId("nav-account").click();
    await page.getByTestId("newsletter-row").waitFor();
    if (await page.getByTestId("newsletter").isChecked()) throw new Error("the newsletter came back on after a reload");
    await page.getByTestId("newsletter").click();
    await page.getByTestId("newsletter-hint").waitFor();
    await shotsAtWidths(page, "07-account-unverified", "the account page");
    // The link again, from the account page: a new message with a new link.
    const first = await emailedLink(mailAddress, "/verify-email");
    await page.getByTestId("email-resend").click();
    await page.getByTestId("email-resend-password").fill(password);
    await page.getByTestId("email-resend-submit").click();
    await expectText(page, "email-resent", `A new link is on its way to ${mailAddress}.`);
    await until("a second verification link", async () => (await emailedLink(mailAddress, "/verify-email")) !== first);
  });

  await step("open the emailed verification link: the address is verified", async () => {
    const link = await emailedLink(mailAddress, "/verify-email");
    await page.goto(link);
    await page.getByTestId("verify-done").waitFor();
    await shotsAtWidths(page, "08-verified", "the verified link's page");
    await page.getByTestId("recovery-home").click();
    await page.getByTestId("nav-account").click();
    await expectText(page, "account-verified", "verified");
    // Verified: the newsletter goes to it, so nothing more is asked.
    if (!(await page.getByTestId("newsletter").isChecked())) throw new Error("the newsletter is off after verifying");
    await expectAbsent(page, '[data-testid="newsletter-hint"]', "the account page with a verified address");
  });

  await step("log out, ask for a reset link, set a new password from it", async () => {
    await page.getByTestId("logout").click();
    // The form has an address and a title of its own, and Back leaves it.
    await page.getByTestId("forgot-link").click();
    await until("the forgot form's address", async () => new URL(page.url()).pathname === "/login/forgot-password");
    await until("the forgot form's title in the tab", async () => (await page.title()) === "Reset your password — The Tollgate Review");
    await page.goBack();
    await page.getByTestId("login-form").waitFor();
    await page.goForward();
    await page.getByTestId("forgot-email").fill(mailAddress.toUpperCase());
    await page.getByTestId("forgot-submit").click();
    await page.getByTestId("forgot-done").waitFor();
    await shotsAtWidths(page, "09-forgot", "the forgot-password form");
    const link = await emailedLink(mailAddress, "/reset-password");
    await page.goto(link);
    await page.getByTestId("reset-password").fill("short");
    await page.getByTestId("reset-submit").click();
    await page.getByTestId("reset-error-password").waitFor(); // 422: the link stays usable
    await page.getByTestId("reset-password").fill(newPassword);
    await page.getByTestId("reset-submit").click();
    await page.getByTestId("reset-done").waitFor();
    await shotsAtWidths(page, "10-reset", "the reset page");
  });

  await step("log in with the new password (the old one no longer works)", async () => {
    await page.getByTestId("recovery-home").click();
    await page.getByTestId("login-form").waitFor();
    await page.getByTestId("login-username").fill(mailUser);
    await page.getByTestId("login-password").fill(password);
    await page.getByTestId("login-submit").click();
    await page.getByTestId("login-error").waitFor();
    await login(page, mailUser, newPassword);
    await expectText(page, "current-user", mailUser);
    await shot(page, "11-logged-in-with-new-password.png");
  });

  // Sign-in by email: asked for here, the link opened in another browser
  // (a phone, say), where a button spends it; then a new reader signs up
  // with the code typed where it was asked.
  await step("sign in by email: asked for here, the link opened in another browser and confirmed with a button", async () => {
    await page.getByTestId("logout").click();
    await page.getByTestId("login-email-link").click();
    await page.getByTestId("email-address").fill(mailAddress);
    await page.getByTestId("email-submit").click();
    await page.getByTestId("email-sent").waitFor();
    await shotsAtWidths(page, "11a-email-sent", "the sign-in link sent");
    const link = await emailedLink(mailAddress, "/login/email");
    const phone = await newTab();
    await phone.goto(link);
    // Opening the link spends nothing (mail scanners open links): the button does.
    await phone.getByTestId("email-link-confirm").waitFor();
    await shotsAtWidths(phone, "11b-email-link", "the sign-in link's page");
    await phone.getByTestId("email-link-confirm").click();
    await expectText(phone, "email-link-user", mailUser);
    await phone.getByTestId("recovery-home").click();
    await expectText(phone, "current-user", mailUser);
    await phone.context().close();
  });

  await step("a new reader signs up by email with the code from the message", async () => {
    const newcomer = `e2e_${suffix}_n`;
    const address = `${newcomer}@example.com`;
    await page.getByTestId("email-again").click();
    await page.getByTestId("email-code").waitFor({ state: "detached" });
    await page.getByTestId("email-address").fill(address);
    await page.getByTestId("email-submit").click();
    await page.getByTestId("email-sent").waitFor();
    const code = await emailedCode(address);
    await page.getByTestId("email-code").fill("000000" === code ? "111111" : "000000");
    await page.getByTestId("email-code-submit").click();
    await page.getByTestId("email-error").waitFor(); // 401 invalid_code: one of five tries
    await page.getByTestId("email-code").fill(code);
    await page.getByTestId("email-code-submit").click();
    await expectText(page, "current-user", newcomer);
    await shot(page, "11c-signed-up-by-email.png");
    await page.getByTestId("logout").click();
    await login(page, mailUser, newPassword);
  });

  // Gift links: the premium reader (upgraded through the Stripe stand-in
  // above) gifts a post; a stranger opens the link in a browser of their
  // own, reads it, and creates an account from there.
  await step("a premium reader gifts a post; a stranger reads it in another browser, then creates an account", async () => {
    const giver = await newTab();
    await login(giver, username, password);
    const first = await giver.locator('[data-testid^="post-link-"]').first().getAttribute("data-testid");
    await giver.getByTestId(first).click();
    await giver.getByTestId("gift-button").click();
    const url = await giver.getByTestId("gift-url").getAttribute("href");
    await giver.getByTestId("gift-copy").waitFor();
    if (!url.startsWith(`${SPA_URL}/gift/`)) throw new Error(`gift link: ${url}`);
    await expectText(giver, "gift-left", "9 of 10 gifts left this month");
    await shot(giver, "11d-gift-made.png");

    const stranger = await newTab();
    await stranger.goto(url);
    await stranger.getByTestId("gift-title").waitFor();
    const gifted = await textOf(stranger, "gift-title");
    await until("the gifted post's title in the tab", async () => (await stranger.title()) === `${gifted} — The Tollgate Review`);
    const from = await textOf(stranger, "gift-from");
    if (!from.includes(username)) throw new Error(`gift-from: ${JSON.stringify(from)}`);
    await shotsAtWidths(stranger, "11e-gift-opened", "a gift opened");
    await stranger.getByTestId("gift-join").click();
    const newcomer = `e2e_${suffix}_g`;
    await stranger.getByTestId("register-username").fill(newcomer);
    await stranger.getByTestId("register-password").fill(password);
    await stranger.getByTestId("register-submit").click();
    await expectText(stranger, "current-user", newcomer);
    await stranger.context().close();

    // The giver sees the reader on the account page.
    await giver.getByTestId("nav-account").click();
    await expectText(giver, "gift-readers", "1");
    await giver.context().close();
  });

  const published = await publishing({ step, shot, until, textOf, expectText, expectCount, shotsAtWidths, newTab, register, login, dataOf, expectStatus, expectAbsent, meterText, API_URL, SPA_URL, ADMIN_USERNAME, ADMIN_PASSWORD, browser, page }, { suffix, password });

  await newsletters({ step, shot, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, login, dataOf, expectStatus, ADMIN_USERNAME, ADMIN_PASSWORD }, { suffix, password, emailedLink, MAIL_DIR, SPA_URL, API_URL });

  await twoFactor({ step, shot, until, textOf, expectText, expectCount, expectCellsInTheirRows, shotsAtWidths, newTab, register }, { suffix, password });

  await providers({ step, shot, until, textOf, expectText, expectCount, expectCellsInTheirRows, shotsAtWidths, newTab, register }, { suffix, password, SPA_URL, API_URL });

  // Insights last among the flows, with everything above to count: the first
  // reader's reads and paywall (402), the Stripe stand-in's subscribers, the
  // gift, the publishing flow's reader of the writer's post.
  await insights({ step, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD }, { API_URL, password, writer: published.writer, writerPostId: published.postId });

  await step("a reader changes the password on the account page: a wrong current one is said under its field, then only the new one signs in", async () => {
    const tab = await newTab();
    const name = `pw_${suffix}`;
    const changed = `Changed-${randomBytes(6).toString("hex")}!`;
    await register(tab, name, password);
    await tab.getByTestId("nav-account").click();
    await tab.getByTestId("password-change").click();
    await tab.getByTestId("password-current").fill("not the password at all");
    await tab.getByTestId("password-new").fill(changed);
    await tab.getByTestId("password-submit").click();
    await expectText(tab, "password-error-current", "That is not your current password.");
    await tab.getByTestId("password-current").fill(password);
    await tab.getByTestId("password-submit").click();
    await tab.getByTestId("password-changed").waitFor();
    await shotsAtWidths(tab, "12-password-changed", "the account page");
    await tab.getByTestId("logout").click();
    await tab.getByTestId("login-form").waitFor();
    await tab.getByTestId("login-username").fill(name);
    await tab.getByTestId("login-password").fill(password);
    await tab.getByTestId("login-submit").click();
    await tab.getByTestId("login-error").waitFor({ state: "visible" });
    await login(tab, name, changed);
    await expectText(tab, "current-user", name);
    await tab.context().close();
  });

  // The members' file and the first reader's own data, once that reader has
  // read, subscribed and given a gift.
  await dataOut({ step, until, textOf, expectText, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD }, { reader: username, password });
  await webhooksPage({ step, until, textOf, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD });

  // Last: a reader without an account, in a browser of its own; its
  // registration is credited to the wall, after insights have counted.
  await readerWall({ step, until, textOf, expectText, expectAbsent, shotsAtWidths, newTab, meterText, SPA_URL }, { suffix, password });

  await step("no uncaught errors in the page", async () => {
    const errors = browserLog.filter((line) => line.startsWith("pageerror:"));
    if (errors.length) throw new Error(errors.join("; "));
  });
}


/**
 * Delivers a Stripe event of `type` about `object` to tollgate's webhook,
 * signed with WEBHOOK_SECRET as Stripe signs it; fails unless it is taken.
 */
async function deliverStripeEvent(type, object) {
  const now = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    id: `evt_e2e_${object.id}_${now}`, object: "event", api_version: "2024-06-20", created: now,
    type, livemode: false, data: { object },
  });
  const v1 = createHmac("sha256", WEBHOOK_SECRET).update(`${now}.${body}`).digest("hex");
  const delivered = await fetch(`${API_URL}/webhooks/stripe`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": `t=${now},v1=${v1}` },
    body,
  });
  if (delivered.status !== 200) throw new Error(`webhook: ${delivered.status} ${await delivered.text()}`);
}

/** The value of `data-<name>` on the element `testid`. */
async function dataOf(p, testid, name) {
  const el = p.getByTestId(testid);
  await el.waitFor();
  return el.getAttribute(`data-${name}`);
}

async function expectStatus(p, status) {
  await p.locator(`[data-testid="editor-status"][data-status="${status}"]`).waitFor().catch(async () => {
    throw new Error(`the editor's status is ${JSON.stringify(await dataOf(p, "editor-status", "status"))}, expected ${status}`);
  });
}

/**
 * Every cell of the table rows `rowSelector` picks sits in its row: the same
 * top and bottom (within a pixel), as a table lays cells out. An action
 * cell made a flex box leaves the table's layout and fails this.
 */
async function expectCellsInTheirRows(p, rowSelector) {
  const problems = await p.locator(rowSelector).evaluateAll((rows) =>
    rows.flatMap((row, i) => {
      const r = row.getBoundingClientRect();
      return [...row.cells].flatMap((cell, j) => {
        const c = cell.getBoundingClientRect();
        return Math.abs(c.top - r.top) > 1 || Math.abs(c.bottom - r.bottom) > 1
          ? [`row ${i} cell ${j} (${cell.className || "-"}): ${c.top}-${c.bottom} in a row at ${r.top}-${r.bottom}`]
          : [];
      });
    }),
  );
  if (problems.length) throw new Error(`cells off their rows: ${problems.join("; ")}`);
}

async function expectAbsent(p, selector, what) {
  const n = await p.locator(selector).count();
  if (n) throw new Error(`${what}: ${n} × ${selector} on the page`);
}


let failed = 0;
try {
  await main();
} catch (err) {
  failed = 1;
  console.error(`FAIL - ${err.message}`);
  // Every tab still open (the main one first), as it was when the step failed.
  const tabs = browser ? browser.contexts().flatMap((c) => c.pages()) : [];
  for (const [i, tab] of tabs.entries()) {
    const file = i === 0 ? "99-failure.png" : `99-failure-${i}.png`;
    await shot(tab, file).then(
      () => console.error(`   screenshot: ${path.join(ARTIFACTS, file)} (${tab.url()})`),
      () => {},
    );
  }
  if (browserLog.length) console.error(`   browser console:\n     ${browserLog.slice(-20).join("\n     ")}`);
} finally {
  await browser?.close().catch(() => {});
  clearTimeout(watchdog);
}
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`browser e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
