// The browser test's two-step sign-in flow (run by e2e.mjs, which hands it
// its helpers and its browser): a user turns an authenticator app on from
// the Account security page, with codes computed here as the app would
// (RFC 6238), keeps the recovery codes, and signs in with password + code
// and with password + recovery code; then adds a passkey through Chromium's
// virtual authenticator (DevTools protocol), finishes a password sign-in
// with it, signs in with it alone, and removes it.

import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";

/** RFC 4648 base32 (A–Z, 2–7; spaces and padding ignored) → bytes. */
function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const clean = text.toUpperCase().replace(/[\s=]/g, "");
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 30-s step `unixSeconds` falls in. */
export const stepOf = (unixSeconds) => Math.floor(unixSeconds / 30);

/** RFC 6238 TOTP (HMAC-SHA-1, 6 digits) for the time step `step`. */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f; // dynamic truncation (RFC 4226 §5.3)
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

const now = () => Math.floor(Date.now() / 1000);

export async function twoFactor(t, { suffix, password }) {
  const { step, shot, until, textOf, expectText, expectCount, expectCellsInTheirRows, shotsAtWidths, newTab, register } = t;
  // As short as the other test users' names, so the header shows it whole at 360 px.
  const user = `f_${suffix}`;
  let p; // this user's tab
  let secret;
  let confirmStep; // the 30-s step whose code turned the app on
  let recoveryCodes;

  /** Logs out, then logs in with the password and waits for the second step. */
  async function passwordThenSecondStep() {
    await p.getByTestId("logout").click();
    await p.getByTestId("login-form").waitFor();
    await p.getByTestId("login-username").fill(user);
    await p.getByTestId("login-password").fill(password);
    await p.getByTestId("login-submit").click();
    await p.getByTestId("second-step").waitFor();
    // That person has an account: no "Create an account" beside the second step.
    await expectCount(p, '[data-testid="show-register"]', 0);
  }

  /** Account, then its "Account security" tab. */
  async function openSecurity() {
    await p.getByTestId("nav-account").click();
    await p.getByTestId("nav-security").click();
    await p.getByTestId("security").waitFor();
  }

  /** Nothing wider than the viewport (the logged-out pages have no header to check). */
  async function noSidewaysScroll(what) {
    const { scroll, width } = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    if (scroll > width) throw new Error(`${what}: the page is ${scroll} px wide in a ${width} px viewport`);
  }

  await step(`register ${user} and open Account security: no authenticator app, no passkeys`, async () => {
    p = await newTab();
    await p.setViewportSize({ width: 1440, height: 900 });
    await register(p, user, password);
    await openSecurity();
    await p.locator('[data-testid="totp-status"][data-on="false"]').waitFor();
    await p.getByTestId("passkeys-none").waitFor();
    await shotsAtWidths(p, "2fa-01-security", "the security page");
  });

  await step("set up the authenticator app: password, QR code and key, a wrong code (422), the right one", async () => {
    await p.getByTestId("totp-setup").click();
    await expectCount(p, '[data-testid="totp-steps"] li', 3);
    await p.getByTestId("totp-setup-password").fill(password);
    await p.getByTestId("totp-setup-submit").click();
    const qr = p.getByTestId("totp-qr");
    await qr.waitFor();
    const alt = await qr.getAttribute("alt");
    if (!alt || !/QR/.test(alt)) throw new Error(`the QR code's alt text: ${JSON.stringify(alt)}`);
    // The image really decodes (an SVG the browser could draw).
    await until("the QR code image to load", () => qr.evaluate((img) => img.complete && img.naturalWidth > 0));
    secret = await p.getByTestId("totp-secret").getAttribute("data-secret");
    const shown = (await textOf(p, "totp-secret")).replace(/\s/g, "");
    if (!/^[A-Z2-7]{16,}$/.test(secret ?? "") || shown !== secret) {
      throw new Error(`the key: data-secret=${JSON.stringify(secret)}, shown ${JSON.stringify(shown)}`);
    }
    // A phone cannot scan its own screen: the key opens in the app, or copies.
    const open = await p.getByTestId("totp-open-app").getAttribute("href");
    if (!open?.startsWith("otpauth://totp/") || !open.includes(`secret=${secret}`)) throw new Error(`"Open in authenticator app": ${open}`);
    await p.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await p.getByTestId("totp-copy").click();
    await expectText(p, "totp-copy-said", "Copied");
    const copied = await p.evaluate(() => navigator.clipboard.readText());
    if (copied !== secret) throw new Error(`the clipboard holds ${JSON.stringify(copied)}, not the key`);
    await shotsAtWidths(p, "2fa-02-totp-setup", "the authenticator set-up");

    // A code of no nearby step: the server answers 422 fields.code.
    const near = new Set([-1, 0, 1].map((d) => totp(secret, stepOf(now()) + d)));
    let wrong = "000000";
    for (let i = 1; near.has(wrong); i += 1) wrong = String(i).padStart(6, "0");
    await p.getByTestId("totp-code").fill(wrong);
    await p.getByTestId("totp-confirm").click();
    const message = await textOf(p, "totp-error-code");
    if (!message) throw new Error("no message next to the code field after a wrong code");
    if ((await p.getByTestId("totp-code").getAttribute("aria-invalid")) !== "true") throw new Error("the code field is not marked aria-invalid");

    confirmStep = stepOf(now());
    await p.getByTestId("totp-code").fill(totp(secret, confirmStep));
    await p.getByTestId("totp-confirm").click();
    await expectCount(p, '[data-testid="recovery-code"]', 10);
    recoveryCodes = await p.locator('[data-testid="recovery-code"]').allTextContents();
    if (new Set(recoveryCodes).size !== 10 || recoveryCodes.some((c) => c.replace(/[\s-]/g, "").length < 12)) {
      throw new Error(`recovery codes: ${JSON.stringify(recoveryCodes)}`);
    }
    const warning = await textOf(p, "recovery-codes");
    if (!/save these/i.test(warning)) throw new Error(`no "save these now" message: ${JSON.stringify(warning)}`);
    // Kept as a file: every code in it.
    const [download] = await Promise.all([p.waitForEvent("download"), p.getByTestId("recovery-codes-download").click()]);
    const file = await readFile(await download.path(), "utf8");
    if (download.suggestedFilename() !== "recovery-codes.txt" || recoveryCodes.some((c) => !file.includes(c))) {
      throw new Error(`the downloaded codes (${download.suggestedFilename()}): ${JSON.stringify(file)}`);
    }
    await p.getByTestId("recovery-codes-print").waitFor();
    await shotsAtWidths(p, "2fa-03-recovery-codes", "the recovery codes");
    await p.getByTestId("recovery-codes-done").click();
    await expectCount(p, '[data-testid="recovery-code"]', 0);
    await p.locator('[data-testid="totp-status"][data-on="true"]').waitFor();
    await expectText(p, "recovery-codes-left", "10");
    console.log(`   authenticator on (step ${confirmStep}); ${recoveryCodes.length} recovery codes`);
  });

  await step("log out; the password leads to the second step; a wrong code is refused; the app's code signs in", async () => {
    await passwordThenSecondStep();
    await shot(p, "2fa-04-second-step-1440.png");
    await p.setViewportSize({ width: 360, height: 900 });
    await noSidewaysScroll("the second step at 360 px");
    await shot(p, "2fa-04-second-step-360.png");
    await p.setViewportSize({ width: 1440, height: 900 });

    // Not a code of any step the server accepts now.
    const near = new Set([-1, 0, 1, 2].map((d) => totp(secret, stepOf(now()) + d)));
    let wrong = "123456";
    for (let i = 0; near.has(wrong); i += 1) wrong = String(111111 + i);
    await p.getByTestId("second-step-code").fill(wrong);
    await p.getByTestId("second-step-submit").click();
    await expectText(p, "second-step-error", "That code is not right.");
    await shot(p, "2fa-05-second-step-wrong-code.png");

    // The server never takes the same code twice: the next step's code
    // (accepted as "the step after" now, or "the step before" 30 s on).
    await p.getByTestId("second-step-code").fill(totp(secret, confirmStep + 1));
    await p.getByTestId("second-step-submit").click();
    await expectText(p, "current-user", user);
  });

  await step("log out; password, then a recovery code signs in; one code fewer is left", async () => {
    await passwordThenSecondStep();
    await p.getByTestId("second-step-switch").click();
    await p.getByTestId("second-step-recovery").fill(recoveryCodes[0].toUpperCase());
    await p.getByTestId("second-step-submit").click();
    await expectText(p, "current-user", user);
    await openSecurity();
    await expectText(p, "recovery-codes-left", "9");
  });

  await step("add a passkey through Chromium's virtual authenticator", async () => {
    const cdp = await p.context().newCDPSession(p);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2", transport: "internal", hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    await p.getByTestId("passkey-name").fill("E2E laptop");
    await p.getByTestId("passkey-password").fill(password);
    await p.getByTestId("passkey-add").click();
    await expectCount(p, '[data-testid="passkey-row"][data-name="E2E laptop"]', 1);
    await expectCellsInTheirRows(p, '[data-testid="passkey-row"]');
    await expectText(p, "passkey-last-used", "never");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    if (credentials.length !== 1 || !credentials[0].isResidentCredential || credentials[0].rpId !== "localhost") {
      throw new Error(`the authenticator holds ${JSON.stringify(credentials.map((c) => ({ rpId: c.rpId, resident: c.isResidentCredential })))}`);
    }
    await shotsAtWidths(p, "2fa-06-passkey-added", "the security page with a passkey");
  });

  await step("log out; password, then \"Use a passkey\" finishes the sign-in (in a browser without WebAuthn's JSON methods)", async () => {
    await passwordThenSecondStep();
    // As in an older browser: the SPA's own base64url conversion (src/webauthn.ts) then does the work.
    await p.evaluate(() => {
      delete PublicKeyCredential.parseRequestOptionsFromJSON;
      delete PublicKeyCredential.parseCreationOptionsFromJSON;
      delete PublicKeyCredential.prototype.toJSON;
    });
    const left = await p.evaluate(() => typeof PublicKeyCredential.parseRequestOptionsFromJSON + typeof PublicKeyCredential.prototype.toJSON);
    if (left !== "undefinedundefined") throw new Error(`the browser's JSON methods are still there: ${left}`);
    await p.getByTestId("second-step-passkey").click();
    await expectText(p, "current-user", user);
    await p.reload(); // the browser's own methods again
    await expectText(p, "current-user", user);
  });

  await step("log out; \"Sign in with a passkey\" signs in with no username or password", async () => {
    await p.getByTestId("logout").click();
    await p.getByTestId("login-form").waitFor();
    await p.getByTestId("login-stay").check();
    await p.getByTestId("login-passkey").click();
    await expectText(p, "current-user", user);
    // A remembered session: it survives a reload like any other.
    await p.reload();
    await expectText(p, "current-user", user);
  });

  await step("the security page shows the passkey used; a wrong password keeps it; the right one removes it", async () => {
    await openSecurity();
    await until("the passkey's last use", async () => (await textOf(p, "passkey-last-used")) !== "never");
    const id = (await p.locator('[data-testid^="passkey-remove-"]').first().getAttribute("data-testid")).slice("passkey-remove-".length);
    await p.getByTestId(`passkey-remove-${id}`).click();
    await p.getByTestId("passkey-remove-password").fill(`${password}-wrong`);
    await p.getByTestId("passkey-remove-submit").click();
    await p.getByTestId("passkey-remove-error").waitFor();
    await expectCount(p, '[data-testid="passkey-row"]', 1);
    await p.getByTestId("passkey-remove-password").fill(password);
    await p.getByTestId("passkey-remove-submit").click();
    await p.getByTestId("passkeys-none").waitFor();
    await shot(p, "2fa-07-passkey-removed.png");
  });

  await step("new recovery codes (password) replace the old; turning the app off needs a right code", async () => {
    await p.getByTestId("recovery-regenerate").click();
    await p.getByTestId("recovery-regenerate-password").fill(password);
    await p.getByTestId("recovery-regenerate-submit").click();
    await expectCount(p, '[data-testid="recovery-code"]', 10);
    const fresh = await p.locator('[data-testid="recovery-code"]').allTextContents();
    if (fresh.some((c) => recoveryCodes.includes(c))) throw new Error("the new recovery codes repeat old ones");
    await p.getByTestId("recovery-codes-done").click();
    await expectText(p, "recovery-codes-left", "10");

    await p.getByTestId("totp-off").click();
    await p.getByTestId("totp-off-password").fill(password);
    await p.getByTestId("totp-off-code").fill(recoveryCodes[1]); // an old code: no longer good
    await p.getByTestId("totp-off-submit").click();
    const refusal = await until("the turn-off refusal", async () => {
      for (const id of ["totp-off-error", "totp-off-error-code"]) {
        if (await p.getByTestId(id).isVisible()) return `${id}: ${await textOf(p, id)}`;
      }
      return null;
    });
    console.log(`   an old recovery code: ${refusal}`);
    await shot(p, "2fa-08-turn-off-refused.png");
    await p.getByTestId("totp-off-code").fill(fresh[0]);
    await p.getByTestId("totp-off-submit").click();
    await p.locator('[data-testid="totp-status"][data-on="false"]').waitFor();
    await p.context().close();
  });
}
