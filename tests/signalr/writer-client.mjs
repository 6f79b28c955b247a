// The Writer hub through the real @microsoft/signalr client (Node.js), as a
// Quix user's service calls it. Asserts every answer and prints, as its last
// line, the JSON of what it wrote (stream ids) for the caller to find in the
// topic.
//
//   node writer-client.mjs HUB_URL TOKEN TOPIC FORBIDDEN_TOPIC [BURST]
//
// TOKEN may write to TOPIC and not to FORBIDDEN_TOPIC (which exists). BURST
// calls (default 200) are made at once, without awaiting each: the client
// then sends them in as few frames as it can, which API Gateway refuses past
// 32 KB a frame.
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";

const [url, token, topic, forbiddenTopic, burstSize = "200"] = process.argv.slice(2);
if (!forbiddenTopic) {
  console.error("usage: node writer-client.mjs HUB_URL TOKEN TOPIC FORBIDDEN_TOPIC");
  process.exit(2);
}

function connect(accessToken, logLevel = signalR.LogLevel.Warning) {
  return new signalR.HubConnectionBuilder()
    .withUrl(url, { accessTokenFactory: () => accessToken })
    .configureLogging(logLevel)
    .build();
}

// A wrong token is refused at negotiate.
await assert.rejects(connect("not-a-token", signalR.LogLevel.None).start(), (error) => {
  assert.match(String(error), /401/);
  return true;
});

const connection = connect(token);
await connection.start();
assert.equal(connection.state, signalR.HubConnectionState.Connected);

const created = await connection.invoke("CreateStream", topic, {
  name: "car-1", location: "/cars", metadata: { rain: "light" },
});
assert.match(created.streamId, /^[0-9a-f-]{36}$/);
const stream = created.streamId;

assert.equal(await connection.invoke("UpdateStream", topic, stream,
  { name: "Example stream", location: "/sub/dir", metadata: { fruit: "apple" } }), undefined);
// The Quix docs' JavaScript form: no stream id, so a new stream.
const docsForm = await connection.invoke("UpdateStream", topic, { name: "docs form" });
assert.match(docsForm.streamId, /^[0-9a-f-]{36}$/);

const epoch = 1_700_000_000_000_000_000;
assert.equal(await connection.invoke("SendParameterData", topic, stream, {
  epoch,
  timestamps: [0, 5_000_000_000, 8_000_000_000],
  numericValues: { NumericParameter1: [13.37, 42, 24.72] },
  stringValues: { StringParameter1: ["Hello", "World", "!"] },
  binaryValues: { BinaryParameter1: [btoa("Hello"), btoa("World"), btoa("!")] },
  tagValues: { Tag1: ["A", "B", null] },
}), undefined);
// PascalCase, as the .NET samples send it, and any case at all.
assert.equal(await connection.invoke("sendparameterdata", topic, stream,
  { Timestamps: [1], NUMERICVALUES: { Speed: [1.5] } }), undefined);

const millis = Date.now();
assert.equal(await connection.invoke("SendEventData", topic, stream,
  [{ timestamp: millis, tags: { mousestatus: "tracking" }, id: "mouse position", value: JSON.stringify({ x: 1, y: 2 }) }]), undefined);
// send(): no completion; the record still arrives (checked by the caller).
await connection.send("SendEventData", topic, stream,
  [{ timestamp: millis + 1, id: "sent", value: "fire and forget" }]);

// Errors are Completion errors naming the problem; the connection stays.
const failures = [
  [["SendEventData", forbiddenTopic, stream, [{ id: "a", timestamp: 1 }]], /forbidden: token .* may not write to topic/],
  [["SendEventData", "no-such-topic", stream, [{ id: "a", timestamp: 1 }]], /not_found/],
  [["SendEventData", topic, stream], /SendEventData takes 3 arguments \(topic, streamId, events\); 2 given/],
  [["SendEventData", topic, stream, [{ id: "a", timestamp: "soon" }]], /bad_request: events: \[0\]\.timestamp/],
  [["SendParameterData", topic, stream, { timestamps: [1, 2], numericValues: { a: [1] } }], /numericValues\.a has 1 values but timestamps has 2/],
  [["NoSuchMethod", topic], /the hub has no method "NoSuchMethod"/],
  [["SendEventData", 42, stream, []], /argument 1 \(topic\) must be a string/],
];
for (const [args, expected] of failures) {
  await assert.rejects(connection.invoke(...args), (error) => {
    assert.match(error.message, expected, `${args[0]}: ${error.message}`);
    return true;
  });
}
assert.equal(connection.state, signalR.HubConnectionState.Connected);

// Many calls in flight at once, as a page that does not await each one:
// every one is completed, and the records keep the order of the calls.
const burst = [];
for (let i = 0; i < Number(burstSize); i += 1) {
  burst.push(connection.invoke("SendEventData", topic, stream, [{ timestamp: i, id: "burst", value: String(i) }]));
}
assert.deepEqual(await Promise.all(burst), burst.map(() => undefined));

assert.equal(await connection.invoke("CloseStream", topic, stream), undefined);
await connection.stop();
console.log(JSON.stringify({ stream, docsStream: docsForm.streamId, millis }));
