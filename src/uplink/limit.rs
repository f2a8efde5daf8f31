//! Rate limiting for telemetry snapshots: live data changes every second, the service centre
//! needs a snapshot every few minutes, and a mobile link is paid by the byte.

use std::time::{Duration, Instant};

/// Lets one event through per `min_interval`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    min_interval: Duration,
    last: Option<Instant>,
}

impl RateLimit {
    pub fn new(min_interval: Duration) -> Self {
        RateLimit {
            min_interval,
            last: None,
        }
    }

    /// True (and the time is recorded) if at least `min_interval` has passed since the last
    /// event let through; the caller passes `now` so tests need no clock.
    pub fn allow(&mut self, now: Instant) -> bool {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval);
        if due {
            self.last = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_interval() {
        let start = Instant::now();
        let mut limit = RateLimit::new(Duration::from_secs(60));
        assert!(limit.allow(start));
        assert!(!limit.allow(start + Duration::from_secs(59)));
        assert!(limit.allow(start + Duration::from_secs(60)));
        assert!(!limit.allow(start + Duration::from_secs(100)));
        // A clock that goes backwards does not open the gate.
        assert!(!limit.allow(start));
    }
}
