// The console's "Running" part in headless Chromium at 1280x900: under a
// burst of webhooks the charts of the source, its topic and the HTTP
// destination move; a webhook signed (by the standardwebhooks library)
// with a secret the source does not have yet is refused and shows up with
// its reason; the secret is fixed in the configuration file and reloaded
// with the page's button; Replay publishes it, and a second Replay is a
// duplicate; the destination is shown caught up. Exits 1 on any failure.
// With SCREENSHOT_DIR set, saves console-running-*.png there.
//
//   node running.mjs BASE_URL TOKEN CONFIG_FILE NEW_SECRET
import { readFileSync, writeFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { launchChromium } from "./chromium.mjs";

const [base, token, configFile, newSecret] = process.argv.slice(2);
if (!newSecret) {
  console.error("usage: node running.mjs BASE_URL TOKEN CONFIG_FILE NEW_SECRET");
  process.exit(2);
}
const shots = process.env.SCREENSHOT_DIR;
const browser = await launchChromium();
const errors = [];
let code = 0;
const wait = { timeout: 20_000 };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  await page.goto(base);
  await page.fill("#token", token);
  await page.dispatchEvent("#token", "change");
  await page.waitForSelector('#rates tr[data-way="source:shop"]', wait);
  console.log("charts drawn");
  // The page's live view is a Reader hub subscriber of its topic.
  await page.waitForSelector("body[data-subscribed]", wait);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const subscribers = /^inlet_hub_subscribers\{topic="orders"\} (\d+)/m.exec(metrics);
  if (!subscribers || Number(subscribers[1]) < 1) throw new Error(`no hub subscriber counted:\n${metrics}`);
  console.log(`hub subscribers of orders: ${subscribers[1]}`);

  // A burst of webhooks: the charts move.
  const burst = [];
  for (let n = 0; n < 400; n++) {
    burst.push(fetch(`${base}/webhooks/shop`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n }),
    }).then((r) => { if (!r.ok) throw new Error(`shop answered ${r.status}`); }));
    if (n % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await Promise.all(burst);
  const rate = (way) => `Number(document.querySelector('#rates tr[data-way="${way}"]')?.dataset.rate) > 0`;
  await page.waitForFunction(`${rate("source:shop")} && ${rate("topic:orders")}`, null, wait);
  await page.waitForFunction(`Number(document.querySelector('#rates tr[data-way="destination:hook"]')?.dataset.total) >= 400`, null, wait);
  console.log("charts moved");
  await page.locator("#running-title").scrollIntoViewIfNeeded();
  if (shots) await page.screenshot({ path: `${shots}/console-running-load.png` });

  // Signed with the provider's new secret, which the source does not have.
  const body = JSON.stringify({ type: "invoice.paid", id: "inv_1" });
  const at = new Date();
  const signature = new Webhook(newSecret).sign("msg_console_1", at, body);
  const refused = await fetch(`${base}/webhooks/billing`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": "msg_console_1",
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body,
  });
  if (refused.status !== 401) throw new Error(`the webhook signed with the new secret was answered ${refused.status}`);
  console.log(`refused ${refused.status}`);
  const row = '#rejected tr[data-source="billing"][data-reason="no_match"]';
  await page.waitForSelector(row, wait);
  console.log("rejection shown");
  await page.locator("#rejected").scrollIntoViewIfNeeded();
  if (shots) await page.screenshot({ path: `${shots}/console-running-rejected.png` });

  // The operator fixes the secret and reloads from the page.
  writeFileSync(configFile, readFileSync(configFile, "utf8").replace("env:BILLING_OLD", "env:BILLING_NEW"));
  await page.click("#reload");
  await page.waitForFunction(() => document.querySelector("#reload-said").textContent.startsWith("Reloaded"), null, wait);
  console.log(`reload said: ${await page.textContent("#reload-said")}`);

  await page.click(`${row} button.replay`);
  await page.waitForFunction((r) => document.querySelector(`${r} .replayed`).textContent.trim() === "published", row, wait);
  console.log("replay published");
  await page.click(`${row} button.replay`);
  await page.waitForFunction((r) => document.querySelector(`${r} .replayed`).textContent.trim() === "duplicate", row, wait);
  console.log("second replay duplicate");

  await page.waitForSelector('#destinations tr[data-destination="hook"][data-behind="0"]', wait);
  console.log(`destination: ${await page.textContent('#destinations tr[data-destination="hook"]')}`);
  await page.locator("#rejected").scrollIntoViewIfNeeded();
  if (shots) await page.screenshot({ path: `${shots}/console-running.png` });
  if (errors.length) throw new Error(errors.join("\n"));
  console.log("running ok");
} catch (error) {
  console.error(error);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
