//! The one clock of the workspace: whole seconds since the Unix epoch.
//!
//! Network functions take a [`Clock`] by injection ([`Clock::system`] in production); the
//! sans-I/O cores never read the time themselves but receive `now` from their caller. Tests
//! use a [`ManualClock`] (settable, advanceable) or [`Clock::fixed`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in whole seconds since the Unix epoch. Cheap to clone; all
/// clones read the same source.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system clock (0 if the system time is before the epoch).
    pub fn system() -> Self {
        Self(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        }))
    }

    /// A clock that always reads `secs`.
    pub fn fixed(secs: u64) -> Self {
        Self(Arc::new(move || secs))
    }

    /// A clock that reads `f`.
    pub fn from_fn(f: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The current time, seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        (self.0)()
    }
}

impl Default for Clock {
    /// The system clock.
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// A clock a test sets and advances by hand; [`ManualClock::clock`] (or `Clock::from`) gives
/// the [`Clock`] to inject. Clones share one time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `secs`.
    pub fn new(secs: u64) -> Self {
        Self(Arc::new(AtomicU64::new(secs)))
    }

    /// The current reading.
    pub fn now_secs(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the reading (it may go back).
    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Moves the reading forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// The [`Clock`] that reads this one.
    pub fn clock(&self) -> Clock {
        let c = self.0.clone();
        Clock::from_fn(move || c.load(Ordering::SeqCst))
    }
}

impl From<&ManualClock> for Clock {
    fn from(m: &ManualClock) -> Self {
        m.clock()
    }
}

impl From<ManualClock> for Clock {
    fn from(m: ManualClock) -> Self {
        m.clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_by_its_clocks() {
        let m = ManualClock::new(100);
        let c = m.clock();
        let c2 = Clock::from(&m).clone();
        assert_eq!((c.now_secs(), c2.now_secs()), (100, 100));
        m.advance(5);
        assert_eq!((c.now_secs(), c2.now_secs(), m.now_secs()), (105, 105, 105));
        m.set(7);
        assert_eq!(c.now_secs(), 7);
    }

    #[test]
    fn fixed_and_system() {
        assert_eq!(Clock::fixed(42).now_secs(), 42);
        // 2023-11-14 or later.
        assert!(Clock::system().now_secs() > 1_700_000_000);
        assert_eq!(format!("{:?}", Clock::default()), "Clock");
    }
}
