//! Time as the maintenance core counts it: seconds since the Unix epoch (f64), and days.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const DAY_SECS: f64 = 86_400.0;
/// An average Gregorian month, for "every 12 months" intervals.
pub const MONTH_SECS: f64 = 30.436_875 * DAY_SECS;

pub fn to_secs(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

pub fn from_secs(s: f64) -> SystemTime {
    if !s.is_finite() {
        return UNIX_EPOCH;
    }
    let d = Duration::try_from_secs_f64(s.abs()).unwrap_or(Duration::MAX);
    if s >= 0.0 {
        UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(d).unwrap_or(UNIX_EPOCH)
    }
}

/// The UTC day number of `t` (days since 1970-01-01).
pub fn day_index(t: SystemTime) -> i64 {
    (to_secs(t) / DAY_SECS).floor() as i64
}
