// Runs a JavaScript file in headless Chromium, in a page served from its own
// origin (a loopback port of this script's), with globalThis.INLET_TOKEN set
// to the given token, and prints what the page logged, one line each.
//
//   node run-in-page.mjs SCRIPT.js TOKEN
//
// Exits 0 once the page has logged a line, 1 on a page error or after 20 s.
import { readFile } from "node:fs/promises";
import { launchChromium, servePage } from "./chromium.mjs";

const [scriptPath, token] = process.argv.slice(2);
if (!scriptPath || token === undefined) {
  console.error("usage: node run-in-page.mjs SCRIPT.js TOKEN");
  process.exit(2);
}
const script = await readFile(scriptPath, "utf8");
const page = `<!doctype html><meta charset="utf-8"><title>sample</title>
<script>globalThis.INLET_TOKEN = ${JSON.stringify(token)};</script>
<script src="/sample.js"></script>`;
const { server, origin } = await servePage(page, { "/sample.js": script });
const browser = await launchChromium();
let code = 1;
try {
  const tab = await browser.newPage();
  const logged = new Promise((resolve, reject) => {
    tab.on("console", (message) => {
      console.log(`${message.type()}: ${message.text()}`);
      if (message.type() === "log" || message.type() === "error") resolve();
    });
    tab.on("pageerror", (error) => reject(error));
    setTimeout(() => reject(new Error("the page logged nothing within 20 s")), 20_000);
  });
  console.log(`origin: ${origin}`);
  await tab.goto(origin);
  await logged;
  code = 0;
} catch (error) {
  console.error(`page failed: ${error.message ?? error}`);
} finally {
  await browser.close();
  server.close();
}
process.exit(code);
