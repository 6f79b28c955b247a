//! One hub connection's protocol state, whatever carries it: frames in,
//! what to send and what to invoke out. A socket of `inlet serve` keeps one
//! for its life; in AWS every frame arrives in its own Lambda invocation, so
//! the connection is [`Connection::per_frame`].

use super::protocol::{self, Framer, HANDSHAKE_OK, Invocation, Message, Parsed, ProtocolError};

/// What a frame asks of the transport, in order.
#[derive(Debug)]
pub enum Event {
    /// Send this text frame to the client.
    Send(String),
    /// Run this invocation (its Completion is sent when it finishes).
    Invoke(Invocation),
    /// Close the connection (after sending what came before).
    Close,
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Connection {
    framer: Framer,
    handshaken: bool,
    per_frame: bool,
}

impl Connection {
    /// A connection whose first message must be the handshake, with
    /// messages of at most `max_message_bytes` allowed to span frames.
    pub fn new(max_message_bytes: usize) -> Self {
        Connection {
            framer: Framer::new(max_message_bytes),
            handshaken: false,
            per_frame: false,
        }
    }

    /// A connection that holds no state between frames (API Gateway invokes
    /// a Lambda per frame): a handshake is answered wherever it comes, and a
    /// message must end within its frame.
    pub fn per_frame(max_message_bytes: usize) -> Self {
        Connection {
            framer: Framer::new(max_message_bytes),
            handshaken: true,
            per_frame: true,
        }
    }

    /// Whether the handshake has been answered.
    pub fn is_open(&self) -> bool {
        self.handshaken
    }

    /// What the text frame `text` asks for.
    pub fn receive(&mut self, text: &str) -> Vec<Event> {
        let mut events = Vec::new();
        let messages = match self.framer.push(text) {
            Ok(messages) => messages,
            Err(e) => return self.fail(events, e),
        };
        if self.per_frame && self.framer.is_partial() {
            let e = ProtocolError("a message must end (0x1E) within its frame".into());
            return self.fail(events, e);
        }
        for text in messages {
            let parsed = match protocol::parse(&text) {
                Ok(parsed) => parsed,
                Err(e) => return self.fail(events, e),
            };
            match parsed {
                Parsed::Handshake if !self.handshaken || self.per_frame => {
                    self.handshaken = true;
                    events.push(Event::Send(HANDSHAKE_OK.to_owned()));
                }
                Parsed::Handshake => {
                    let e = ProtocolError("a second handshake on one connection".into());
                    return self.fail(events, e);
                }
                Parsed::Message(_) if !self.handshaken => {
                    let e = ProtocolError(
                        "the first message must be the handshake {\"protocol\":\"json\",\"version\":1}"
                            .into(),
                    );
                    return self.fail(events, e);
                }
                Parsed::Message(message) => match message {
                    Message::Invocation(invocation) => events.push(Event::Invoke(invocation)),
                    Message::StreamInvocation {
                        invocation_id,
                        target,
                    } => events.push(Event::Send(protocol::completion_error(
                        &invocation_id,
                        &format!(
                            "Failed to invoke '{target}': this hub has no streaming methods; call it with invoke() or send()"
                        ),
                    ))),
                    Message::Close { .. } => {
                        events.push(Event::Close);
                        return events;
                    }
                    // Where the server cannot ping on its own (API Gateway
                    // answers only what the client sends), a ping is answered
                    // with one, so the client's 30 s server timeout is reset
                    // by its own 15 s pings.
                    Message::Ping if self.per_frame => {
                        events.push(Event::Send(protocol::PING.to_owned()));
                    }
                    // Nothing streams, so there is nothing to cancel; pings
                    // only show the client is alive, which the transport
                    // notes for any frame.
                    Message::CancelInvocation | Message::Ping | Message::Other(_) => {}
                },
            }
        }
        events
    }

