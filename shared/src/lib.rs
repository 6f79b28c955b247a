//! Inlet's shared crate: the event model, webhook signature verification,
//! the configuration, the one error type and the stream sinks.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod model;
pub mod signature;
pub mod sink;

pub use config::Config;
pub use error::{Error, Result};
