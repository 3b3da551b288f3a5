// The browser test's webhooks flow (run by e2e.mjs, which hands it its
// helpers): an admin makes a webhook from Admin → Users, sees its secret
// once (with a copy button), picks its events, disables it, rotates its
// secret, opens its deliveries log, is refused an address inside the
// server's network, and deletes it. The address it points at is a public
// one that nothing here sends to: its only event type never happens.

const URL = "https://93.184.215.14/hooks/e2e";

export async function webhooksPage(t) {
  const { step, until, textOf, shotsAtWidths, newTab, login, ADMIN_USERNAME, ADMIN_PASSWORD } = t;

  await step("an admin makes a webhook, sees its secret once, disables it, rotates it, reads its deliveries and deletes it", async () => {
    const admin = await newTab();
    await login(admin, ADMIN_USERNAME, ADMIN_PASSWORD);
    await admin.getByTestId("nav-users").click();
    await admin.getByTestId("admin-webhooks").waitFor();

    // Refused: an address inside the server's network, said under the field.
    await admin.getByTestId("webhook-url").fill("https://169.254.169.254/latest");
    await admin.getByTestId("webhook-event-post.deleted").check();
    await admin.getByTestId("webhook-create").click();
    await until("the URL's problem", async () => (await textOf(admin, "webhook-url-error")).length > 0);

    await admin.getByTestId("webhook-url").fill(URL);
    await admin.getByTestId("webhook-create").click();
    await admin.getByTestId("webhook-secret").waitFor();
    const first = await textOf(admin, "webhook-secret-value");
    if (!/^whsec_[A-Za-z0-9+/]{43}=$/.test(first)) throw new Error(`the secret: ${JSON.stringify(first)}`);
    await admin.getByTestId("webhook-secret-copy").click();
    await shotsAtWidths(admin, "23-admin-webhooks", "Admin → Webhooks");
    await admin.getByTestId("webhook-secret-done").click();
    await until("the secret gone", async () => (await admin.getByTestId("webhook-secret").count()) === 0);
    const hook = admin.locator('[data-testid="webhook"]');
    if ((await hook.count()) !== 1) throw new Error(`${await hook.count()} webhooks listed`);
    if (!(await hook.textContent()).includes(URL)) throw new Error("the webhook's URL is not listed");
    if ((await admin.content()).includes(first)) throw new Error("the secret is still on the page");

    await hook.getByTestId("webhook-toggle").click();
    await admin.locator('[data-testid="webhook"][data-enabled="false"]').waitFor();

    admin.once("dialog", (dialog) => dialog.accept());
    await hook.getByTestId("webhook-rotate").click();
    await admin.getByTestId("webhook-secret").waitFor();
    const second = await textOf(admin, "webhook-secret-value");
    if (!second.startsWith("whsec_") || second === first) throw new Error("no new secret after a rotation");
    await admin.getByTestId("webhook-secret-done").click();

    await hook.getByTestId("webhook-deliveries-toggle").click();
    await admin.locator('[data-testid^="webhook-deliveries-"]').filter({ hasText: "Nothing sent yet." }).waitFor();

    admin.once("dialog", (dialog) => dialog.accept());
    await hook.getByTestId("webhook-delete").click();
    await until("the webhook gone", async () => (await admin.locator('[data-testid="webhook"]').count()) === 0);
    await admin.close();
  });
}
