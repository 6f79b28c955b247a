// Each catalogue provider's signature as the provider's documentation (or
// SDK) writes it, made here in JavaScript: with the provider's own library
// where it ships one that signs (@workos-inc/node, @adyen/api-library,
// @octokit/webhooks-methods for GitHub), else
// with Node's crypto following the documentation. Where the provider ships
// a verifier (@sendgrid/eventwebhook, discord-interactions, square, telnyx),
// the answer says whether it accepts what was made (`agreed`).
//
// In: {provider, secret, timestamp (Unix s), body, url, id}
// Out: {headers, body?, key?, agreed?}
import crypto from "node:crypto";
import { WorkOS } from "@workos-inc/node";
import adyen from "@adyen/api-library";
import { EventWebhook } from "@sendgrid/eventwebhook";
import { verifyKey } from "discord-interactions";
import { WebhooksHelper } from "square";
import { sign as octokitSign } from "@octokit/webhooks-methods";
import { TelnyxWebhook } from "telnyx/lib/webhooks";

const hmac = (algorithm, secret, message, encoding) =>
  crypto.createHmac(algorithm, secret).update(message, "utf8").digest(encoding);
const iso = (timestamp) => new Date(timestamp * 1000).toISOString();

// An Ed25519 key pair: the raw public key in `form`, and a signer.
function ed25519(form) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  return {
    key: raw.toString(form),
    sign: (message) => crypto.sign(null, Buffer.from(message), privateKey),
  };
}

