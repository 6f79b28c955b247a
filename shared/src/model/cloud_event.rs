//! Both directions of a record: a CloudEvents 1.0 structured-mode JSON
//! document written from a Quix message, and read back from its bytes.
//!
//! Inlet writes the attributes in the order of [`CloudEvent`]'s fields, so
//! [`Head::read`] can take `id` and `source` from the first bytes without
//! parsing the (often large) rest; a test holds the encoder to that order.

use std::borrow::Cow;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::message::{DecodeError, Message};
use crate::record::Record;

/// The CloudEvents 1.0 structured-mode JSON document stored as a record's
/// data. `D` is the Quix-shaped payload, serialised in place (no
/// intermediate JSON tree); read back, it is a `serde_json::Value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<D = serde_json::Value> {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Unique id: the provider's delivery id where one exists, else a UUID.
    pub id: String,
    /// Where the event came from, e.g. `/webhooks/segment`.
    pub source: String,
    /// The kind of message, one of [`super::event_type`].
    #[serde(rename = "type")]
    pub ty: String,
    /// The stream id (also the record's partition key).
    pub subject: String,
    /// When Inlet received it (RFC 3339).
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Extension attribute: the Inlet topic.
    pub topic: String,
    /// The Quix-shaped payload.
    pub data: D,
}

impl<D: Serialize> CloudEvent<D> {
    /// A new envelope with a fresh UUID as its id.
    pub fn new(
        source: impl Into<String>,
        ty: &str,
        topic: impl Into<String>,
        subject: impl Into<String>,
        time: SystemTime,
        data: D,
    ) -> Self {
        CloudEvent {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            source: source.into(),
            ty: ty.to_owned(),
            subject: subject.into(),
            time: humantime::format_rfc3339_nanos(time).to_string(),
            datacontenttype: "application/json".to_owned(),
            topic: topic.into(),
            data,
        }
    }

    /// The stream record for this event: partition key = subject (stream id).
    pub fn to_record(&self) -> Record {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // Serialising into a grown-once buffer and copying out makes one
        // allocation of the exact size instead of a chain of reallocations.
        let data = BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            serde_json::to_writer(&mut *buffer, self).expect("a CloudEvent always serialises");
            let data = Bytes::copy_from_slice(buffer);
            if buffer.capacity() > MAX_KEPT_BUFFER {
                *buffer = Vec::new();
            }
            data
        });
        Record {
            partition_key: self.subject.clone(),
            data,
        }
    }
}

/// The most a thread keeps of its encoding buffer between records: the
/// largest record a stream takes.
const MAX_KEPT_BUFFER: usize = crate::record::MAX_RECORD_BYTES;

/// A record read back: its CloudEvent attributes, borrowed from the bytes
/// where they need no unescaping, and its data left undecoded until asked.
/// Only `type` and `data` are required, so a record written by another
/// producer is read as far as it goes.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// The event id.
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    /// Where it came from, e.g. `/webhooks/segment`.
    #[serde(default, borrow)]
    pub source: Option<Cow<'a, str>>,
    /// The CloudEvents type: which Quix message `data` is.
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    /// The stream id.
    #[serde(default, borrow)]
    pub subject: Option<Cow<'a, str>>,
    /// When Inlet received it (RFC 3339).
    #[serde(default, borrow)]
    pub time: Option<Cow<'a, str>>,
    /// The data, as JSON text.
    #[serde(borrow)]
    pub data: &'a RawValue,
}

impl<'a> Envelope<'a> {
    /// Reads the attributes of the CloudEvent in `bytes`.
    pub fn read(bytes: &'a [u8]) -> Result<Envelope<'a>, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError::NotCloudEvent(e.to_string()))
    }

    /// Decodes the Quix message the data is.
    pub fn message(&self) -> Result<Message, DecodeError> {
        Message::decode(&self.ty, self.data.get())
    }

    /// [`Envelope::message`] keeping only its shape (see [`Message::outline`]).
    pub fn outline(&self) -> Result<Message, DecodeError> {
        Message::outline(&self.ty, self.data.get())
    }
}

/// The first two attributes of a record, for the hot path that needs only
/// them (the delivery-id index).
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct Head<'a> {
    /// The event id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Where it came from.
    #[serde(borrow)]
    pub source: Cow<'a, str>,
}

