// What the browser tests share: a page server on its own loopback origin,
// and Debian's Chromium started headless with the flags this machine needs
// (no background networking: the network is closed).
import { createServer } from "node:http";
import { chromium } from "playwright-core";

// Serves each of `scripts` ({"/path.js": source}) as JavaScript and `page`
// at every other path; resolves to the server and its origin.
export async function servePage(page, scripts) {
  const server = createServer((request, response) => {
    const script = scripts[request.url];
    const [type, body] = script === undefined
      ? ["text/html", page]
      : ["text/javascript", script];
    response.writeHead(200, { "content-type": type }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}
