//! Named providers whose signature the HMAC building blocks express: each
//! entry is data (the header, a prefix, the hash, the encoding, what is
//! signed, a signed timestamp) with where the provider puts its event id and
//! delivery id, and where those facts are written. A provider here is a few
//! lines, not a file of code.

use super::{Algorithm, Encoding, HmacSpec};

/// A provider of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its `scheme` name in the configuration.
    pub name: &'static str,
    /// The header carrying the signature (lowercase).
    pub header: &'static str,
    /// The hash of the HMAC.
    pub algorithm: Algorithm,
    /// How the signature is written.
    pub encoding: Encoding,
    /// Text before the signature in the header, e.g. `sha256=`.
    pub prefix: &'static str,
    /// What is signed: `{body}` and `{timestamp}` replaced.
    pub signed_content: &'static str,
    /// The header of a signed Unix timestamp (seconds), if any.
    pub timestamp_header: Option<&'static str>,
    /// Where its event id is, as `event_id` is written (a pointer, a
    /// `header:Name`, or a constant).
    pub event_id: &'static str,
    /// Where its delivery id is, as `delivery_id` is written.
    pub delivery_id: Option<&'static str>,
    /// Where the scheme is documented.
    pub documented: &'static str,
}

impl Provider {
    /// The signature as the generic HMAC scheme checks it.
    pub fn spec(&self) -> HmacSpec {
        HmacSpec {
            algorithm: self.algorithm,
            header: self.header.to_owned(),
            encoding: self.encoding,
            prefix: self.prefix.to_owned(),
            timestamp_header: self.timestamp_header.map(str::to_owned),
            signed_content: self.signed_content.to_owned(),
        }
    }
}

/// An HMAC of the raw body alone.
const fn body(
    name: &'static str,
    header: &'static str,
    (algorithm, encoding, prefix): (Algorithm, Encoding, &'static str),
    (event_id, delivery_id): (&'static str, Option<&'static str>),
    documented: &'static str,
) -> Provider {
    Provider {
        name,
        header,
        algorithm,
        encoding,
        prefix,
        signed_content: "{body}",
        timestamp_header: None,
        event_id,
        delivery_id,
        documented,
    }
}

use Algorithm::{Sha1, Sha256};
use Encoding::{Base64, Hex};

/// Every provider of the catalogue.
pub const PROVIDERS: [Provider; 14] = [
    body(
        "intercom",
        "x-hub-signature",
        (Sha1, Hex, "sha1="),
        ("/topic", Some("/id")),
        "developers.intercom.com, Signed notifications (key: the app's client secret)",
    ),
    body(
        "jira",
        "x-hub-signature",
        (Sha256, Hex, "sha256="),
        (
            "/webhookEvent",
            Some("header:x-atlassian-webhook-identifier"),
        ),
        "developer.atlassian.com/cloud/jira/platform/webhooks, Secure admin webhooks",
    ),
    body(
        "bitbucket",
        "x-hub-signature",
        (Sha256, Hex, "sha256="),
        ("header:x-event-key", Some("header:x-request-uuid")),
        "support.atlassian.com/bitbucket-cloud/docs/event-payloads; bitbucket.org/blog/enhanced-webhook-security",
    ),
    body(
        "razorpay",
        "x-razorpay-signature",
        (Sha256, Hex, ""),
        ("/event", Some("header:x-razorpay-event-id")),
        "razorpay.com/docs/webhooks/validate-test; razorpay-python verify_webhook_signature",
    ),
    body(
        "xero",
        "x-xero-signature",
        (Sha256, Base64, ""),
        // A delivery batches events (the intent-to-receive one has none).
        ("xero", None),
        "developer.xero.com/documentation/webhooks/configuring-your-server",
    ),
    body(
        "vercel",
        "x-vercel-signature",
        (Sha1, Hex, ""),
        ("/type", Some("/id")),
        "vercel.com/docs/webhooks/webhooks-api, Securing webhooks",
    ),
    body(
        "sentry",
        "sentry-hook-signature",
        (Sha256, Hex, ""),
        ("header:sentry-hook-resource", Some("header:request-id")),
        "docs.sentry.io/integrations/integration-platform/webhooks",
    ),
    body(
        "meta",
        "x-hub-signature-256",
        (Sha256, Hex, "sha256="),
        // Facebook, Instagram and WhatsApp batch entries; none has an id.
        ("/object", None),
        "developers.facebook.com/docs/graph-api/webhooks/getting-started",
    ),
    body(
        "typeform",
        "typeform-signature",
        (Sha256, Base64, "sha256="),
        ("/event_type", Some("/event_id")),
        "typeform.com/developers/webhooks/secure-your-webhooks",
    ),
    body(
        "linear",
        "linear-signature",
        (Sha256, Hex, ""),
        ("/type", Some("header:linear-delivery")),
        "@linear/sdk webhooks/client.ts (the body's webhookTimestamp is not checked)",
    ),
    body(
        "notion",
        "x-notion-signature",
        (Sha256, Hex, "sha256="),
        ("/type", Some("/id")),
        "developers.notion.com/reference/webhooks (key: the verification_token)",
    ),
    Provider {
        name: "zoom",
        header: "x-zm-signature",
        algorithm: Sha256,
        encoding: Hex,
        prefix: "v0=",
        signed_content: "v0:{timestamp}:{body}",
        timestamp_header: Some("x-zm-request-timestamp"),
        event_id: "/event",
        delivery_id: None,
        documented: "zoom/webhook-sample index.js; developers.zoom.us, Verify webhook events",
    },
    body(
        "docusign",
        // One header per active Connect key (-1 … -N); the first is checked
        // against every configured key.
        "x-docusign-signature-1",
        (Sha256, Base64, ""),
        ("/event", None),
        "developers.docusign.com/platform/webhooks/connect/validate",
    ),
    body(
        "lemon-squeezy",
        "x-signature",
        (Sha256, Hex, ""),
        ("header:x-event-name", None),
        "docs.lemonsqueezy.com/help/webhooks/signing-requests",
    ),
];

/// The provider called `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}
