//! The configuration a process runs with, swappable while it runs: a
//! request takes the current one when it starts and keeps it to the end,
//! and a reload replaces it for the requests after. What a function builds
//! from it (hashed tokens, the writer core) is a [`Derived`], rebuilt once
//! after each swap, on first use.
//!
//! `arc-swap` makes the read a pair of atomic operations, with no lock a
//! reload could hold up.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::Config;
use super::reload::{Load, Reloader};

/// The current configuration, shared by every clone of the handle.
#[derive(Clone)]
pub struct ConfigHandle {
    current: Arc<ArcSwap<Config>>,
    reloader: Option<Arc<Reloader>>,
}

impl ConfigHandle {
    /// A handle whose configuration is `config` until replaced.
    pub fn new(config: Arc<Config>) -> Self {
        ConfigHandle {
            current: Arc::new(ArcSwap::new(config)),
            reloader: None,
        }
    }

    /// The same handle, loading its configuration again through `load`
    /// once it is older than `ttl` ([`ConfigHandle::fresh`]) or after a
    /// mismatch ([`ConfigHandle::reload_after_mismatch`]).
    pub fn reloading(mut self, load: Arc<dyn Load>, ttl: Duration) -> Self {
        self.reloader = Some(Arc::new(Reloader::new(load, ttl)));
        self
    }

    /// The configuration now; a request keeps what it took.
    pub fn current(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// The configuration now, loaded again first if it has outlived its
    /// time to live (a handle that does not reload: [`ConfigHandle::current`]).
    pub async fn fresh(&self) -> Arc<Config> {
        if let Some(reloader) = &self.reloader {
            reloader.if_stale(self).await;
        }
        self.current()
    }

    /// After a signature or token matched none of the secrets: loads the
    /// configuration again (at most once per 30 s), so a rotated secret
    /// applies to this very request. Whether a new one was loaded.
    pub async fn reload_after_mismatch(&self) -> bool {
        match &self.reloader {
            Some(reloader) => reloader.after_mismatch(self).await,
            None => false,
        }
    }

    /// Makes `config` (already validated) the configuration of what starts
    /// from now on.
    pub fn replace(&self, config: Arc<Config>) {
        self.current.store(config);
    }
}

impl From<Arc<Config>> for ConfigHandle {
    fn from(config: Arc<Config>) -> Self {
        ConfigHandle::new(config)
    }
}

impl std::fmt::Debug for ConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle").finish_non_exhaustive()
    }
}

struct Built<T> {
    from: Arc<Config>,
    value: Arc<T>,
}

/// A value built from the configuration, rebuilt after the configuration
/// is replaced.
pub struct Derived<T> {
    config: ConfigHandle,
    built: ArcSwap<Built<T>>,
    build: Box<dyn Fn(Arc<Config>) -> T + Send + Sync>,
}

impl<T> Derived<T> {
    /// `build` applied to `config`'s current configuration, now and after
    /// each replacement.
    pub fn new(
        config: ConfigHandle,
        build: impl Fn(Arc<Config>) -> T + Send + Sync + 'static,
    ) -> Self {
        let from = config.current();
        let value = Arc::new(build(from.clone()));
        Derived {
            config,
            built: ArcSwap::from_pointee(Built { from, value }),
            build: Box::new(build),
        }
    }

    /// The value for the current configuration.
    pub fn current(&self) -> Arc<T> {
        let config = self.config.current.load();
        let built = self.built.load();
        if Arc::ptr_eq(&built.from, &config) {
            return built.value.clone();
        }
        // Two requests may both rebuild after a swap; either result is
        // the same value.
        let from = arc_swap::Guard::into_inner(config);
        let value = Arc::new((self.build)(from.clone()));
        self.built.store(Arc::new(Built {
            from,
            value: value.clone(),
        }));
        value
    }

    /// The handle it follows.
    pub fn config(&self) -> &ConfigHandle {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Load for Counting {
        async fn load(&self) -> Result<Config, crate::config::ConfigError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Config {
                dedupe_table: Some(format!("loaded-{n}")),
                ..Config::default()
            })
        }
    }

    #[tokio::test]
    async fn a_reloading_handle_loads_after_its_ttl_and_once_per_pause_after_a_mismatch() {
        let loads = Arc::new(Counting(AtomicUsize::new(0)));
        let handle = ConfigHandle::new(config("start")).reloading(loads.clone(), Duration::ZERO);
        assert_eq!(
            handle.fresh().await.dedupe_table.as_deref(),
            Some("loaded-0")
        );
        let fresh =
            ConfigHandle::new(config("start")).reloading(loads.clone(), Duration::from_secs(3600));
        assert_eq!(fresh.fresh().await.dedupe_table.as_deref(), Some("start"));
        assert!(fresh.reload_after_mismatch().await);
        assert_eq!(fresh.current().dedupe_table.as_deref(), Some("loaded-1"));
        assert!(
            !fresh.reload_after_mismatch().await,
            "at most once per 30 s"
        );
        assert_eq!(loads.0.load(Ordering::SeqCst), 2);
        assert!(!ConfigHandle::new(config("x")).reload_after_mismatch().await);
    }

    fn config(dedupe_table: &str) -> Arc<Config> {
        Arc::new(Config {
            dedupe_table: Some(dedupe_table.to_owned()),
            ..Config::default()
        })
    }

    #[test]
    fn a_replaced_configuration_is_what_the_next_reader_takes() {
        let handle = ConfigHandle::new(config("a"));
        let taken = handle.current();
        handle.clone().replace(config("b"));
        assert_eq!(
            taken.dedupe_table.as_deref(),
            Some("a"),
            "a reader keeps what it took"
        );
        assert_eq!(handle.current().dedupe_table.as_deref(), Some("b"));
    }

    #[test]
    fn a_derived_value_is_built_once_per_configuration() {
        let handle = ConfigHandle::new(config("a"));
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let derived = Derived::new(handle.clone(), move |config| {
            counted.fetch_add(1, Ordering::Relaxed);
            config.dedupe_table.clone().unwrap()
        });
        assert_eq!(*derived.current(), "a");
        assert_eq!(*derived.current(), "a");
        assert_eq!(builds.load(Ordering::Relaxed), 1);
        handle.replace(config("b"));
        assert_eq!(*derived.current(), "b");
        assert_eq!(*derived.current(), "b");
        assert_eq!(builds.load(Ordering::Relaxed), 2);
    }
}
