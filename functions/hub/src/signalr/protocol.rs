//! The SignalR JSON hub protocol, version 1: messages framed by the 0x1E
//! record separator, the handshake, and the messages a server reads and
//! writes (dotnet/aspnetcore `src/SignalR/docs/specs/HubProtocol.md`).
//!
//! Hand-written: no maintained Rust crate serves the hub protocol (the one
//! server crate, `signalrs`, is unfinished and tied to axum 0.5).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Ends every JSON message of the protocol.
pub const RECORD_SEPARATOR: char = '\u{1e}';

/// The server's answer to a good handshake.
pub const HANDSHAKE_OK: &str = "{}\u{1e}";

/// A Ping message, the server's keep-alive.
pub const PING: &str = "{\"type\":6}\u{1e}";

/// A message that breaks the protocol: the connection is closed with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

/// A message from a client.
#[derive(Debug)]
pub enum Message {
    /// A call of a hub method (type 1).
    Invocation(Invocation),
    /// A call that streams its results (type 4), which this hub does not
    /// serve; it is answered with a Completion error.
    StreamInvocation {
        /// The id to complete.
        invocation_id: String,
        /// The method called.
        target: String,
    },
    /// A client asks to cancel a streaming call (type 5).
    CancelInvocation,
    /// A keep-alive (type 6).
    Ping,
    /// The client closes the connection (type 7).
    Close {
        /// Why, if it says.
        error: Option<String>,
    },
    /// A message a server need not act on: a stream item or completion sent
    /// by the client, an ack or sequence message (stateful reconnect is never
    /// offered), or a type this server does not know.
    Other(u64),
}

/// A call of a hub method.
#[derive(Debug)]
pub struct Invocation {
    /// Present when the caller awaits a Completion; absent for `send()`.
    pub invocation_id: Option<String>,
    /// The method's name.
    pub target: String,
    /// The arguments, as sent.
    pub arguments: Vec<Box<RawValue>>,
    /// The size of the message in bytes, for the hub's limit.
    pub size: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(rename = "type")]
    ty: Option<u64>,
    invocation_id: Option<String>,
    target: Option<String>,
    arguments: Option<Vec<Box<RawValue>>>,
    stream_ids: Option<Vec<String>>,
    error: Option<String>,
    // The handshake's fields; `headers` and others are ignored.
    protocol: Option<String>,
    version: Option<u64>,
}

/// One parsed message: a handshake request or a hub message.
#[derive(Debug)]
pub enum Parsed {
    /// `{"protocol":"json","version":1}`, checked.
    Handshake,
    /// A hub message.
    Message(Message),
}

/// Parses one message (without its separator).
pub fn parse(text: &str) -> Result<Parsed, ProtocolError> {
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| ProtocolError(format!("a message is not a hub protocol JSON object: {e}")))?;
    let Some(ty) = raw.ty else {
        return match (raw.protocol, raw.version) {
            (Some(protocol), Some(version)) => handshake(&protocol, version),
            _ => Err(ProtocolError(
                "a message has no \"type\" (and is not a handshake request)".into(),
            )),
        };
    };
    let message = match ty {
        1 | 4 => {
            let target = raw
                .target
                .ok_or_else(|| ProtocolError("an invocation has no \"target\"".into()))?;
            let arguments = raw.arguments.ok_or_else(|| {
                ProtocolError(format!("the invocation of {target:?} has no \"arguments\""))
            })?;
            if ty == 4 {
                let invocation_id = raw.invocation_id.ok_or_else(|| {
                    ProtocolError("a stream invocation has no \"invocationId\"".into())
                })?;
                Message::StreamInvocation {
                    invocation_id,
                    target,
                }
            } else if raw.stream_ids.is_some_and(|ids| !ids.is_empty()) {
                // Client-to-server streams: not served. Refused by name rather
                // than waiting forever for items the hub would never read.
                return Err(ProtocolError(format!(
                    "the invocation of {target:?} streams arguments, which this hub does not accept"
                )));
            } else {
                Message::Invocation(Invocation {
                    invocation_id: raw.invocation_id,
                    target,
                    arguments,
                    size: text.len(),
                })
            }
        }
        5 => Message::CancelInvocation,
        6 => Message::Ping,
        7 => Message::Close { error: raw.error },
        other => Message::Other(other),
    };
    Ok(Parsed::Message(message))
}

fn handshake(protocol: &str, version: u64) -> Result<Parsed, ProtocolError> {
    if protocol != "json" {
        return Err(ProtocolError(format!(
            "the requested protocol {protocol:?} is not available: this hub speaks \"json\""
        )));
    }
    if version != 1 {
        return Err(ProtocolError(format!(
            "the requested protocol version {version} is not available: this hub speaks json version 1"
        )));
    }
    Ok(Parsed::Handshake)
}

