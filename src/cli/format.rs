//! Plain-text rendering of readings for people; `--json` output uses serde directly.

use crate::obd::pid::{PidReading, Value, ValueKind};

/// A number as a person reads it: no trailing zeros, at most two decimals (sensor
/// resolution is coarser than that for nearly every PID).
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn value(value: &Value) -> String {
    let text = match &value.value {
        ValueKind::Number(n) => number(*n),
        ValueKind::Text(t) => t.clone(),
        ValueKind::Flag(f) => if *f { "yes" } else { "no" }.to_string(),
    };
    if value.unit.is_empty() {
        text
    } else {
        format!("{text} {}", value.unit)
    }
}

/// `Engine speed: 1726 rpm`, or `O2 sensor: voltage 0.45 V, trim 3.1 %` for several values.
pub fn reading(reading: &PidReading) -> String {
    match reading.values.as_slice() {
        [single] => format!("{}: {}", reading.name, value(single)),
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|v| format!("{} {}", v.key.replace('_', " "), value(v)))
                .collect();
            format!("{}: {}", reading.name, parts.join(", "))
        }
    }
}

pub fn json_line(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_without_noise() {
        assert_eq!(number(1726.0), "1726");
        assert_eq!(number(0.455), "0.46");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(14.25), "14.25");
        assert_eq!(number(-40.0), "-40");
        assert_eq!(number(3.0000001), "3");
    }
}
