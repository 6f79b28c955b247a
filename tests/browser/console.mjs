// The console page of `inlet serve` in headless Chromium at 1280x800: it
// loads with no console error; its signed curl for the first source, copied
// and run in a shell, is answered 200 and its record appears in the live
// view; "Send a test event" makes another appear; a record another client
// writes through the Writer API appears live too; a wrong token is said to
// be refused; and once the server (process SERVER_PID) is stopped, the page
// says it lost the server. Exits 1 on any failure (each step waits at most
// 20 s). With SCREENSHOT_DIR set, the page is saved there as console-*.png.
//
//   node console.mjs BASE_URL TOKEN SERVER_PID
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { launchChromium } from "./chromium.mjs";

const [base, token, serverPid] = process.argv.slice(2);
if (!serverPid) {
  console.error("usage: node console.mjs BASE_URL TOKEN SERVER_PID");
  process.exit(2);
}
const shots = process.env.SCREENSHOT_DIR;
const browser = await launchChromium();
const errors = [];
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });
  await page.goto(base);
  await page.waitForSelector("body[data-subscribed]", { timeout: 20_000 });
  const subscribed = await page.getAttribute("body", "data-subscribed");
  console.log(`subscribed ${subscribed}`);

  const shown = () => page.evaluate(() => document.querySelectorAll("#records li").length);

  // What to paste into the provider's dashboard: the URL and the secret's form.
  const form = await page.textContent("#sources .secret-form");
  if (!form.startsWith("Secret: ")) throw new Error(`the secret's form reads: ${form}`);
  console.log(`secret form shown: ${form}`);

  // The copyable curl, signed by the server, run in a shell as pasted.
  await page.click("button.copy-curl");
  await page.waitForSelector("#source-curl:not([hidden])", { timeout: 20_000 });
  const curl = await page.textContent("#source-curl");
  const answered = execFileSync("sh", ["-c", curl], { encoding: "utf8" });
  if (!answered.trimEnd().endsWith("200")) throw new Error(`the copied curl was answered: ${answered}`);
  console.log("copied curl answered 200");
  await page.waitForFunction(() => document.querySelectorAll("#records li").length >= 1, null, { timeout: 20_000 });
  console.log("copied curl live");

  // The hub's snippet, saved and run as it says (from tests/, where
  // @microsoft/signalr is installed): it prints the event it sent, pushed back.
  const snippet = await page.textContent("#hub-snippet");
  const file = `${process.cwd()}/hub-snippet.tmp.mjs`;
  writeFileSync(file, snippet);
  const run = spawnSync("node", [file], { env: { ...process.env, INLET_TOKEN: token }, encoding: "utf8", timeout: 10_000 });
  rmSync(file, { force: true });
  if (!run.stdout.includes("my-stream")) throw new Error(`the hub snippet printed: ${run.stdout}${run.stderr}`);
  console.log("hub snippet ran");

  // "Send a test event": through the real webhook endpoint, back live.
  const before = await shown();
  await page.click("button.send-webhook");
  await page.waitForFunction((n) => document.querySelectorAll("#records li").length > n, before, { timeout: 20_000 });
  console.log("test event live");
  if (shots) await page.screenshot({ path: `${shots}/console-webhook.png` });

  // Another client writes to the telemetry topic through the Writer API.
  await page.selectOption("#live-topic", "telemetry");
  await page.waitForSelector('body[data-subscribed="telemetry"]', { timeout: 20_000 });
  const response = await fetch(`${base}/topics/telemetry/streams/other-client/events/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ id: "from-another-client", timestamp: Date.now() * 1e6, value: "hi" }]),
  });
  if (!response.ok) throw new Error(`the other client's write was answered ${response.status}`);
  await page.waitForFunction(
    () => [...document.querySelectorAll("#records summary")].some((s) => s.textContent.includes("other-client") && s.textContent.includes("from-another-client")),
    null,
    { timeout: 20_000 },
  );
  console.log("other client live");

  // The Writer API's "Send a test event" for the chosen topic.
  await page.click("#writer-send");
  await page.waitForFunction(() => [...document.querySelectorAll("#records summary")].some((s) => s.textContent.includes("console-stream") && s.textContent.includes("console-test")), null, { timeout: 20_000 });
  console.log("writer test event live");

  // Paused, and filtered, new records are held back.
  const write = (stream, id) => fetch(`${base}/topics/telemetry/streams/${stream}/events/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ id, timestamp: Date.now() * 1e6, value: "x" }]),
  });
  const none = async (text) => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const found = await page.evaluate((t) => [...document.querySelectorAll("#records summary")].some((s) => s.textContent.includes(t)), text);
    if (found) throw new Error(`${text} shown`);
  };
  await page.click("#live-pause");
  await write("while-paused", "paused-event");
  await none("while-paused");
  await page.click("#live-pause");
  await page.fill("#live-filter", "keep-me");
  await write("drop-stream", "dropped-event");
  await write("keep-me-stream", "an-event");
  await page.waitForFunction(() => [...document.querySelectorAll("#records summary")].some((s) => s.textContent.includes("keep-me-stream")), null, { timeout: 20_000 });
  await none("dropped-event");
  await page.fill("#live-filter", "");
  console.log("pause and filter");

  // A burst of records: the page keeps a bounded list and stays responsive.
  const burst = 2000;
  let sent = 0;
  const writeOne = async () => {
    while (sent < burst) {
      sent += 1;
      await fetch(`${base}/topics/telemetry/streams/burst/events/data`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify([{ id: `burst-${sent}`, timestamp: Date.now() * 1e6, value: "x" }]),
      });
    }
  };
  const writers = Promise.all(Array.from({ length: 32 }, writeOne));
  let slowest = 0;
  while (sent < burst) {
    const asked = Date.now();
    await page.evaluate(() => document.querySelectorAll("#records li").length);
    slowest = Math.max(slowest, Date.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await writers;
  const kept = await shown();
  console.log(`burst: ${burst} records, ${kept} shown, slowest page answer ${slowest} ms`);
  if (kept > 300) throw new Error(`the list grew past its bound: ${kept}`);
  if (slowest > 2000) throw new Error(`the page stopped answering for ${slowest} ms`);

  // A record opens to its JSON with the keyboard alone.
  await page.focus("#records summary");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#records details[open] pre")?.textContent.includes('"specversion"'), null, { timeout: 20_000 });
  console.log("record opens to its CloudEvent");

  // 10,000 records a second for two seconds, straight into the page's
  // handler (the transport measured elsewhere): it keeps answering.
  await page.evaluate(() => {
    let sent = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 100; i++) {
        onPackage({ topicName: "telemetry", streamId: "flood", type: "QuixStreams.Telemetry.Models.EventDataRaw[]", value: '[{"Id":"flood"}]', dateTime: new Date().toISOString() });
      }
      sent += 100;
      if (sent >= 20000) clearInterval(timer);
    }, 10);
  });
  let slowestFlood = 0;
  const floodStart = Date.now();
  while (Date.now() - floodStart < 2500) {
    const asked = Date.now();
    await page.evaluate(() => document.querySelectorAll("#records li").length);
    slowestFlood = Math.max(slowestFlood, Date.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const afterFlood = await shown();
  console.log(`flood: 20000 records in 2 s, ${afterFlood} shown, slowest page answer ${slowestFlood} ms`);
  if (afterFlood > 300 || slowestFlood > 1000) throw new Error("the page did not keep up with the flood");
  if (shots) await page.screenshot({ path: `${shots}/console-live.png` });
  if (errors.length) throw new Error(errors.join("\n"));

  // A wrong token is refused, and said so.
  await page.fill("#token", "not-a-token");
  await page.dispatchEvent("#token", "change");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("refused"), null, { timeout: 20_000 });
  console.log("wrong token said");
  await page.fill("#token", token);
  await page.dispatchEvent("#token", "change");
  await page.waitForSelector("body[data-subscribed]", { timeout: 20_000 });

  // The server stops: the page says so.
  process.kill(Number(serverPid), "SIGTERM");
  await page.waitForFunction(() => !document.getElementById("banner").hidden && document.getElementById("banner").textContent.includes("Lost the connection"), null, { timeout: 20_000 });
  console.log("server stop said");
  if (shots) await page.screenshot({ path: `${shots}/console-stopped.png` });
  console.log("console ok");
} catch (error) {
  console.error(String(error));
  if (errors.length) console.error(errors.join("\n"));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
