//! SignalR, transport-neutral: the JSON hub protocol and its framing
//! ([`protocol`]), one connection's protocol state ([`connection`]) and
//! negotiation with stateless connection tokens ([`negotiate`]). The local
//! socket of `inlet serve` and API Gateway's WebSocket API both carry it.

pub mod connection;
pub mod negotiate;
pub mod protocol;

pub use connection::{Connection, Event};
pub use negotiate::{ConnectionTokens, TokenError};
pub use protocol::{Invocation, ProtocolError};

/// The most a hub message may hold locally before it is refused with a
/// Completion error (ASP.NET Core's default is 32 KB; API Gateway's
/// WebSocket API closes frames over 32 KB itself).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
