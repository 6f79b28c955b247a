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
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { launchChromium, servePage } from "./chromium.mjs";

const [hubUrl, token, topic, streamId, moves] = process.argv.slice(2);
if (!moves) {
  console.error("usage: node mouse-page.mjs HUB_URL TOKEN TOPIC STREAM_ID MOVES");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const bundle = await readFile(
  require.resolve("@microsoft/signalr/dist/browser/signalr.min.js"), "utf8");

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>Mouse tracking</title>
<script src="/signalr.min.js"></script></head>
<body>
<canvas id="canvas" width="600" height="400" style="border: 1px solid #000"></canvas>
<script>
  const token = ${JSON.stringify(token)};
  const topic = ${JSON.stringify(topic)};
  const streamId = ${JSON.stringify(streamId)};

  const connection = new signalR.HubConnectionBuilder()
    .withUrl(${JSON.stringify(hubUrl)}, { accessTokenFactory: () => token })
    .build();

  connection.start().then(async () => {
    console.log("Connected to Quix.");
  });

  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d");
  canvas.addEventListener("mousemove", async (e) => {
    const rect = canvas.getBoundingClientRect();
    const x = Math.round(e.clientX - rect.left);
    const y = Math.round(e.clientY - rect.top);
    ctx.fillRect(x, y, 2, 2);
    await connection.invoke("SendEventData", topic, streamId, [
      {
        timestamp: new Date().getTime(),
        tags: { mousestatus: "tracking" },
        id: "mouse position",
        value: JSON.stringify({ x, y }),
      },
    ]);
  });
</script></body></html>`;

const { server, origin } = await servePage(page, { "/signalr.min.js": bundle });
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