/// The answer to a failed handshake; the server closes after sending it.
pub fn handshake_error(error: &str) -> String {
    frame(&serde_json::json!({ "error": error }))
}

/// A Completion of `invocation_id` with a result (or none, for a method
/// that returns nothing).
pub fn completion<T: Serialize>(invocation_id: &str, result: Option<&T>) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Completion<'a, T> {
        #[serde(rename = "type")]
        ty: u8,
        invocation_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a T>,
    }
    frame(&Completion {
        ty: 3,
        invocation_id,
        result,
    })
}

/// A Completion of `invocation_id` with an error.
pub fn completion_error(invocation_id: &str, error: &str) -> String {
    frame(&serde_json::json!({ "type": 3, "invocationId": invocation_id, "error": error }))
}

/// A Close message; a client that reconnects automatically does so when
/// `allow_reconnect` is set.
pub fn close(error: Option<&str>, allow_reconnect: bool) -> String {
    let mut message = serde_json::json!({ "type": 7 });
    if let Some(error) = error {
        message["error"] = error.into();
    }
    if allow_reconnect {
        message["allowReconnect"] = true.into();
    }
    frame(&message)
}

/// A server-to-client call of the client's `target` handler (no
/// invocation id: clients do not answer it).
pub fn invocation<T: Serialize>(target: &str, arguments: &T) -> String {
    frame(&serde_json::json!({ "type": 1, "target": target, "arguments": arguments }))
}

fn frame<T: Serialize>(message: &T) -> String {
    let mut text = serde_json::to_string(message).expect("a hub message serializes");
    text.push(RECORD_SEPARATOR);
    text
}

/// Collects the messages of a connection from its text frames: a frame may
/// hold several messages, and a message may span frames.
#[derive(Debug)]
pub struct Framer {
    pending: String,
    max_message_bytes: usize,
}

impl Framer {
    /// A framer that refuses a message over `max_message_bytes` still
    /// without its separator (a whole message's size is the hub's to judge).
    pub fn new(max_message_bytes: usize) -> Self {
        Framer {
            pending: String::new(),
            max_message_bytes,
        }
    }

    /// The whole messages completed by `text`, without separators; what
    /// follows the last separator is kept for the next frame.
    pub fn push(&mut self, text: &str) -> Result<Vec<String>, ProtocolError> {
        let mut messages = Vec::new();
        let mut rest = text;
        while let Some(end) = rest.find(RECORD_SEPARATOR) {
            let (message, after) = rest.split_at(end);
            if self.pending.is_empty() {
                messages.push(message.to_owned());
            } else {
                self.pending.push_str(message);
                messages.push(std::mem::take(&mut self.pending));
            }
            rest = &after[RECORD_SEPARATOR.len_utf8()..];
        }
        self.pending.push_str(rest);
        if self.pending.len() > self.max_message_bytes {
            return Err(ProtocolError(format!(
                "a message passed {} bytes without its end (0x1E)",
                self.max_message_bytes
            )));
        }
        Ok(messages)
    }

