//! Named providers whose signature the building blocks express: each entry
//! is data, the same [`Blocks`] a user writes for a scheme of their own, with
//! where the provider puts its event id and delivery id and where those
//! facts are written. A provider here is a few lines, not a file of code.

use super::Blocks;

/// A provider of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its `scheme` name in the configuration.
    pub name: &'static str,
    /// Its signature, as building blocks.
    pub blocks: Blocks<'static>,
    /// Where its event id is, as `event_id` is written (a pointer, a
    /// `header:Name`, or a constant).
    pub event_id: &'static str,
    /// Where its delivery id is, as `delivery_id` is written.
    pub delivery_id: Option<&'static str>,
    /// Where the scheme is documented.
    pub documented: &'static str,
}

const NONE: Blocks<'static> = Blocks::NONE;

/// An HMAC of the raw body alone, in `header` after `prefix`.
const fn body(
    name: &'static str,
    header: &'static str,
    (algorithm, encoding, prefix): (&'static str, &'static str, &'static str),
    (event_id, delivery_id): (&'static str, Option<&'static str>),
    documented: &'static str,
) -> Provider {
    Provider {
        name,
        blocks: Blocks {
            header: Some(header),
            algorithm: Some(algorithm),
            encoding: Some(encoding),
            prefix: Some(prefix),
            ..NONE
        },
        event_id,
        delivery_id,
        documented,
    }
}

/// Every provider of the catalogue, in the order of the providers table.
pub const PROVIDERS: [Provider; 30] = [
    body(
        "intercom",
        "x-hub-signature",
        ("sha1", "hex", "sha1="),
        ("/topic", Some("/id")),
        "developers.intercom.com, Signed notifications (key: the app's client secret)",
    ),
    body(
        "jira",
        "x-hub-signature",
        ("sha256", "hex", "sha256="),
        (
            "/webhookEvent",
            Some("header:x-atlassian-webhook-identifier"),
        ),
        "developer.atlassian.com/cloud/jira/platform/webhooks, Secure admin webhooks",
    ),
    body(
        "bitbucket",
        "x-hub-signature",
        ("sha256", "hex", "sha256="),
        ("header:x-event-key", Some("header:x-request-uuid")),
        "support.atlassian.com/bitbucket-cloud/docs/event-payloads; bitbucket.org/blog/enhanced-webhook-security",
    ),
    body(
        "razorpay",
        "x-razorpay-signature",
        ("sha256", "hex", ""),
        ("/event", Some("header:x-razorpay-event-id")),
        "razorpay.com/docs/webhooks/validate-test; razorpay-python verify_webhook_signature",
    ),
    body(
        "xero",
        "x-xero-signature",
        ("sha256", "base64", ""),
        // A delivery batches events (the intent-to-receive one has none).
        ("xero", None),
        "developer.xero.com/documentation/webhooks/configuring-your-server",
    ),
    body(
        "vercel",
        "x-vercel-signature",
        ("sha1", "hex", ""),
        ("/type", Some("/id")),
        "vercel.com/docs/webhooks/webhooks-api, Securing webhooks",
    ),
    body(
        "sentry",
        "sentry-hook-signature",
        ("sha256", "hex", ""),
        ("header:sentry-hook-resource", Some("header:request-id")),
        "docs.sentry.io/integrations/integration-platform/webhooks",
    ),
    body(
        "meta",
        "x-hub-signature-256",
        ("sha256", "hex", "sha256="),
        // Facebook, Instagram and WhatsApp batch entries; none has an id.
        ("/object", None),
        "developers.facebook.com/docs/graph-api/webhooks/getting-started",
    ),
    body(
        "typeform",
        "typeform-signature",
        ("sha256", "base64", "sha256="),
        ("/event_type", Some("/event_id")),
        "typeform.com/developers/webhooks/secure-your-webhooks",
    ),
    body(
        "linear",
        "linear-signature",
        ("sha256", "hex", ""),
        ("/type", Some("header:linear-delivery")),
        "@linear/sdk webhooks/client.ts (the body's webhookTimestamp is not checked)",
    ),
    body(
        "notion",
        "x-notion-signature",
        ("sha256", "hex", "sha256="),
        ("/type", Some("/id")),
        "developers.notion.com/reference/webhooks (key: the verification_token)",
    ),
    Provider {
        name: "zoom",
        blocks: Blocks {
            header: Some("x-zm-signature"),
            prefix: Some("v0="),
            timestamp: Some("header:x-zm-request-timestamp"),
            signed_content: Some("v0:{timestamp}:{body}"),
            ..NONE
        },
        event_id: "/event",
        delivery_id: None,
        documented: "zoom/webhook-sample index.js; developers.zoom.us, Verify webhook events",
    },
    body(
        "docusign",
        // One header per active Connect key (-1 … -N); the first is checked
        // against every configured key.
        "x-docusign-signature-1",
        ("sha256", "base64", ""),
        ("/event", None),
        "developers.docusign.com/platform/webhooks/connect/validate",
    ),
    body(
        "lemon-squeezy",
        "x-signature",
        ("sha256", "hex", ""),
        ("header:x-event-name", None),
        "docs.lemonsqueezy.com/help/webhooks/signing-requests",
    ),
    body(
        "coinbase-commerce",
        "x-cc-webhook-signature",
        ("sha256", "hex", ""),
        ("/event/type", Some("/event/id")),
        "docs.cdp.coinbase.com/commerce-onchain/docs/webhooks-security (the endpoint's shared secret)",
    ),
    body(
        "twitter",
        "x-twitter-webhooks-signature",
        ("sha256", "base64", "sha256="),
        // The body's top-level key names the kind (tweet_create_events, …).
        ("twitter", None),
        "docs.x.com/x-api/webhooks/introduction (key: the app's API key secret)",
    ),
    Provider {
        name: "pagerduty",
        blocks: Blocks {
            header: Some("x-pagerduty-signature"),
            signature_separator: Some(","),
            prefix: Some("v1="),
            ..NONE
        },
        event_id: "/event/event_type",
        delivery_id: Some("/event/id"),
        documented: "developer.pagerduty.com/docs/webhooks/webhook-signatures (v3: v1=<hex>, comma-separated)",
    },
    Provider {
        name: "calendly",
        blocks: Blocks {
            header: Some("calendly-webhook-signature"),
            signature_field: Some("v1"),
            timestamp: Some("field:t"),
            signed_content: Some("{timestamp}.{body}"),
            ..NONE
        },
        event_id: "/event",
        delivery_id: None,
        documented: "developer.calendly.com/api-docs webhook-signatures (t=…,v1=… over {t}.{body})",
    },
    Provider {
        name: "workos",
        blocks: Blocks {
            header: Some("workos-signature"),
            signature_field: Some("v1"),
            timestamp: Some("field:t"),
            timestamp_format: Some("milliseconds"),
            signed_content: Some("{timestamp}.{body}"),
            ..NONE
        },
        event_id: "/event",
        delivery_id: Some("/id"),
        documented: "workos-node src/common/crypto/signature-provider.ts; workos-python webhooks/_verification.py",
    },
    Provider {
        name: "paddle",
        blocks: Blocks {
            header: Some("paddle-signature"),
            signature_field: Some("h1"),
            field_separator: Some(";"),
            timestamp: Some("field:ts"),
            signed_content: Some("{timestamp}:{body}"),
            ..NONE
        },
        event_id: "/event_type",
        delivery_id: Some("/event_id"),
        documented: "developer.paddle.com/webhooks/about/signature-verification; paddle-node-sdk webhooks-validator",
    },
    Provider {
        name: "webflow",
        blocks: Blocks {
            header: Some("x-webflow-signature"),
            timestamp: Some("header:x-webflow-timestamp"),
            timestamp_format: Some("milliseconds"),
            signed_content: Some("{timestamp}:{body}"),
            ..NONE
        },
        event_id: "/triggerType",
        delivery_id: None,
        documented: "developers.webflow.com/data/docs/working-with-webhooks, Verifying webhook signatures",
    },
    Provider {
        name: "zendesk",
        blocks: Blocks {
            header: Some("x-zendesk-webhook-signature"),
            encoding: Some("base64"),
            timestamp: Some("header:x-zendesk-webhook-signature-timestamp"),
            timestamp_format: Some("rfc3339"),
            signed_content: Some("{timestamp}{body}"),
            ..NONE
        },
        event_id: "/type",
        delivery_id: Some("header:x-zendesk-webhook-invocation-id"),
        documented: "developer.zendesk.com/documentation/webhooks/verifying",
    },
    Provider {
        name: "twitch",
        blocks: Blocks {
            header: Some("twitch-eventsub-message-signature"),
            prefix: Some("sha256="),
            timestamp: Some("header:twitch-eventsub-message-timestamp"),
            timestamp_format: Some("rfc3339"),
            signed_content: Some("{id}{timestamp}{body}"),
            ..NONE
        },
        event_id: "header:twitch-eventsub-subscription-type",
        delivery_id: Some("header:twitch-eventsub-message-id"),
        documented: "dev.twitch.tv/docs/eventsub/handling-webhook-events; twitchdev/eventsub-webhooks-node-sample",
    },
    Provider {
        name: "square",
        blocks: Blocks {
            header: Some("x-square-hmacsha256-signature"),
            encoding: Some("base64"),
            signed_content: Some("{url}{body}"),
            ..NONE
        },
        event_id: "/type",
        delivery_id: Some("/event_id"),
        documented: "square-nodejs-sdk WebhooksHelper (the notification URL, then the body)",
    },
    Provider {
        name: "hubspot",
        blocks: Blocks {
            header: Some("x-hubspot-signature-v3"),
            encoding: Some("base64"),
            timestamp: Some("header:x-hubspot-request-timestamp"),
            timestamp_format: Some("milliseconds"),
            signed_content: Some("{method}{url}{body}{timestamp}"),
            ..NONE
        },
        // A delivery is an array of events; the first one names it.
        event_id: "/0/subscriptionType",
        delivery_id: Some("/0/eventId"),
        documented: "developers.hubspot.com request-validation (v3); hubspot-api-client utils/signature.py",
    },
    Provider {
        name: "mailgun",
        blocks: Blocks {
            signature_pointer: Some("/signature/signature"),
            timestamp: Some("/signature/timestamp"),
            // Mailgun signs its timestamp and token, not the event itself.
            signed_content: Some("{timestamp}{body:/signature/token}"),
            ..NONE
        },
        event_id: "/event-data/event",
        delivery_id: Some("/event-data/id"),
        documented: "documentation.mailgun.com, Securing webhooks (HMAC-SHA256 of timestamp + token, HTTP webhook signing key)",
    },
    Provider {
        name: "adyen",
        blocks: Blocks {
            signature_pointer: Some(
                "/notificationItems/0/NotificationRequestItem/additionalData/hmacSignature",
            ),
            encoding: Some("base64"),
            secret_encoding: Some("hex"),
            single_item: Some("/notificationItems"),
            signed_content: Some(concat!(
                "{body:/notificationItems/0/NotificationRequestItem/pspReference}:",
                "{body:/notificationItems/0/NotificationRequestItem/originalReference}:",
                "{body:/notificationItems/0/NotificationRequestItem/merchantAccountCode}:",
                "{body:/notificationItems/0/NotificationRequestItem/merchantReference}:",
                "{body:/notificationItems/0/NotificationRequestItem/amount/value}:",
                "{body:/notificationItems/0/NotificationRequestItem/amount/currency}:",
                "{body:/notificationItems/0/NotificationRequestItem/eventCode}:",
                "{body:/notificationItems/0/NotificationRequestItem/success}",
            )),
            ..NONE
        },
        event_id: "/notificationItems/0/NotificationRequestItem/eventCode",
        delivery_id: None,
        documented: "docs.adyen.com/development-resources/webhooks/verify-hmac-signatures; adyen-node-api-library HmacValidator",
    },
    Provider {
        name: "sendgrid",
        blocks: Blocks {
            header: Some("x-twilio-email-event-webhook-signature"),
            algorithm: Some("ecdsa-p256-sha256"),
            encoding: Some("base64"),
            secret_encoding: Some("base64"),
            timestamp: Some("header:x-twilio-email-event-webhook-timestamp"),
            signed_content: Some("{timestamp}{body}"),
            ..NONE
        },
        // A delivery is an array of events; the first one names it.
        event_id: "/0/event",
        delivery_id: Some("/0/sg_event_id"),
        documented: "twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features; @sendgrid/eventwebhook",
    },
    Provider {
        name: "telnyx",
        blocks: Blocks {
            header: Some("telnyx-signature-ed25519"),
            algorithm: Some("ed25519"),
            encoding: Some("base64"),
            secret_encoding: Some("base64"),
            timestamp: Some("header:telnyx-timestamp"),
            signed_content: Some("{timestamp}|{body}"),
            ..NONE
        },
        event_id: "/data/event_type",
        delivery_id: Some("/data/id"),
        documented: "developers.telnyx.com/docs/messaging/messages/receiving-webhooks (public key in Mission Control, base64)",
    },
    Provider {
        name: "discord",
        blocks: Blocks {
            header: Some("x-signature-ed25519"),
            algorithm: Some("ed25519"),
            secret_encoding: Some("hex"),
            timestamp: Some("header:x-signature-timestamp"),
            signed_content: Some("{timestamp}{body}"),
            ..NONE
        },
        event_id: "/event/type",
        delivery_id: None,
        documented: "discord.com/developers/docs/events/webhook-events; discord-interactions verifyKey",
    },
];

/// The provider called `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}
