//! Secrets that arrive in a provider's handshake (Notion's
//! `verification_token`), held in memory until the operator takes each one
//! once (console or `inlet handshake-secret`); never logged. A secret held
//! here verifies nothing: it takes effect when the operator puts it in the
//! source's `secrets`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A secret that arrived in a handshake.
#[derive(Clone)]
pub struct Arrived {
    /// The secret, as the provider sent it.
    pub value: String,
    /// When it arrived.
    pub at: SystemTime,
}

impl fmt::Debug for Arrived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arrived")
            .field("value", &"***")
            .field("at", &self.at)
            .finish()
    }
}

/// The secrets waiting for the operator, by source (the latest per source).
#[derive(Debug, Clone, Default)]
pub struct Arrivals(Arc<Mutex<BTreeMap<String, Arrived>>>);

impl Arrivals {
    /// Keeps `value`, which arrived for `source` at `at`.
    pub fn put(&self, source: &str, value: String, at: SystemTime) {
        self.lock().insert(source.to_owned(), Arrived { value, at });
    }

    /// The secret waiting for `source`, removed: it is shown once.
    pub fn take(&self, source: &str) -> Option<Arrived> {
        self.lock().remove(source)
    }

    /// When a secret arrived for `source`, if one is waiting.
    pub fn waiting(&self, source: &str) -> Option<SystemTime> {
        self.lock().get(source).map(|a| a.at)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arrived>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrived_secret_is_taken_once_and_never_shown_in_debug_output() {
        let arrivals = Arrivals::default();
        arrivals.put("notion", "secret_abc".into(), SystemTime::UNIX_EPOCH);
        assert!(!format!("{arrivals:?}").contains("secret_abc"));
        assert_eq!(arrivals.waiting("notion"), Some(SystemTime::UNIX_EPOCH));
        assert_eq!(arrivals.take("notion").unwrap().value, "secret_abc");
        assert!(arrivals.take("notion").is_none());
        assert!(arrivals.waiting("notion").is_none());
    }
}
