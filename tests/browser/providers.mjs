// The browser test's sign-in with another provider (run by e2e.mjs, which
// hands it its helpers): a real OpenID Connect provider (tests/oidc/provider.mjs,
// which run.sh starts and registers tollgate with as `corp`) and its own
// login page, in Chromium. A reader signs up with "Continue with Corp"
// (the account has no password), sees the identity on the security page
// (Remove is refused while it is the only way in), turns an authenticator
// app on without a password and then finishes a Corp sign-in with its code,
// is offered "Sign in again with Corp" on a reauth_required answer, sets a
// first password; a cancel at the provider comes back to the sign-in page
// as a message; a password user links Corp from the security page (a link
// asks for their password) and then signs in with it.

import { stepOf, totp } from "./two_factor.mjs";

const OIDC_ISSUER = process.env.OIDC_ISSUER;

export async function providers(t, { suffix, password, SPA_URL, API_URL }) {
  const { step, shot, until, textOf, expectText, expectCount, expectCellsInTheirRows, shotsAtWidths, newTab, register } = t;
  if (!OIDC_ISSUER) throw new Error("OIDC_ISSUER is not set (run tests/browser/run.sh)");
  // As short as the other test users' names, so the header shows it whole at 360 px.
  const reader = `c_${suffix}`;
  const linker = `l_${suffix}`;
  const readerSub = `corp-reader-${suffix}`;
  const linkerSub = `corp-linker-${suffix}`;
  let p; // the reader's tab
  let q; // the linker's tab

  /** The claims the provider gives for `sub` (its test route). */
  async function providerAccount(sub, claims) {
    const answer = await fetch(`${OIDC_ISSUER}/test/accounts`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sub, ...claims }),
    });
    if (answer.status !== 204) throw new Error(`the provider's /test/accounts: ${answer.status} ${await answer.text()}`);
  }

  /** A tab whose browser cannot reach the internet: the provider's page imports a web font, so refuse it at once. */
  async function offlineTab() {
    const tab = await newTab();
    await tab.context().route(/^https:\/\//, (route) => route.abort());
    return tab;
  }

  /** After a click that starts a sign-in: the provider's own login page, filled in as `sub`. */
  async function atTheProvider(tab, sub, file) {
    await tab.waitForURL((url) => url.href.startsWith(`${OIDC_ISSUER}/interaction/`), { waitUntil: "domcontentloaded" });
    const login = tab.locator('input[name="login"]');
    await login.waitFor();
    if (file) await shot(tab, file);
    await login.fill(sub);
    await tab.locator('input[name="password"]').fill("any password");
    await tab.locator('button[type="submit"]').click();
  }

  /** Waits until the browser is back at the SPA, at `path`. */
  async function backAt(tab, path) {
    await tab.waitForURL((url) => url.origin === SPA_URL && url.pathname === path);
  }

  async function openSecurity(tab) {
    await tab.getByTestId("nav-account").click();
    await tab.getByTestId("nav-security").click();
    await tab.getByTestId("security").waitFor();
  }

  await step('"Continue with Corp" (stay signed in) from /account: the provider\'s login page, then back there signed in, with no password', async () => {
    await providerAccount(readerSub, { email: `${reader}@corp.example`, email_verified: true, preferred_username: reader });
    p = await offlineTab();
    await p.goto(`${SPA_URL}/account`);
    const button = p.getByTestId("login-provider-corp");
    await expectText(p, "login-provider-corp", "Continue with Corp");
    await shot(p, "oidc-01-sign-in-page.png");
    await p.getByTestId("login-stay").check();
    await button.click();
    await atTheProvider(p, readerSub, "oidc-02-provider-login.png");
    await backAt(p, "/account");
    await expectText(p, "current-user", reader);
    await p.locator('[data-testid="account-password"][data-set="false"]').waitFor();
    await expectText(p, "account-email", `${reader}@corp.example`);
    await expectText(p, "account-verified", "verified");
    // The email form asks for no password the account does not have.
    if (await p.getByTestId("email-password").count()) throw new Error("the email form asks a password-less account for its password");
    // "Stay signed in" held through the provider: a cookie that outlives the browser.
    const session = (await p.context().cookies(API_URL)).find((c) => c.name === "session");
    if (!session || session.expires <= Date.now() / 1000) throw new Error(`the session cookie: ${JSON.stringify(session)}`);
    await shot(p, "oidc-03-signed-in-account.png");
  });

  await step("the security page lists the Corp identity; removing it is refused (the only way in); no password fields", async () => {
    await openSecurity(p);
    await expectCount(p, '[data-testid="identity-row"][data-provider="corp"]', 1);
    await expectCellsInTheirRows(p, '[data-testid="identity-row"]');
    await expectText(p, "identity-email", `${reader}@corp.example`);
    // Linked already: no "Link Corp".
    await expectCount(p, '[data-testid="identity-link-corp"]', 0);
    await p.getByTestId("set-password-form").waitFor();
    await p.locator('[data-testid^="identity-remove-"]').click();
    const refusal = await textOf(p, "identity-unlink-error");
    if (!/only way/i.test(refusal)) throw new Error(`the refusal reads ${JSON.stringify(refusal)}`);
    await expectCount(p, '[data-testid="identity-row"]', 1);
    await shotsAtWidths(p, "oidc-04-security", "the security page of a provider account");
  });

  let secret;
  let confirmStep;
  let recoveryCodes;
  await step("turn the authenticator app on without a password (a fresh sign-in stands for it)", async () => {
    await p.getByTestId("totp-setup").click();
    await p.getByTestId("totp-setup-form").waitFor();
    if (await p.getByTestId("totp-setup-password").count()) throw new Error("the set-up asks a password-less account for its password");
    await p.getByTestId("totp-setup-submit").click();
    secret = await p.getByTestId("totp-secret").getAttribute("data-secret");
    confirmStep = stepOf(Date.now() / 1000);
    await p.getByTestId("totp-code").fill(totp(secret, confirmStep));
    await p.getByTestId("totp-confirm").click();
    await expectCount(p, '[data-testid="recovery-code"]', 10);
    recoveryCodes = await p.locator('[data-testid="recovery-code"]').allTextContents();
    await p.getByTestId("recovery-codes-done").click();
    await p.locator('[data-testid="totp-status"][data-on="true"]').waitFor();
  });

  await step("log out; Corp again leads to the second step at /login/two-factor; the app's code signs in", async () => {
    await p.getByTestId("logout").click();
    await p.getByTestId("login-provider-corp").click();
    await atTheProvider(p, readerSub);
    await backAt(p, "/login/two-factor");
    await p.getByTestId("second-step").waitFor();
    await shot(p, "oidc-05-second-step.png");
    // The server never takes the same code twice: the next step's.
    await p.getByTestId("second-step-code").fill(totp(secret, confirmStep + 1));
    await p.getByTestId("second-step-submit").click();
    await expectText(p, "current-user", reader);
    await until("the address bar to leave /login/two-factor", () => new URL(p.url()).pathname === "/");
  });

  await step('past 5 minutes (403 reauth_required, stood in for): "Sign in again with Corp", then the second step, signs in afresh', async () => {
    // The window is the server's constant and the test cannot wait it out:
    // the browser gets the answer the server would give, once.
    let stoodIn = false;
    await p.route(`${API_URL}/password`, async (route) => {
      if (route.request().method() !== "POST" || stoodIn) return route.fallback();
      stoodIn = true;
      await route.fulfill({
        status: 403,
        contentType: "application/json",
        headers: { "Access-Control-Allow-Origin": SPA_URL, "Access-Control-Allow-Credentials": "true" },
        body: JSON.stringify({ error: "This account has no password, so this change needs a fresh sign-in.", code: "reauth_required" }),
      });
    });
    await openSecurity(p);
    await p.getByTestId("set-password").fill(`${password}-c`);
    await p.getByTestId("set-password-submit").click();
    await p.getByTestId("reauth").waitFor();
    await expectText(p, "reauth-corp", "Sign in again with Corp");
    await shot(p, "oidc-06-reauth.png");
    await p.unroute(`${API_URL}/password`);
    await p.getByTestId("reauth-corp").click();
    await atTheProvider(p, readerSub);
    // The authenticator app is on: the second step first (the server sends
    // the browser there, not back to the page it came from). The app's
    // codes are used up to this 30-s step: a recovery code.
    await backAt(p, "/login/two-factor");
    await p.getByTestId("second-step-switch").click();
    await p.getByTestId("second-step-recovery").fill(recoveryCodes[0]);
    await p.getByTestId("second-step-submit").click();
    await expectText(p, "current-user", reader);
  });

  await step("set a first password (within 5 minutes of signing in); the forms ask for it from then on", async () => {
    await openSecurity(p);
    await p.getByTestId("set-password").fill(`${password}-c`);
    await p.getByTestId("set-password-submit").click();
    await p.getByTestId("password-set").waitFor();
    await expectCount(p, '[data-testid="set-password-form"]', 0);
    await p.getByTestId("recovery-regenerate").click();
    await p.getByTestId("recovery-regenerate-password").waitFor();
    await shot(p, "oidc-07-password-set.png");
    await p.getByTestId("nav-account-details").click();
    await p.locator('[data-testid="account-password"][data-set="true"]').waitFor();
    await p.context().close();
  });

  await step('a cancel at the provider ("[ Cancel ]") comes back to the sign-in page with a message', async () => {
    p = await offlineTab();
    await p.goto(SPA_URL);
    await p.getByTestId("login-provider-corp").click();
    await p.waitForURL((url) => url.href.startsWith(`${OIDC_ISSUER}/interaction/`), { waitUntil: "domcontentloaded" });
    await p.getByRole("link", { name: "[ Cancel ]" }).click();
    await p.getByTestId("login-form").waitFor();
    await expectText(p, "login-error", "You cancelled the sign-in at the provider.");
    // Said once: the address is the app's own again, so a reload does not repeat it.
    await until("the address bar to drop ?error", () => new URL(p.url()).pathname === "/" && !p.url().includes("error="));
    if (await p.getByTestId("current-user").count()) throw new Error("signed in after a cancel");
    await shot(p, "oidc-08-cancelled.png");
    await p.context().close();
  });

  await step(`${linker} (a password account) links Corp from the security page with their password, and Corp then signs them in`, async () => {
    // An address the provider does not vouch for: only the link joins the two.
    await providerAccount(linkerSub, { email: `${linker}@corp.example`, email_verified: false, preferred_username: `${linker}_corp` });
    q = await offlineTab();
    await register(q, linker, password);
    await openSecurity(q);
    await q.getByTestId("identities-none").waitFor();
    await expectText(q, "identity-link-corp", "Link Corp");
    await q.getByTestId("identity-link-corp").click();
    await q.getByTestId("identity-link-password").fill(password);
    await shotsAtWidths(q, "oidc-09-link-form", "the security page's link form");
    await q.getByTestId("identity-link-submit").click();
    await atTheProvider(q, linkerSub);
    await backAt(q, "/account/security");
    await expectText(q, "current-user", linker);
    await expectCount(q, '[data-testid="identity-row"][data-provider="corp"]', 1);
    await expectCount(q, '[data-testid="identity-link-corp"]', 0);
    await shot(q, "oidc-09-linked.png");

    await q.getByTestId("logout").click();
    // Logged out, the front page; a sign-in from there comes back to it.
    await backAt(q, "/");
    await q.getByTestId("login-provider-corp").click();
    await atTheProvider(q, linkerSub);
    await backAt(q, "/");
    await expectText(q, "current-user", linker);
    await q.getByTestId("post-list").waitFor();
    await q.context().close();
  });
}
