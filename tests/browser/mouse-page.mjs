// The Quix documentation's mouse page, written the way it is (a canvas,
// @microsoft/signalr's browser bundle, HubConnectionBuilder().withUrl(url,
// { accessTokenFactory }), start(), invoke("SendEventData", ...) on every
// mouse move), with only its constants set for Inlet. Served from its own
// origin (a loopback port of this script's), opened in headless Chromium,
// and the mouse moved over its canvas MOVES times.
//
//   node mouse-page.mjs HUB_URL TOKEN TOPIC STREAM_ID MOVES
//
// Prints "moved N" once the moves are made, then keeps the page open until
// stdin closes (the caller reads the topic meanwhile). Exits 1 on a page
// error or a failed invocation.
import { launchChromium, servePage } from "./chromium.mjs";
import { bundle, writerPage } from "./quix-pages.mjs";

const [hubUrl, token, topic, streamId, moves] = process.argv.slice(2);
if (!moves) {
  console.error("usage: node mouse-page.mjs HUB_URL TOKEN TOPIC STREAM_ID MOVES");
  process.exit(2);
}
const page = writerPage({ hubUrl, token, topic, streamId });
const { server, origin } = await servePage(page, { "/signalr.min.js": await bundle() });
const browser = await launchChromium();
let code = 0;
try {
  const tab = await browser.newPage();
  const failed = new Promise((_, reject) => {
    tab.on("pageerror", (error) => reject(new Error(`page error: ${error.message}`)));
  });
  const connected = new Promise((resolve) => {
    tab.on("console", (message) => {
      console.log(`${message.type()}: ${message.text()}`);
      if (message.text() === "Connected to Quix.") resolve();
    });
  });
  const deadline = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("not connected within 20 s")), 20_000).unref());
  console.log(`origin: ${origin}`);
  await tab.goto(origin);
  await Promise.race([connected, failed, deadline]);
  const box = await tab.locator("#canvas").boundingBox();
  for (let i = 0; i < Number(moves); i += 1) {
    await tab.mouse.move(box.x + 10 + i * 5, box.y + 20 + i * 3);
  }
  console.log(`moved ${moves}`);
  const closed = new Promise((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.resume();
  });
  await Promise.race([closed, failed]);
} catch (error) {
  console.error(`page failed: ${error.message ?? error}`);
  code = 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(code);
