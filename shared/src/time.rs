//! Time as Inlet writes it: Unix seconds, milliseconds and nanoseconds, and
//! the one jittered back-off every retry loop uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;

/// Whole seconds since the Unix epoch (0 before it).
pub fn unix_secs(time: SystemTime) -> u64 {
    since_epoch(time).as_secs()
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_millis(time: SystemTime) -> u64 {
    u64::try_from(since_epoch(time).as_millis()).unwrap_or(u64::MAX)
}

/// Nanoseconds since the Unix epoch, as Quix timestamps are.
pub fn unix_nanos(time: SystemTime) -> i64 {
    i64::try_from(since_epoch(time).as_nanos()).unwrap_or(i64::MAX)
}

fn since_epoch(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Exponential back-off with jitter: before retry `n` (1-based) the ceiling
/// is `base * 2^n`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling before the first retry is twice this.
    pub base: Duration,
    /// The largest ceiling.
    pub max: Duration,
    /// How the wait is drawn under the ceiling.
    pub jitter: Jitter,
}

/// How a back-off wait is drawn under its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Anywhere from zero to the ceiling (spreads retries of many clients).
    Full,
    /// From half the ceiling to the ceiling (never retries at once).
    Equal,
}

impl Backoff {
    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << retry.min(16)).min(self.max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let floor = match self.jitter {
            Jitter::Full => 0,
            Jitter::Equal => millis / 2,
        };
        Duration::from_millis(rand::rng().random_range(floor..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_agree_and_clamp_before_the_epoch() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(unix_secs(t), 1_700_000_000);
        assert_eq!(unix_millis(t), 1_700_000_000_123);
        assert_eq!(unix_nanos(t), 1_700_000_000_123_000_000);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!((unix_secs(before), unix_nanos(before)), (0, 0));
    }

    #[test]
    fn backoff_stays_under_its_doubling_ceiling_and_the_cap() {
        for jitter in [Jitter::Full, Jitter::Equal] {
            let backoff = Backoff {
                base: Duration::from_millis(50),
                max: Duration::from_secs(2),
                jitter,
            };
            for retry in 1..40 {
                let ceiling = Duration::from_millis(50)
                    .saturating_mul(1 << retry.min(16))
                    .min(Duration::from_secs(2));
                let delay = backoff.delay(retry);
                assert!(delay <= ceiling);
                if jitter == Jitter::Equal {
                    assert!(delay >= ceiling / 2, "{delay:?} under half of {ceiling:?}");
                }
            }
        }
    }
}
