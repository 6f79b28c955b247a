//! The event model, both directions: the Quix messages, the CloudEvents
//! 1.0 envelope a record carries (written and read back), and the key a
//! webhook's delivery id is remembered under.

mod cloud_event;
mod key;
mod message;
mod quix;

pub use cloud_event::{CloudEvent, Envelope, Head};
pub use key::{DeliveryKey, webhook_source};
pub use message::{DecodeError, Message, event_type};
pub use quix::{
    Definitions, EndStreamState, EventData, EventDefinition, ParameterData, ParameterDefinition,
    StreamEnd, StreamProperties,
};
