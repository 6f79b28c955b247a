// The Quix documentation's writer and reader pages talking through the hub,
// in headless Chromium, each served from its own origin: the mouse moved
// MOVES times over the writer page's canvas, and the reader page, subscribed
// to the topic's packages, paints a 10x10 square for each. Prints "painted N"
// with the squares found on the reader's canvas; exits 1 if they are not all
// there within 20 s, or on a page error. With SCREENSHOT_DIR set, both
// pages are saved there as PNG.
//
//   node writer-reader.mjs HUB_URL TOKEN TOPIC MOVES
import { launchChromium, servePage } from "./chromium.mjs";
import { bundle, readerPage, writerPage } from "./quix-pages.mjs";

const [hubUrl, token, topic, moves] = process.argv.slice(2);
if (!moves) {
  console.error("usage: node writer-reader.mjs HUB_URL TOKEN TOPIC MOVES");
  process.exit(2);
}
const scripts = { "/signalr.min.js": await bundle() };
const writer = await servePage(writerPage({ hubUrl, token, topic, streamId: "mouse" }), scripts);
const reader = await servePage(readerPage({ hubUrl, token, topic }), scripts);
const browser = await launchChromium();

function opened(tab, name, line) {
  return new Promise((resolve, reject) => {
    tab.on("pageerror", (error) => reject(new Error(`${name} page error: ${error.message}`)));
    tab.on("console", (message) => {
      console.log(`${name} ${message.type()}: ${message.text()}`);
      if (message.text() === line) resolve();
    });
    setTimeout(() => reject(new Error(`${name}: no "${line}" within 20 s`)), 20_000).unref();
  });
}

let code = 0;
try {
  const readerTab = await browser.newPage();
  const subscribed = opened(readerTab, "reader", "Subscribed.");
  await readerTab.goto(reader.origin);
  await subscribed;
  const writerTab = await browser.newPage();
  const connected = opened(writerTab, "writer", "Connected to Quix.");
  await writerTab.goto(writer.origin);
  await connected;

  // Distinct positions, 12 px apart: the reader's squares never overlap.
  const box = await writerTab.locator("#canvas").boundingBox();
  const count = Number(moves);
  for (let i = 0; i < count; i += 1) {
    await writerTab.mouse.move(box.x + 20 + (i % 40) * 12, box.y + 20 + Math.floor(i / 40) * 12);
  }
  const painted = () => readerTab.evaluate(() => {
    const canvas = document.getElementById("canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let filled = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) filled += 1;
    return filled / 100;
  });
  const deadline = Date.now() + 20_000;
  let squares = await painted();
  while (squares < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    squares = await painted();
  }
  console.log(`painted ${squares}`);
  // For a reviewer to look at (not committed): both pages as they ended.
  if (process.env.SCREENSHOT_DIR) {
    await writerTab.screenshot({ path: `${process.env.SCREENSHOT_DIR}/quix-writer-page.png` });
    await readerTab.screenshot({ path: `${process.env.SCREENSHOT_DIR}/quix-reader-page.png` });
  }
  if (squares !== count) throw new Error(`${squares} squares on the reader's canvas, ${count} moves`);
} catch (error) {
  console.error(`pages failed: ${error.message ?? error}`);
  code = 1;
} finally {
  await browser.close();
  writer.server.close();
  reader.server.close();
}
process.exit(code);
