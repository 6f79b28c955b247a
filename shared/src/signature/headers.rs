//! Header names of the provider schemes.

/// Segment's signature.
pub const SEGMENT: &str = "x-signature";
/// GitHub's signature.
pub const GITHUB: &str = "x-hub-signature-256";
/// GitHub's delivery id.
pub const GITHUB_DELIVERY: &str = "x-github-delivery";
/// GitHub's event type.
pub const GITHUB_EVENT: &str = "x-github-event";
/// Stripe's signature.
pub const STRIPE: &str = "stripe-signature";
/// Slack's signature.
pub const SLACK: &str = "x-slack-signature";
/// Slack's timestamp.
pub const SLACK_TIMESTAMP: &str = "x-slack-request-timestamp";
/// Shopify's signature.
pub const SHOPIFY: &str = "x-shopify-hmac-sha256";
/// Shopify's topic.
pub const SHOPIFY_TOPIC: &str = "x-shopify-topic";
/// Shopify's delivery id.
pub const SHOPIFY_WEBHOOK_ID: &str = "x-shopify-webhook-id";
/// Standard Webhooks' message id.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks' timestamp.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks' signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// Svix's spelling of `webhook-id`.
pub const SVIX_ID: &str = "svix-id";
/// Svix's spelling of `webhook-timestamp`.
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
/// Svix's spelling of `webhook-signature`.
pub const SVIX_SIGNATURE: &str = "svix-signature";
/// Twilio's signature.
pub const TWILIO: &str = "x-twilio-signature";
/// Twilio's idempotency token (its delivery id).
pub const TWILIO_IDEMPOTENCY: &str = "i-twilio-idempotency-token";
