// The Reader hub through the real @microsoft/signalr client (Node.js): a
// reader subscribes (packages, one parameter, events, wildcards), a writer
// writes, and every push is checked against the shapes the Quix
// documentation shows. Exits non-zero on the first difference.
//
//   node reader-client.mjs HUB_URL READ_TOKEN WRITE_ONLY_TOKEN TOPIC
//
// READ_TOKEN may read and write TOPIC; WRITE_ONLY_TOKEN may only write it.
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";

const [url, token, writeOnly, topic] = process.argv.slice(2);
if (!topic) {
  console.error("usage: node reader-client.mjs HUB_URL READ_TOKEN WRITE_ONLY_TOKEN TOPIC");
  process.exit(2);
}
const connect = (accessToken) => new signalR.HubConnectionBuilder()
  .withUrl(url, { accessTokenFactory: () => accessToken })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

// Pushes, by target, as they arrive.
const received = { PackageReceived: [], ParameterDataReceived: [], EventDataReceived: [] };
const reader = connect(token);
for (const target of Object.keys(received)) {
  reader.on(target, (data) => { received[target].push(data); });
}
await reader.start();
const writer = connect(writeOnly);
await writer.start();

// A token without read access is refused, naming the key that grants it.
await assert.rejects(writer.invoke("SubscribeToPackages", topic), (error) => {
  assert.match(error.message, /forbidden: token "[^"]+" may not read topic/);
  assert.match(error.message, /\.read/);
  return true;
});

async function until(what, check) {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(received)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// The Quix docs call it both ways.
assert.equal(await reader.invoke("SubscribeToTopicPackages", topic), undefined);
await reader.invoke("SubscribeToParameter", topic, "*", "EngineRPM");
await reader.invoke("SubscribeToEvent", "*", "car-7", "*");

await writer.invoke("SendEventData", topic, "car-7",
  [{ id: "Alert", timestamp: 1618133869000000000, tags: { capacity: "over" }, value: "Help" }]);
await writer.invoke("SendParameterData", topic, "car-7", {
  timestamps: [1697025689418406000, 1697025689518406000],
  numericValues: { EngineRPM: [11444, 11463], Speed: [281.5, 282] },
  tagValues: { DriverStatus: ["Flying_lap", "Flying_lap"] },
});
await until("two packages, an event and parameter data", () =>
  received.PackageReceived.length >= 2 && received.EventDataReceived.length >= 1
  && received.ParameterDataReceived.length >= 1);

const topicId = received.PackageReceived[0].topicId;
assert.match(topicId, new RegExp(`-${topic}$`));
const [events, parameters] = received.PackageReceived;
assert.deepEqual(Object.keys(events).sort(), ["dateTime", "streamId", "topicId", "topicName", "type", "value"]);
assert.equal(events.topicName, topic);
assert.equal(events.streamId, "car-7");
assert.equal(events.type, "QuixStreams.Telemetry.Models.EventDataRaw[]");
// What the Quix docs' reader page does with it.
const payload = JSON.parse(events.value);
assert.equal(payload[0].Value, "Help");
assert.equal(events.value, '[{"Timestamp":1618133869000000000,"Tags":{"capacity":"over"},"Id":"Alert","Value":"Help"}]');
assert.equal(parameters.type, "QuixStreams.Telemetry.Models.TimeseriesDataRaw");
assert.deepEqual(Object.keys(JSON.parse(parameters.value)),
  ["Epoch", "Timestamps", "NumericValues", "StringValues", "BinaryValues", "TagValues"]);

assert.deepEqual(received.EventDataReceived[0], {
  topicId, topicName: topic, streamId: "car-7", id: "Alert",
  timestamp: 1618133869000000000, value: "Help", tags: { capacity: "over" },
});
// Only the subscribed parameter; every tag.
assert.deepEqual(received.ParameterDataReceived[0], {
  topicId, topicName: topic, streamId: "car-7", epoch: 0,
  timestamps: [1697025689418406000, 1697025689518406000],
  numericValues: { EngineRPM: [11444, 11463] }, stringValues: {}, binaryValues: {},
  tagValues: { DriverStatus: ["Flying_lap", "Flying_lap"] },
});

// Unsubscribed: no more packages or parameters; the event subscription stays.
await reader.invoke("UnsubscribeFromPackages", topic);
await reader.invoke("UnsubscribeFromParameter", topic, "*", "EngineRPM");
await writer.invoke("SendParameterData", topic, "car-7", { timestamps: [1], numericValues: { EngineRPM: [1] } });
await writer.invoke("SendEventData", topic, "car-7", [{ id: "After", timestamp: 2, value: "x" }]);
await until("the event after unsubscribing", () => received.EventDataReceived.length >= 2);
assert.equal(received.EventDataReceived[1].id, "After");
assert.equal(received.PackageReceived.length, 2);
assert.equal(received.ParameterDataReceived.length, 1);

// UnsubscribeFromStream drops that stream's event subscriptions too.
await reader.invoke("UnsubscribeFromStream", "*", "car-7");
await reader.invoke("SubscribeToEvent", topic, "other-car", "Marker");
await writer.invoke("SendEventData", topic, "car-7", [{ id: "Dropped", timestamp: 3, value: "x" }]);
await writer.invoke("SendEventData", topic, "other-car", [{ id: "Marker", timestamp: 4, value: "x" }]);
await until("the marker", () => received.EventDataReceived.length >= 3);
assert.deepEqual(received.EventDataReceived.map((e) => e.id), ["Alert", "After", "Marker"]);

// Active streams: the list so far, then each change as it happens.
const changes = [];
reader.on("ActiveStreamsChanged", (stream, action) => { changes.push([stream, action]); });
const metricsPushed = [];
reader.on("TopicMetricsUpdated", (metrics) => { metricsPushed.push(metrics); });
const active = await reader.invoke("SubscribeToActiveStreams", topic);
const car = active.find((stream) => stream.streamId === "car-7");
assert.ok(car, JSON.stringify(active));
assert.equal(car.topicName, topic);
assert.equal(car.topicId, topicId);
assert.equal(car.status, "Receiving");
assert.equal(car.parameters.EngineRPM.dataType, "Numeric");
assert.ok("Alert" in car.events);
assert.ok(Array.isArray(await reader.invoke("SubscribeToTopicMetrics", topic)));
const created = await writer.invoke("CreateStream", topic, { name: "new car", location: "/cars" });
await until("the new stream's AddUpdate", () =>
  changes.some(([stream, action]) => stream.streamId === created.streamId && action === "AddUpdate"));
const added = changes.find(([stream]) => stream.streamId === created.streamId)[0];
assert.equal(added.name, "new car");
assert.equal(added.location, "/cars");
await writer.invoke("CloseStream", topic, created.streamId);
await until("its Remove", () =>
  changes.some(([stream, action]) => stream.streamId === created.streamId && action === "Remove"));
await until("a metrics push", () => metricsPushed.length >= 1);
assert.deepEqual(Object.keys(metricsPushed[0]).sort(),
  ["activeStreams", "bytesPerSecond", "timestamp", "topicId", "topicName"]);
assert.equal(metricsPushed[0].topicName, topic);
assert.equal(typeof metricsPushed[0].bytesPerSecond, "number");

await reader.stop();
await writer.stop();
console.log("reader ok");
