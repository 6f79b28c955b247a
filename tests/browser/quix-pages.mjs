// The Quix documentation's writer and reader pages, written the way they
// are (a canvas, @microsoft/signalr's browser bundle,
// HubConnectionBuilder().withUrl(url, { accessTokenFactory }), start(); the
// writer invokes "SendEventData" on every mouse move, the reader invokes
// "SubscribeToPackages" and draws JSON.parse(data.value)[0].Value), with
// only their constants set for Inlet.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

// The official browser bundle, served by the test's page server.
export const bundle = () =>
  readFile(require.resolve("@microsoft/signalr/dist/browser/signalr.min.js"), "utf8");

const head = (title) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<script src="/signalr.min.js"></script></head>
<body>
<canvas id="canvas" width="600" height="400" style="border: 1px solid #000"></canvas>`;

export function writerPage({ hubUrl, token, topic, streamId }) {
  return `${head("Mouse tracking")}
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
}

export function readerPage({ hubUrl, token, topic }) {
  return `${head("Mouse reader")}
<script>
  const token = ${JSON.stringify(token)};
  const topicName = ${JSON.stringify(topic)};

  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d");

  const connection = new signalR.HubConnectionBuilder()
    .withUrl(${JSON.stringify(hubUrl)}, { accessTokenFactory: () => token })
    .build();

  connection.start().then(() => {
    console.log("Connected to Quix.");
    connection.invoke("SubscribeToPackages", topicName).then(() => console.log("Subscribed."));
    connection.on("PackageReceived", (data) => {
      let payload = JSON.parse(data.value);
      let mousePos = JSON.parse(payload[0].Value);
      ctx.fillRect(mousePos.x, mousePos.y, 10, 10);
    });
  });
</script></body></html>`;
}