impl<'a> Head<'a> {
    /// The id and source of the CloudEvent in `bytes`: read from its first
    /// bytes when Inlet wrote it, else from the whole document; `None` if it
    /// has neither.
    pub fn read(bytes: &'a [u8]) -> Option<Head<'a>> {
        Self::read_prefix(bytes).or_else(|| serde_json::from_slice(bytes).ok())
    }

    fn read_prefix(bytes: &'a [u8]) -> Option<Head<'a>> {
        let rest = bytes.strip_prefix(br#"{"specversion":"1.0","id":"#)?;
        let (id, used) = first_string(rest)?;
        let rest = rest[used..].strip_prefix(br#","source":"#)?;
        let (source, _) = first_string(rest)?;
        Some(Head { id, source })
    }
}

/// The JSON string at the start of `bytes` and how many bytes it took.
fn first_string(bytes: &[u8]) -> Option<(Cow<'_, str>, usize)> {
    let mut strings = serde_json::Deserializer::from_slice(bytes).into_iter::<Cow<'_, str>>();
    let value = strings.next()?.ok()?;
    Some((value, strings.byte_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventData, event_type};
    use serde_json::json;
    use std::time::SystemTime;

    fn written(source: &str, message: &Message) -> Record {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let data = match message {
            Message::Events(events) => serde_json::to_value(&events[0]).unwrap(),
            Message::ParameterData(data) => serde_json::to_value(data).unwrap(),
            Message::Properties(p) => serde_json::to_value(p).unwrap(),
            Message::Definitions(d) => serde_json::to_value(d).unwrap(),
            Message::End(e) => serde_json::to_value(e).unwrap(),
        };
        CloudEvent::new(source, message.event_type(), "t", "s1", time, data).to_record()
    }

    #[test]
    fn a_written_record_reads_back_as_the_message_it_was_written_from() {
        let event = EventData {
            id: "order".into(),
            timestamp: 5,
            value: "{\"total\":1}".into(),
            tags: [("region".to_owned(), "eu".to_owned())].into(),
        };
        let message = Message::Events(vec![event]);
        let record = written("/writer", &message);
        let envelope = Envelope::read(&record.data).unwrap();
        assert_eq!(envelope.ty, event_type::EVENTS);
        assert_eq!(envelope.subject.as_deref(), Some("s1"));
        assert_eq!(envelope.source.as_deref(), Some("/writer"));
        assert_eq!(
            envelope.time.as_deref(),
            Some("2023-11-14T22:13:20.000000000Z")
        );
        assert_eq!(envelope.message().unwrap(), message);
    }

    #[test]
    fn the_head_is_read_from_the_first_bytes_of_what_the_encoder_writes() {
        for source in [
            "/webhooks/segment",
            "/webhooks/a\"b\\c",
            "/webhooks/ünï\u{7f}",
        ] {
            let record = written(source, &Message::End(Default::default()));
            let doc: serde_json::Value = serde_json::from_slice(&record.data).unwrap();
            let head = Head::read_prefix(&record.data).expect("the fast path applies");
            assert_eq!(head.source, source);
            assert_eq!(head.id, doc["id"].as_str().unwrap());
        }
    }

    #[test]
    fn the_head_of_a_document_in_another_order_is_read_whole() {
        let data = br#"{"source":"/webhooks/x","id":"7","type":"t","data":{}}"#;
        assert_eq!(Head::read_prefix(data), None);
        let head = Head::read(data).unwrap();
        assert_eq!((&*head.id, &*head.source), ("7", "/webhooks/x"));
        assert_eq!(Head::read(b"not json"), None);
        assert_eq!(Head::read(br#"{"id":"7"}"#), None);
    }

    #[test]
    fn a_record_that_is_not_a_cloudevent_is_an_error_naming_why() {
        assert!(matches!(
            Envelope::read(b"not json"),
            Err(DecodeError::NotCloudEvent(_))
        ));
        let other = Envelope::read(br#"{"type":"com.example","data":{}}"#).unwrap();
        assert!(matches!(other.message(), Err(DecodeError::NotQuix(_))));
    }

    #[test]
    fn cloud_event_is_structured_json_with_stream_id_as_partition_key() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let event = CloudEvent::new(
            "/webhooks/segment",
            event_type::EVENTS,
            "webhooks",
            "segment",
            time,
            json!({"id": "track"}),
        );
        let record = event.to_record();
        assert_eq!(record.partition_key, "segment");
        let doc: serde_json::Value = serde_json::from_slice(&record.data).unwrap();
        assert_eq!(doc["specversion"], "1.0");
        assert_eq!(doc["type"], "io.quix.events");
        assert_eq!(doc["subject"], "segment");
        assert_eq!(doc["topic"], "webhooks");
        assert_eq!(doc["time"], "2023-11-14T22:13:20.000000000Z");
        assert_eq!(doc["data"]["id"], "track");
        assert!(uuid::Uuid::parse_str(doc["id"].as_str().unwrap()).is_ok());
        let back: CloudEvent = serde_json::from_slice(&record.data).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&event).unwrap()
        );
    }

    #[test]
    fn the_head_of_a_record_is_read_from_its_first_fields() {
        let now = SystemTime::now();
        let mut event = CloudEvent::new("/webhooks/s", event_type::EVENTS, "t", "k", now, "x");
        event.id = "id \"quoted\" é".to_owned();
        let record = event.to_record();
        let head = Head::read_prefix(&record.data).expect("Inlet's own layout");
        assert_eq!(
            (head.id.as_ref(), head.source.as_ref()),
            ("id \"quoted\" é", "/webhooks/s")
        );
        let other = br#"{"source":"/webhooks/s","id":"a","specversion":"1.0"}"#;
        assert!(Head::read_prefix(other).is_none());
        let head = Head::read(other).unwrap();
        assert_eq!(
            (head.id.as_ref(), head.source.as_ref()),
            ("a", "/webhooks/s")
        );
    }
}