    fn fail(&mut self, mut events: Vec<Event>, error: ProtocolError) -> Vec<Event> {
        tracing::info!(error = %error, "hub protocol error: closing the connection");
        let message = if self.handshaken {
            protocol::close(Some(&error.0), false)
        } else {
            protocol::handshake_error(&error.0)
        };
        events.push(Event::Send(message));
        events.push(Event::Close);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";

    fn sent(events: &[Event]) -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Send(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_handshake_is_answered_and_messages_after_it_in_the_frame_run() {
        let mut connection = Connection::new(1024);
        let frame = format!(
            "{HANDSHAKE}{}",
            "{\"type\":1,\"invocationId\":\"0\",\"target\":\"X\",\"arguments\":[]}\u{1e}"
        );
        let events = connection.receive(&frame);
        assert!(matches!(&events[0], Event::Send(t) if t == HANDSHAKE_OK));
        assert!(matches!(&events[1], Event::Invoke(i) if i.target == "X"));
        assert!(connection.is_open());
    }

    #[test]
    fn a_message_before_the_handshake_gets_a_handshake_error_and_closes() {
        let mut connection = Connection::new(1024);
        let events = connection.receive("{\"type\":6}\u{1e}");
        assert!(sent(&events)[0].starts_with("{\"error\":\"the first message must be"));
        assert!(matches!(events.last(), Some(Event::Close)));
    }

    #[test]
    fn a_bad_handshake_is_answered_with_its_error() {
        let mut connection = Connection::new(1024);
        let events = connection.receive("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}");
        assert!(sent(&events)[0].contains("messagepack"));
        assert!(matches!(events.last(), Some(Event::Close)));
    }

    #[test]
    fn a_malformed_message_after_the_handshake_closes_with_a_close_message() {
        let mut connection = Connection::new(1024);
        connection.receive(HANDSHAKE);
        let events = connection.receive("{oops}\u{1e}");
        let close = sent(&events)[0];
        assert!(
            close.contains("\"type\":7") && close.contains("a message is not"),
            "{close}"
        );
        assert!(matches!(events.last(), Some(Event::Close)));
    }

    #[test]
    fn a_second_handshake_is_a_protocol_error() {
        let mut connection = Connection::new(1024);
        connection.receive(HANDSHAKE);
        let events = connection.receive(HANDSHAKE);
        assert!(sent(&events)[0].contains("second handshake"));
    }

    #[test]
    fn a_stream_invocation_gets_a_completion_error_and_the_connection_stays() {
        let mut connection = Connection::new(1024);
        connection.receive(HANDSHAKE);
        let events = connection.receive(
            "{\"type\":4,\"invocationId\":\"3\",\"target\":\"Counter\",\"arguments\":[]}\u{1e}",
        );
        assert_eq!(events.len(), 1);
        let completion = sent(&events)[0];
        assert!(
            completion.contains("\"invocationId\":\"3\""),
            "{completion}"
        );
        assert!(completion.contains("no streaming methods"), "{completion}");
    }

    #[test]
    fn ping_cancel_and_unknown_types_need_nothing_and_close_ends() {
        let mut connection = Connection::new(1024);
        connection.receive(HANDSHAKE);
        let events = connection.receive(
            "{\"type\":6}\u{1e}{\"type\":5,\"invocationId\":\"1\"}\u{1e}{\"type\":42}\u{1e}",
        );
        assert!(events.is_empty(), "{events:?}");
        let events = connection.receive("{\"type\":7}\u{1e}{\"type\":6}\u{1e}");
        assert!(matches!(events.as_slice(), [Event::Close]));
    }

    #[test]
    fn a_per_frame_connection_answers_a_handshake_anywhere_pings_back_and_refuses_a_partial_message()
     {
        let mut connection = Connection::per_frame(1024);
        assert!(connection.is_open());
        let events = connection.receive(HANDSHAKE);
        assert_eq!(sent(&events), [HANDSHAKE_OK]);
        let events = connection.receive("{\"type\":6}\u{1e}");
        assert_eq!(sent(&events), [protocol::PING]);
        let events = connection.receive("{\"type\":6}\u{1e}{\"type\"");
        assert!(sent(&events)[0].contains("within its frame"));
        assert!(matches!(events.last(), Some(Event::Close)));
    }
}
