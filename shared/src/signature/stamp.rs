//! Signed timestamps: where a scheme finds one, how it is written (Unix
//! seconds or milliseconds, RFC 3339), and the tolerance both ways.

use std::time::{Duration, SystemTime};

use super::SignatureError;
use super::parts::{Check, malformed};
use crate::time::{unix_millis, unix_secs};

/// Where a signed timestamp is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeAt {
    /// A header (lowercase).
    Header(String),
    /// A field of the signature's structured value.
    Field(String),
    /// A JSON pointer into the body.
    Body(String),
}

/// How a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
    /// RFC 3339.
    Rfc3339,
}

/// A signed timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Where it is.
    pub at: TimeAt,
    /// How it is written.
    pub format: TimeFormat,
}

/// Checks a timestamp is within `tolerance` of `now`, both ways.
pub(super) fn check(
    format: TimeFormat,
    text: &str,
    name: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Check<()> {
    let text = text.trim();
    let (at_ms, now_ms) = match format {
        TimeFormat::Seconds => (
            text.parse::<u64>().ok().map(|s| s.saturating_mul(1000)),
            unix_secs(now) * 1000,
        ),
        TimeFormat::Milliseconds => (text.parse::<u64>().ok(), unix_millis(now)),
        TimeFormat::Rfc3339 => (
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()
                .and_then(|t| u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()),
            unix_millis(now),
        ),
    };
    let Some(at_ms) = at_ms else {
        let want = match format {
            TimeFormat::Seconds => "Unix time in seconds",
            TimeFormat::Milliseconds => "Unix time in milliseconds",
            TimeFormat::Rfc3339 => "RFC 3339 time",
        };
        return Err(malformed(name, &format!("timestamp is not a {want}")));
    };
    let off_by = now_ms.abs_diff(at_ms) / 1000;
    let tolerance = tolerance.as_secs();
    if off_by <= tolerance {
        Ok(())
    } else if at_ms < now_ms {
        Err(SignatureError::TooOld { off_by, tolerance })
    } else {
        Err(SignatureError::TooNew { off_by, tolerance })
    }
}

/// The signing time as `format` writes it.
pub(super) fn time_text(format: TimeFormat, now: SystemTime) -> String {
    match format {
        TimeFormat::Seconds => unix_secs(now).to_string(),
        TimeFormat::Milliseconds => unix_millis(now).to_string(),
        TimeFormat::Rfc3339 => humantime::format_rfc3339_nanos(now).to_string(),
    }
}