    /// Whether part of a message is waiting for its end.
    pub fn is_partial(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation_of(text: &str) -> Invocation {
        match parse(text).unwrap() {
            Parsed::Message(Message::Invocation(i)) => i,
            other => panic!("not an invocation: {other:?}"),
        }
    }

    #[test]
    fn a_frame_with_several_messages_yields_each() {
        let mut framer = Framer::new(1024);
        let messages = framer.push("{\"type\":6}\u{1e}{\"type\":6}\u{1e}").unwrap();
        assert_eq!(messages, ["{\"type\":6}", "{\"type\":6}"]);
        assert!(!framer.is_partial());
    }

    #[test]
    fn a_message_split_across_frames_is_joined() {
        let mut framer = Framer::new(1024);
        assert!(framer.push("{\"type\"").unwrap().is_empty());
        assert!(framer.is_partial());
        let messages = framer.push(":6}\u{1e}{\"ty").unwrap();
        assert_eq!(messages, ["{\"type\":6}"]);
        assert_eq!(framer.push("pe\":6}\u{1e}").unwrap(), ["{\"type\":6}"]);
    }

    #[test]
    fn an_unended_message_over_the_limit_is_a_protocol_error() {
        let mut framer = Framer::new(8);
        let err = framer.push("{\"type\":6, \"x\": 1").unwrap_err();
        assert!(err.0.contains("without its end"), "{err}");
    }

    #[test]
    fn the_handshake_must_ask_for_json_version_1() {
        assert!(matches!(
            parse(r#"{"protocol":"json","version":1}"#),
            Ok(Parsed::Handshake)
        ));
        let err = parse(r#"{"protocol":"messagepack","version":1}"#).unwrap_err();
        assert!(err.0.contains("messagepack"), "{err}");
        let err = parse(r#"{"protocol":"json","version":2}"#).unwrap_err();
        assert!(err.0.contains("version 2"), "{err}");
        assert!(parse(r#"{"hello":1}"#).is_err());
    }

    #[test]
    fn an_invocation_keeps_its_id_target_and_raw_arguments() {
        // As the JS client sends it: JSON.stringify puts `type` last.
        let text = r#"{"arguments":["t","s",[{"id":"a","timestamp":1}]],"invocationId":"0","target":"SendEventData","type":1}"#;
        let invocation = invocation_of(text);
        assert_eq!(invocation.invocation_id.as_deref(), Some("0"));
        assert_eq!(invocation.target, "SendEventData");
        assert_eq!(invocation.arguments.len(), 3);
        assert_eq!(
            invocation.arguments[2].get(),
            r#"[{"id":"a","timestamp":1}]"#
        );
        assert_eq!(invocation.size, text.len());
    }

    #[test]
    fn a_send_has_no_invocation_id_and_headers_are_ignored() {
        let invocation =
            invocation_of(r#"{"type":1,"headers":{"a":"b"},"target":"X","arguments":[]}"#);
        assert_eq!(invocation.invocation_id, None);
    }

    #[test]
    fn every_message_type_is_recognised() {
        let kind = |text: &str| match parse(text).unwrap() {
            Parsed::Message(m) => format!("{m:?}"),
            Parsed::Handshake => "handshake".into(),
        };
        assert!(
            kind(r#"{"type":4,"invocationId":"1","target":"T","arguments":[]}"#)
                .starts_with("StreamInvocation")
        );
        assert_eq!(kind(r#"{"type":5,"invocationId":"1"}"#), "CancelInvocation");
        assert_eq!(kind(r#"{"type":6}"#), "Ping");
        assert_eq!(
            kind(r#"{"type":7,"error":"bye"}"#),
            "Close { error: Some(\"bye\") }"
        );
        assert_eq!(
            kind(r#"{"type":2,"invocationId":"1","item":1}"#),
            "Other(2)"
        );
        assert_eq!(
            kind(r#"{"type":3,"invocationId":"1","result":1}"#),
            "Other(3)"
        );
        assert_eq!(kind(r#"{"type":99}"#), "Other(99)");
    }

    #[test]
    fn malformed_messages_are_protocol_errors_naming_the_problem() {
        let cases = [
            ("not json", "not a hub protocol JSON object"),
            ("[1,2]", "not a hub protocol JSON object"),
            (r#"{"target":"X"}"#, "no \"type\""),
            (r#"{"type":1,"arguments":[]}"#, "no \"target\""),
            (r#"{"type":1,"target":"X"}"#, "no \"arguments\""),
            (
                r#"{"type":"1","target":"X","arguments":[]}"#,
                "invalid type",
            ),
            (
                r#"{"type":4,"target":"X","arguments":[]}"#,
                "no \"invocationId\"",
            ),
            (
                r#"{"type":1,"target":"X","arguments":[],"streamIds":["1"]}"#,
                "streams arguments",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.0.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn server_messages_are_framed_json() {
        assert_eq!(
            completion("7", Some(&serde_json::json!({"streamId": "s"}))),
            "{\"type\":3,\"invocationId\":\"7\",\"result\":{\"streamId\":\"s\"}}\u{1e}"
        );
        assert_eq!(
            completion::<()>("7", None),
            "{\"type\":3,\"invocationId\":\"7\"}\u{1e}"
        );
        let error: serde_json::Value =
            serde_json::from_str(completion_error("8", "no").trim_end_matches('\u{1e}')).unwrap();
        assert_eq!(
            error,
            serde_json::json!({"type": 3, "invocationId": "8", "error": "no"})
        );
        assert_eq!(close(None, false), "{\"type\":7}\u{1e}");
        let closing: serde_json::Value =
            serde_json::from_str(close(Some("bye"), true).trim_end_matches('\u{1e}')).unwrap();
        assert_eq!(
            closing,
            serde_json::json!({"type": 7, "error": "bye", "allowReconnect": true})
        );
        assert_eq!(handshake_error("bad"), "{\"error\":\"bad\"}\u{1e}");
        let call: serde_json::Value =
            serde_json::from_str(invocation("PackageReceived", &[1]).trim_end_matches('\u{1e}'))
                .unwrap();
        assert_eq!(
            call,
            serde_json::json!({"type": 1, "target": "PackageReceived", "arguments": [1]})
        );
        assert!(PING.ends_with(RECORD_SEPARATOR) && HANDSHAKE_OK == "{}\u{1e}");
    }
}
