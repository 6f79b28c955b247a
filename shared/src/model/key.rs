//! Where a webhook's record came from and the key its delivery id is
//! remembered under: one definition, used by the receiver that writes it
//! and the index that reads it back.

use std::fmt;

use super::cloud_event::Head;

const WEBHOOKS: &str = "/webhooks/";

/// The CloudEvents `source` of webhook source `name`: `/webhooks/{name}`.
pub fn webhook_source(name: &str) -> String {
    format!("{WEBHOOKS}{name}")
}

/// The key a delivery id is remembered under: `{source name}/{delivery id}`,
/// unique across sources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    /// The key of delivery `id` from webhook source `source`.
    pub fn new(source: &str, id: &str) -> Self {
        DeliveryKey(format!("{source}/{id}"))
    }

    /// The source name and key of a stored webhook record; `None` for a
    /// record that did not come from a webhook source.
    pub fn of_record<'h>(head: &'h Head<'_>) -> Option<(&'h str, DeliveryKey)> {
        let name = head.source.strip_prefix(WEBHOOKS)?;
        Some((name, DeliveryKey::new(name, &head.id)))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as owned text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CloudEvent, event_type};

    #[test]
    fn a_webhook_record_gives_back_the_key_its_receiver_claimed() {
        let time = std::time::UNIX_EPOCH;
        let mut event = CloudEvent::new(
            webhook_source("segment"),
            event_type::EVENTS,
            "t",
            "s",
            time,
            (),
        );
        event.id = "evt_1".into();
        let record = event.to_record();
        let head = Head::read(&record.data).unwrap();
        let (name, key) = DeliveryKey::of_record(&head).unwrap();
        assert_eq!(name, "segment");
        assert_eq!(key, DeliveryKey::new("segment", "evt_1"));
        assert_eq!(key.as_str(), "segment/evt_1");
        let writer = CloudEvent::new("/writer", event_type::EVENTS, "t", "s", time, ()).to_record();
        assert_eq!(
            DeliveryKey::of_record(&Head::read(&writer.data).unwrap()),
            None
        );
    }
}
