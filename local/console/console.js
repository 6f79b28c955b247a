// The Inlet console: the ways in, with snippets that work as copied, and a
// topic's records arriving live through the Reader hub (the SignalR client
// users get). Standard browser APIs only; no framework.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 300; // records kept on the page
const RENDER_EVERY_MS = 200; // records arrive in a buffer, drawn in batches

const live = {
  connection: null,
  topic: null,
  paused: false,
  buffer: [], // newest last, bounded
  total: {}, // per topic since the page opened
  window: [], // [time, count] for the rate
};
let overview = null;

function token() {
  return $("token").value.trim();
}

function status(text, kind) {
  const element = $("status");
  element.textContent = text;
  element.className = kind ?? "";
}

function banner(text) {
  $("banner").hidden = !text;
  $("banner").textContent = text ?? "";
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    flash(button, "Copied");
  } catch {
    flash(button, "Select and copy");
  }
}

function flash(button, text) {
  const before = button.dataset.label ?? button.textContent;
  button.dataset.label = before;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1500);
}

// The console API needs the token the page was given (or the demo's, on
// loopback).
function authorized(options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (token()) headers.authorization = `Bearer ${token()}`;
  return { ...options, headers };
}

async function json(path, options) {
  const response = await fetch(path, authorized(options));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- ways in ----

async function sample(source) {
  return json(`/console/api/sources/${encodeURIComponent(source)}/sample`, { method: "POST" });
}

function sourceRow(source) {
  const row = element("tr");
  row.append(element("td", source.name), element("td", source.scheme), element("td", source.topic));
  const url = element("td");
  url.append(element("code", source.url));
  // What to paste into the provider's dashboard: the URL above, and the
  // form its secret takes in `secrets`.
  url.append(element("div", `Secret: ${source.secretForm}`, { class: "secret-form" }));
  if (source.secretWaiting) url.append(handshakeSecret(source));
  row.append(url);
  const actions = element("td");
  const curl = element("button", "Copy signed curl", { type: "button", "data-source": source.name, class: "copy-curl" });
  curl.addEventListener("click", async () => {
    try {
      const signed = await sample(source.name);
      const pre = $("source-curl");
      pre.textContent = signed.curl;
      pre.dataset.source = source.name;
      pre.hidden = false;
      await copy(signed.curl, curl);
    } catch (error) {
      banner(`Cannot sign a sample for ${source.name}: ${error.message}`);
    }
  });
  const send = element("button", "Send a test event", { type: "button", "data-source": source.name, class: "send-webhook" });
  send.addEventListener("click", async () => {
    try {
      const signed = await sample(source.name);
      const response = await fetch(new URL(signed.url).pathname, {
        method: "POST",
        headers: Object.fromEntries(signed.headers),
        body: signed.body,
      });
      flash(send, response.ok ? `Sent (${response.status})` : `Refused (${response.status})`);
      banner(response.ok ? "" : `The webhook was answered ${response.status}: ${await response.text()}`);
    } catch (error) {
      banner(`Cannot send a test event to ${source.name}: ${error.message}`);
    }
  });
  actions.append(curl, " ", send);
  row.append(actions);
  return row;
}

// A secret that arrived in the provider's handshake (Notion's verification
// token): the server shows it once, then forgets it.
function handshakeSecret(source) {
  const box = element("div", undefined, { class: "handshake-secret" });
  const show = element("button", "Show the token the provider sent (once)", { type: "button", class: "show-handshake-secret" });
  show.addEventListener("click", async () => {
    try {
      const taken = await json(`/console/api/sources/${encodeURIComponent(source.name)}/handshake-secret`, { method: "POST" });
      const secret = element("code", taken.secret, { class: "taken-secret" });
      box.replaceChildren(secret, element("div", `Received ${taken.receivedAt}. Next: ${taken.next}.`));
    } catch (error) {
      banner(`Cannot show the token for ${source.name}: ${error.message}`);
    }
  });
  box.append(element("span", `A token arrived ${source.secretWaiting}. `), show);
  return box;
}

async function writerSnippet() {
  const topic = $("writer-topic").value;
  const stream = $("writer-stream").value.trim() || "console-stream";
  const lang = $("writer-lang").value;
  const query = new URLSearchParams({ topic, stream });
  const response = await fetch(`/samples/${lang}?${query}`);
  $("writer-snippet").textContent = response.ok
    ? await response.text()
    : `No sample: ${(await response.json().catch(() => ({})))?.error?.message ?? response.status}`;
}

async function writerSend() {
  const topic = $("writer-topic").value;
  const stream = $("writer-stream").value.trim() || "console-stream";
  if (!token()) {
    banner("Enter a token that may write to this topic first.");
    $("token").focus();
    return;
  }
  const body = [{ id: "console-test", timestamp: Date.now() * 1e6, value: "Hello from the Inlet console" }];
  const response = await fetch(`/topics/${encodeURIComponent(topic)}/streams/${encodeURIComponent(stream)}/events/data`, {
    method: "POST",
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  flash($("writer-send"), response.ok ? `Sent (${response.status})` : `Refused (${response.status})`);
  banner(response.ok ? "" : `The Writer API answered ${response.status}: ${await response.text()}`);
}

function hubSnippet() {
  const topic = $("writer-topic").value;
  return `// Save as hub.mjs; npm install @microsoft/signalr; INLET_TOKEN=... node hub.mjs
import * as signalR from "@microsoft/signalr";
const connection = new signalR.HubConnectionBuilder()
  .withUrl("${overview.hubUrl}", { accessTokenFactory: () => process.env.INLET_TOKEN })
  .build();
connection.on("PackageReceived", (data) => console.log(data.streamId, JSON.parse(data.value)));
await connection.start();
await connection.invoke("SubscribeToPackages", "${topic}");
await connection.invoke("SendEventData", "${topic}", "my-stream",
  [{ id: "hello", timestamp: Date.now() * 1e6, value: "Hello, Inlet" }]);
`;
}

async function pollerRuns() {
  const runs = await json("/console/api/pollers").catch(() => ({}));
  for (const row of $("pollers").tBodies[0].rows) {
    const run = runs[row.dataset.target];
    const cell = row.cells[4];
    if (!run) {
      cell.textContent = "not yet";
      continue;
    }
    const report = run.report;
    const when = new Date(run.atMillis).toLocaleTimeString();
    cell.textContent = report.error
      ? `${when}: failed (${report.error})`
      : `${when}: ${report.status ?? "-"}, ${report.new} new`;
  }
}

// ---- live ----

function eventIds(record) {
  try {
    const value = JSON.parse(record.value);
    return Array.isArray(value) ? value.map((e) => e.Id).filter(Boolean) : [];
  } catch {
    return [];
  }
}

function onPackage(data) {
  live.total[data.topicName] = (live.total[data.topicName] ?? 0) + 1;
  if (data.topicName !== live.topic) return;
  live.window.push(Date.now());
  if (live.paused) return;
  live.buffer.push(data);
  if (live.buffer.length > MAX_SHOWN) live.buffer.splice(0, live.buffer.length - MAX_SHOWN);
}

function matches(record, filter) {
  return !filter || record.streamId.includes(filter) || eventIds(record).some((id) => id.includes(filter));
}

function render() {
  const now = Date.now();
  while (live.window.length && live.window[0] < now - 1000) live.window.shift();
  const count = live.total[live.topic] ?? 0;
  $("live-stats").textContent = `${live.window.length} records/s, ${count} on ${live.topic ?? "-"} since opened${live.paused ? " (paused)" : ""}`;
  if (!live.buffer.length) return;
  const filter = $("live-filter").value.trim();
  const fresh = live.buffer.splice(0).filter((r) => matches(r, filter));
  const list = $("records");
  const items = document.createDocumentFragment();
  for (const record of fresh.reverse()) {
    const item = element("li");
    const details = element("details");
    const ids = eventIds(record);
    const kind = record.type.replace("QuixStreams.Telemetry.Models.", "");
    details.append(element("summary", `${record.dateTime}  ${record.streamId}  ${kind}${ids.length ? "  " + ids.join(", ") : ""}`));
    // The record's CloudEvent is fetched when it is opened; the push
    // itself is shown if the log has it no more.
    details.addEventListener("toggle", async () => {
      if (!details.open || details.children.length > 1) return;
      const pre = element("pre", "…");
      details.append(pre);
      const query = new URLSearchParams({ stream: record.streamId, time: record.dateTime });
      const response = await fetch(`/console/api/topics/${encodeURIComponent(record.topicName)}/record?${query}`, authorized()).catch(() => null);
      if (response?.ok) {
        pre.textContent = JSON.stringify(await response.json(), null, 2);
      } else {
        let value = record.value;
        try { value = JSON.parse(record.value); } catch { /* shown as text */ }
        pre.textContent = JSON.stringify({ ...record, value }, null, 2);
      }
    });
    item.append(details);
    items.append(item);
  }
  list.prepend(items);
  while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
}

async function subscribe(topic) {
  const connection = live.connection;
  if (!connection || connection.state !== "Connected") return;
  if (live.topic && live.topic !== topic) {
    await connection.invoke("UnsubscribeFromPackages", live.topic).catch(() => {});
  }
  live.topic = topic;
  live.buffer = [];
  live.window = [];
  $("records").replaceChildren();
  await connection.invoke("SubscribeToPackages", topic);
  status(`Live: ${topic}`, "ok");
  document.body.dataset.subscribed = topic;
}

async function connect() {
  if (live.connection) {
    const old = live.connection;
    live.connection = null;
    await old.stop().catch(() => {});
  }
  delete document.body.dataset.subscribed;
  if (!token()) {
    status("Enter a token to see records arrive", "bad");
    return;
  }
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(overview.hubUrl, { accessTokenFactory: () => token() })
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.None)
    .build();
  live.connection = connection;
  connection.on("PackageReceived", onPackage);
  connection.onreconnecting(() => {
    status("Reconnecting…", "bad");
    banner("Lost the connection to the server: is `inlet serve` still running? Reconnecting…");
  });
  connection.onreconnected(() => {
    banner("");
    subscribe($("live-topic").value);
  });
  connection.onclose(() => {
    if (live.connection !== connection) return;
    status("Disconnected", "bad");
    banner("Lost the connection to the server: is `inlet serve` still running? Retrying every 5 s.");
    setTimeout(() => live.connection === connection && connect(), 5000);
  });
  status("Connecting…");
  try {
    await connection.start();
    banner("");
    await subscribe($("live-topic").value);
  } catch (error) {
    const refused = /401|403|Unauthorized|Forbidden/.test(String(error));
    status(refused ? "The token was refused" : "Cannot connect", "bad");
    banner(refused
      ? "The token was refused: enter a token allowed to read this topic (tokens.<name>.read)."
      : `Cannot reach the hub: ${error.message}`);
    if (refused) live.connection = null;
  }
}

// ---- start ----

function fillTopics(select, topics, preferred) {
  select.replaceChildren(...topics.map((t) => element("option", t)));
  if (topics.includes(preferred)) select.value = preferred;
}

let started = false;

async function start() {
  try {
    overview = await json("/console/api/overview");
  } catch (error) {
    if (error.status === 401) {
      status(token() ? "The token was refused" : "A token is needed", "bad");
      banner(token()
        ? `The token was refused: ${error.message}. Enter a token of this server (tokens.<name>).`
        : "Enter a token of this server (tokens.<name> in its configuration) to see its ways in and records.");
      $("token").focus();
      return;
    }
    status("Offline", "bad");
    banner("The server does not answer: start it with `cargo run -p inlet -- serve`. Retrying every 3 s.");
    setTimeout(start, 3000);
    return;
  }
  banner("");
  started = true;
  if (overview.demoToken && !token()) $("token").value = overview.demoToken;

  const sources = $("sources").tBodies[0];
  sources.replaceChildren(...overview.sources.map(sourceRow));
  $("no-sources").hidden = overview.sources.length > 0;
  $("sources").hidden = overview.sources.length === 0;

  fillTopics($("writer-topic"), overview.topics, "telemetry");
  fillTopics($("live-topic"), overview.topics, overview.sources[0]?.topic);
  $("hub-url").textContent = overview.hubUrl;
  $("hub-snippet").textContent = hubSnippet();

  const pollers = $("pollers").tBodies[0];
  pollers.replaceChildren(...overview.pollers.map((p) => {
    const row = element("tr", undefined, { "data-target": p.name });
    row.append(element("td", p.name), element("td", p.url), element("td", p.every), element("td", p.topic), element("td", "…"));
    return row;
  }));
  $("no-pollers").hidden = overview.pollers.length > 0;
  $("pollers").hidden = overview.pollers.length === 0;
  if (overview.pollers.length) {
    pollerRuns();
    setInterval(pollerRuns, 5000);
  }

  for (const id of ["writer-topic", "writer-stream", "writer-lang"]) {
    $(id).addEventListener("change", () => {
      writerSnippet();
      $("hub-snippet").textContent = hubSnippet();
    });
  }
  $("writer-copy").addEventListener("click", () => copy($("writer-snippet").textContent, $("writer-copy")));
  $("writer-send").addEventListener("click", () => writerSend().catch((e) => banner(e.message)));
  $("hub-copy").addEventListener("click", () => copy($("hub-snippet").textContent, $("hub-copy")));
  $("live-topic").addEventListener("change", () => subscribe($("live-topic").value).catch((e) => banner(e.message)));
  $("live-pause").addEventListener("click", () => {
    live.paused = !live.paused;
    $("live-pause").setAttribute("aria-pressed", String(live.paused));
    $("live-pause").textContent = live.paused ? "Resume" : "Pause";
  });
  startRunning(overview);
  await writerSnippet();
  setInterval(render, RENDER_EVERY_MS);
  await connect();
}

// Before the page has loaded, a token entered loads it; after, it connects
// the live view with the new token.
$("token").addEventListener("change", () => (started ? connect() : start()));
start();
