//! One stored record as the Reader hub sees it: decoded once, by the model,
//! into the Quix message it carries.

use inlet_shared::model::{DecodeError, Envelope, Message};

/// One stored record, decoded once for every subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its topic.
    pub topic: String,
    /// Its stream id (the CloudEvent `subject`).
    pub stream_id: String,
    /// When it was published (the CloudEvent `time`).
    pub time: String,
    /// The Quix message it carries.
    pub message: Message,
    /// The record's size in bytes.
    pub size: usize,
}

impl Item {
    /// Decodes a record of `topic`; `None` for a record that is not a Quix
    /// CloudEvent with a subject and a time (nothing to push).
    pub fn decode(topic: &str, record: &[u8]) -> Option<Item> {
        Self::read(topic, record, |e| e.message())
    }

    /// [`Item::decode`] keeping only what a topic's state needs (the
    /// message's outline), for when nobody listens.
    pub fn summary(topic: &str, record: &[u8]) -> Option<Item> {
        Self::read(topic, record, |e| e.outline())
    }

    fn read(
        topic: &str,
        record: &[u8],
        decode: impl FnOnce(&Envelope<'_>) -> Result<Message, DecodeError>,
    ) -> Option<Item> {
        let envelope = Envelope::read(record).ok()?;
        let message = decode(&envelope).ok()?;
        Some(Item {
            topic: topic.to_owned(),
            stream_id: envelope.subject?.into_owned(),
            time: envelope.time?.into_owned(),
            message,
            size: record.len(),
        })
    }
}
