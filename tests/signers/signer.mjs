// Signs webhooks the way their senders do, with the senders' own libraries
// (npm svix, standardwebhooks) or, for public-key schemes, a key pair made
// here with Node's crypto: never with Inlet's signer.
//
// One JSON request per line on stdin, one JSON answer per line on stdout:
//   {"with": "svix" | "standardwebhooks", "secret", "id", "timestamp", "body"}
//     -> {"headers": {...}}
//   {"with": "ed25519-standard", "id", "timestamp", "body"}
//     -> {"headers": {...}, "key": "whpk_<base64>"}   (a fresh key pair)
//   {"with": "hmac", "algorithm": "sha1" | "sha256", "encoding": "hex" | "base64",
//    "secret", "message"} -> {"signature"}   (a provider's scheme written
//    from its documentation, where it ships no signer)
//   {"with": "provider", "provider", ...} -> see providers.mjs
//   {"with": "keypair", "type": "ed25519" | "ec" | "rsa", "message"}
//     -> {"signature": base64, "pem": the public key (SPKI PEM)}   (a fresh pair)
import crypto from "node:crypto";
import readline from "node:readline";
import { Webhook as Svix } from "svix";
import { Webhook as Standard } from "standardwebhooks";
import { providers } from "./providers.mjs";

const at = (timestamp) => new Date(timestamp * 1000);

const signers = {
  keypair: ({ type, message }) => {
    const options = { ec: { namedCurve: "P-256" }, rsa: { modulusLength: 2048 } }[type] ?? {};
    const { publicKey, privateKey } = crypto.generateKeyPairSync(type, options);
    const hash = type === "ed25519" ? null : "sha256";
    return {
      signature: crypto.sign(hash, Buffer.from(message), privateKey).toString("base64"),
      pem: publicKey.export({ format: "pem", type: "spki" }),
    };
  },
  provider: (request) => providers[request.provider](request),
  hmac: ({ algorithm, encoding, secret, message }) => ({
    signature: crypto.createHmac(algorithm, secret).update(message, "utf8").digest(encoding),
  }),
  svix: ({ secret, id, timestamp, body }) => ({
    headers: {
      "svix-id": id,
      "svix-timestamp": String(timestamp),
      "svix-signature": new Svix(secret).sign(id, at(timestamp), body),
    },
  }),
  standardwebhooks: ({ secret, id, timestamp, body }) => ({
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": new Standard(secret).sign(id, at(timestamp), body),
    },
  }),
  // The specification's v1a: Ed25519 over `{id}.{timestamp}.{body}`, the
  // public key as whpk_ and the raw 32 bytes in base64.
  "ed25519-standard": ({ id, timestamp, body }) => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
    const signature = crypto.sign(null, Buffer.from(`${id}.${timestamp}.${body}`), privateKey);
    return {
      key: `whpk_${raw.toString("base64")}`,
      headers: {
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": `v1a,${signature.toString("base64")}`,
      },
    };
  },
};

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const request = JSON.parse(line);
  let answer;
  try {
    answer = await signers[request.with](request);
  } catch (e) {
    answer = { error: String(e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
