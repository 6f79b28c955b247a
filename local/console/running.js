// The console's "Running" part: records per second for each way in and out
// (from the counters of GET /metrics, sampled each second), each
// destination's state, the webhooks refused for their signature with a
// Replay button, and a button that reloads the configuration. Uses the
// helpers of console.js ($, element, json), which is loaded after this file
// and calls startRunning once the overview has come.
"use strict";

const SAMPLES = 60; // a minute of one-second samples per chart

// Each chart: the counter it follows, the label that names the way, and
// the samples [time ms, total] kept.
const charts = new Map();

// Prometheus text: one sample per line, `name{label="value",…} number`.
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, name, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function chartsFor(overview) {
  charts.clear();
  const add = (key, label, metric, labels) => charts.set(key, { label, metric, labels, points: [] });
  for (const s of overview.sources) {
    add(`source:${s.name}`, `webhook ${s.name}`, "inlet_webhook_requests_total", { source: s.name, outcome: "published" });
  }
  for (const t of overview.topics) {
    add(`topic:${t}`, `into ${t} (every way in)`, "inlet_records_published_total", { topic: t });
  }
  for (const d of overview.destinations) {
    add(`destination:${d.name}`, `out to ${d.name}`, "inlet_destination_records_total", { destination: d.name, outcome: "delivered" });
  }
  $("rates").tBodies[0].replaceChildren(...[...charts].map(([key, chart]) => {
    const row = element("tr", undefined, { "data-way": key, "data-rate": "0", "data-total": "0" });
    const spark = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    spark.setAttribute("class", "spark");
    spark.setAttribute("viewBox", `0 0 ${SAMPLES} 24`);
    spark.setAttribute("preserveAspectRatio", "none");
    spark.setAttribute("aria-label", `records per second of ${chart.label}, last minute`);
    spark.append(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
    const cell = element("td");
    cell.append(spark);
    row.append(element("td", chart.label), cell, element("td", "0/s"), element("td", "0"));
    return row;
  }));
}

function total(samples, chart) {
  return samples
    .filter((s) => s.name === chart.metric && Object.entries(chart.labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function sampleRates() {
  const response = await fetch("/metrics").catch(() => null);
  if (!response?.ok) return;
  const samples = parseMetrics(await response.text());
  const now = Date.now();
  for (const [key, chart] of charts) {
    chart.points.push([now, total(samples, chart)]);
    if (chart.points.length > SAMPLES + 1) chart.points.shift();
    const rates = chart.points.slice(1).map(([t, n], i) => {
      const [t0, n0] = chart.points[i];
      return Math.max(0, (n - n0) / Math.max(0.001, (t - t0) / 1000));
    });
    const rate = rates.at(-1) ?? 0;
    const row = $("rates").querySelector(`tr[data-way="${CSS.escape(key)}"]`);
    if (!row) continue;
    row.dataset.rate = String(rate);
    row.dataset.total = String(chart.points.at(-1)[1]);
    row.cells[2].textContent = `${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s`;
    row.cells[3].textContent = String(chart.points.at(-1)[1]);
    const top = Math.max(1, ...rates);
    const offset = SAMPLES - rates.length;
    row.querySelector("polyline").setAttribute("points",
      rates.map((r, i) => `${offset + i},${(23 - (r / top) * 22).toFixed(1)}`).join(" "));
  }
}

async function destinationStates() {
  const states = await json("/console/api/destinations").catch(() => []);
  $("no-destinations").hidden = states.length > 0;
  $("destinations").hidden = states.length === 0;
  $("destinations").tBodies[0].replaceChildren(...states.map((d) => {
    const row = element("tr", undefined, { "data-destination": d.name, "data-behind": String(d.behind) });
    const state = d.disabled ? `disabled: ${d.disabled}` : d.behind > 0 ? "delivering" : "up to date";
    row.append(
      element("td", `${d.name} (${d.kind})`), element("td", d.topic), element("td", String(d.behind)),
      element("td", String(d.retrying)), element("td", String(d.parked)),
      element("td", state, d.disabled ? { class: "disabled" } : {}));
    return row;
  }));
}

function rejectedRow(r) {
  const row = element("tr", undefined, { "data-id": r.id, "data-source": r.source, "data-reason": r.reason });
  const reason = element("td", r.reason);
  reason.append(element("div", r.message, { class: "why" }));
  const replay = element("td");
  const button = element("button", r.credentialRemoved ? "Replay unverified" : "Replay", { type: "button", class: "replay" });
  const said = element("span", "", { class: "replayed", role: "status" });
  button.addEventListener("click", async () => {
    // A shared-token request's token was not kept: the operator vouches.
    if (r.credentialRemoved && !confirm(`Publish this ${r.source} request without verifying it? Its token was not kept.`)) return;
    const trust = r.credentialRemoved ? "?trust=true" : "";
    const path = `/console/api/rejected/${encodeURIComponent(r.source)}/${encodeURIComponent(r.id)}/replay${trust}`;
    try {
      const answer = await json(path, { method: "POST" });
      said.textContent = answer.duplicate ? " duplicate" : " published";
    } catch (error) {
      said.textContent = ` refused: ${error.message}`;
    }
  });
  replay.append(button, said);
  row.append(element("td", new Date(r.receivedMillis).toLocaleString()), element("td", r.source), reason, replay);
  return row;
}

async function rejectedList() {
  const kept = await json("/console/api/rejected").catch(() => null);
  if (!kept) return;
  const body = $("rejected").tBodies[0];
  const shown = new Set([...body.rows].map((row) => `${row.dataset.source}/${row.dataset.id}`));
  // New ones on top; a row keeps what its Replay button said.
  for (const r of kept.slice().reverse()) {
    if (!shown.has(`${r.source}/${r.id}`)) body.prepend(rejectedRow(r));
  }
  const live = new Set(kept.map((r) => `${r.source}/${r.id}`));
  for (const row of [...body.rows]) {
    if (!live.has(`${row.dataset.source}/${row.dataset.id}`)) row.remove();
  }
  $("no-rejected").hidden = kept.length > 0;
  $("rejected").hidden = kept.length === 0;
}

async function reload() {
  const said = $("reload-said");
  try {
    const answer = await json("/console/api/reload", { method: "POST" });
    said.textContent = answer.restart.length
      ? `Reloaded; ${answer.restart.join(", ")} changed and need a restart.`
      : "Reloaded: secrets, tokens and sources apply to the next request.";
  } catch (error) {
    said.textContent = `Not reloaded: ${error.message}`;
  }
}

let running = false;

function startRunning(overview) {
  chartsFor(overview);
  if (running) return;
  running = true;
  $("reload").addEventListener("click", reload);
  const every = (ms, work) => {
    work();
    setInterval(work, ms);
  };
  every(1000, sampleRates);
  // Their routes exist only where there is something to show.
  $("no-destinations").hidden = overview.destinations.length > 0;
  $("destinations").hidden = overview.destinations.length === 0;
  if (overview.destinations.length) every(2000, destinationStates);
  $("rejected").hidden = true;
  if (overview.sources.length) every(2000, rejectedList);
}