export const providers = {
  // GitHub: its own @octokit/webhooks-methods signs (sha256=<hex>).
  github: async ({ secret, body, id }) => ({
    headers: {
      "X-Hub-Signature-256": await octokitSign(secret, body),
      "X-GitHub-Event": "push",
      "X-GitHub-Delivery": id,
    },
  }),
  // docs.cdp.coinbase.com: hex HMAC-SHA256 of the raw body.
  "coinbase-commerce": ({ secret, body }) => ({
    headers: { "X-CC-Webhook-Signature": hmac("sha256", secret, body, "hex") },
  }),
  // docs.x.com webhooks: sha256= and the base64 HMAC-SHA256 of the body.
  twitter: ({ secret, body }) => ({
    headers: { "x-twitter-webhooks-signature": `sha256=${hmac("sha256", secret, body, "base64")}` },
  }),
  // PagerDuty v3: comma-separated v1= signatures (one per active secret).
  pagerduty: ({ secret, body }) => ({
    headers: {
      "X-PagerDuty-Signature": `v1=${hmac("sha256", "an-old-secret", body, "hex")},v1=${hmac("sha256", secret, body, "hex")}`,
    },
  }),
  // Calendly: t=<s>,v1=<hex HMAC-SHA256 of "{t}.{body}">.
  calendly: ({ secret, timestamp, body }) => ({
    headers: {
      "Calendly-Webhook-Signature": `t=${timestamp},v1=${hmac("sha256", secret, `${timestamp}.${body}`, "hex")}`,
    },
  }),
  // WorkOS' own SDK computes the signature; the header as WorkOS writes it.
  workos: async ({ secret, timestamp, body }) => {
    const ms = timestamp * 1000;
    const signature = await new WorkOS("sk_test_inlet").webhooks.computeSignature(ms, body, secret);
    return { headers: { "WorkOS-Signature": `t=${ms}, v1=${signature}` } };
  },
  // Paddle Billing: ts=<s>;h1=<hex HMAC-SHA256 of "{ts}:{body}">.
  paddle: ({ secret, timestamp, body }) => ({
    headers: {
      "Paddle-Signature": `ts=${timestamp};h1=${hmac("sha256", secret, `${timestamp}:${body}`, "hex")}`,
    },
  }),
  // Webflow: hex HMAC-SHA256 of "{timestamp ms}:{body}".
  webflow: ({ secret, timestamp, body }) => {
    const ms = String(timestamp * 1000);
    return {
      headers: {
        "x-webflow-timestamp": ms,
        "x-webflow-signature": hmac("sha256", secret, `${ms}:${body}`, "hex"),
      },
    };
  },
  // Zendesk: base64 HMAC-SHA256 of timestamp + body, the timestamp RFC 3339.
  zendesk: ({ secret, timestamp, body, id }) => {
    const ts = iso(timestamp).replace(".000", "");
    return {
      headers: {
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "X-Zendesk-Webhook-Signature": hmac("sha256", secret, ts + body, "base64"),
        "X-Zendesk-Webhook-Invocation-Id": id,
      },
    };
  },
  // Twitch EventSub: sha256= hex HMAC-SHA256 of message id + timestamp +
  // body, the timestamp RFC 3339 with nanoseconds.
  twitch: ({ secret, timestamp, body, id }) => {
    const ts = iso(timestamp).replace(".000Z", ".123456789Z");
    return {
      headers: {
        "Twitch-Eventsub-Message-Id": id,
        "Twitch-Eventsub-Message-Timestamp": ts,
        "Twitch-Eventsub-Message-Type": "notification",
        "Twitch-Eventsub-Subscription-Type": "channel.follow",
        "Twitch-Eventsub-Message-Signature": `sha256=${hmac("sha256", secret, id + ts + body, "hex")}`,
      },
    };
  },
  // Square: base64 HMAC-SHA256 of the notification URL then the body;
  // Square's own WebhooksHelper must accept it.
  square: async ({ secret, body, url }) => {
    const signature = hmac("sha256", secret, url + body, "base64");
    const agreed = await WebhooksHelper.verifySignature({
      requestBody: body,
      signatureHeader: signature,
      signatureKey: secret,
      notificationUrl: url,
    });
    return { headers: { "x-square-hmacsha256-signature": signature }, agreed };
  },
  // HubSpot v3: base64 HMAC-SHA256 of method + URI + body + timestamp (ms).
  hubspot: ({ secret, timestamp, body, url }) => {
    const ms = String(timestamp * 1000);
    return {
      headers: {
        "X-HubSpot-Request-Timestamp": ms,
        "X-HubSpot-Signature-v3": hmac("sha256", secret, `POST${url}${body}${ms}`, "base64"),
      },
    };
  },
  // Mailgun: the body's signature object, hex HMAC-SHA256 of timestamp + token.
  mailgun: ({ secret, timestamp, body }) => {
    const event = JSON.parse(body);
    const token = crypto.randomBytes(25).toString("hex");
    event.signature = {
      timestamp: String(timestamp),
      token,
      signature: hmac("sha256", secret, `${timestamp}${token}`, "hex"),
    };
    return { headers: {}, body: JSON.stringify(event) };
  },
  // Adyen: its own library's HmacValidator signs the notification item.
  adyen: ({ secret, body }) => {
    const notification = JSON.parse(body);
    const item = notification.notificationItems[0].NotificationRequestItem;
    item.additionalData = {
      ...item.additionalData,
      hmacSignature: new adyen.hmacValidator().calculateHmac(item, secret),
    };
    return { headers: {}, body: JSON.stringify(notification) };
  },
  // SendGrid: ECDSA P-256/SHA-256 of timestamp + body, DER signature in
  // base64, the public key base64 DER as the dashboard shows it; SendGrid's
  // own EventWebhook must accept it.
  sendgrid: ({ timestamp, body }) => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const signature = crypto.sign("sha256", Buffer.from(`${timestamp}${body}`), privateKey).toString("base64");
    const key = publicKey.export({ format: "der", type: "spki" }).toString("base64");
    const events = new EventWebhook();
    const agreed = events.verifySignature(events.convertPublicKeyToECDSA(key), body, signature, String(timestamp));
    return {
      key,
      agreed,
      headers: {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": String(timestamp),
      },
    };
  },
  // Telnyx: Ed25519 of "{timestamp}|{body}", base64; the public key base64.
  // Telnyx's own TelnyxWebhook checks the time against the clock, so it is
  // shown the same pair's signature made now.
  telnyx: async ({ timestamp, body }) => {
    const pair = ed25519("base64");
    const now = String(Math.floor(Date.now() / 1000));
    const agreed = await new TelnyxWebhook(pair.key)
      .verify(body, {
        "telnyx-signature-ed25519": pair.sign(`${now}|${body}`).toString("base64"),
        "telnyx-timestamp": now,
      })
      .then(() => true, () => false);
    return {
      key: pair.key,
      agreed,
      headers: {
        "telnyx-signature-ed25519": pair.sign(`${timestamp}|${body}`).toString("base64"),
        "telnyx-timestamp": String(timestamp),
      },
    };
  },
  // Discord: Ed25519 of timestamp + body, hex; the public key hex; Discord's
  // own discord-interactions verifyKey must accept it.
  discord: async ({ timestamp, body }) => {
    const pair = ed25519("hex");
    const signature = pair.sign(`${timestamp}${body}`).toString("hex");
    const agreed = await verifyKey(body, signature, String(timestamp), pair.key);
    return {
      key: pair.key,
      agreed,
      headers: { "X-Signature-Ed25519": signature, "X-Signature-Timestamp": String(timestamp) },
    };
  },
};
