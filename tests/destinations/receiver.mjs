// A webhook endpoint for the destination tests: every request's signature is
// checked with the Standard Webhooks reference library (npm standardwebhooks),
// and each record says how to be answered: its webhook body (the value of
// its CloudEvent's Quix EventData) carries `answers`, one per attempt (the
// last repeats), each a status, [status, retry-after seconds] or "sleep"
// (no answer for 60 s); `delayMs` delays each answer.
//
// Usage: node receiver.mjs <whsec_ secret>. Prints `listening <port>`, then
// one JSON line per request: {id, signed, status, data, batch, at (ms)}.
import http from "node:http";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.argv[2]);
const attempts = new Map();

function answer(data, id) {
  const n = attempts.get(id) ?? 0;
  attempts.set(id, n + 1);
  const answers = data?.answers ?? [200];
  return answers[Math.min(n, answers.length - 1)];
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let signed = true;
    try {
      webhook.verify(body, req.headers);
    } catch (e) {
      signed = false;
    }
    const id = req.headers["webhook-id"];
    const parsed = JSON.parse(body);
    const batch = Array.isArray(parsed);
    // A webhook's body is in its CloudEvent's data.value (a Quix EventData).
    const payloads = (batch ? parsed : [parsed]).map((e) => JSON.parse(e.data.value));
    const first = { data: payloads[0] };
    let reply = signed ? answer(first.data, id) : 401;
    const line = { id, signed, data: batch ? payloads : payloads[0], batch, at: Date.now() };
    if (reply === "sleep") {
      console.log(JSON.stringify({ ...line, status: "sleep" }));
      setTimeout(() => { res.writeHead(200); res.end(); }, 60000);
      return;
    }
    let retryAfter;
    if (Array.isArray(reply)) [reply, retryAfter] = reply;
    const headers = retryAfter === undefined ? {} : { "retry-after": String(retryAfter) };
    setTimeout(() => {
      console.log(JSON.stringify({ ...line, status: reply }));
      res.writeHead(reply, headers);
      res.end(reply === 400 ? "bad record" : "");
    }, first.data?.delayMs ?? 0);
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
