//! One visit for everything: current faults, trend alerts and maintenance due, folded into a
//! single suggestion with urgency, time window, skills, labour, parts and a sentence for the
//! owner. Items due soon ride along with a visit that happens anyway.

use std::time::SystemTime;

use serde::Serialize;

use super::projection::{DueState, ItemStatus, opt_time};
use super::schedule::Schedule;
use super::time::{DAY_SECS, from_secs, to_secs};
use super::trends::{RuleSet, TrendFinding};
use super::{Skill, Urgency};
use crate::diagnosis::Finding;
use crate::dtcdb::Labour;

/// An item due within this many days joins a visit booked for something else.
pub const RIDE_ALONG_DAYS: f64 = 30.0;
/// ... or within this many kilometres.
pub const RIDE_ALONG_KM: f64 = 1500.0;
/// A visit only for items due soon is suggested by their due date, but at most this far out.
const LOW_WINDOW_MAX_DAYS: f64 = 30.0;

/// A current fault, as the appointment needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultInput {
    pub codes: Vec<String>,
    pub title: String,
    pub urgency: Urgency,
    pub skill: Skill,
    pub labour_hours: f64,
}

impl FaultInput {
    pub fn from_finding(f: &Finding<'_>) -> Self {
        FaultInput {
            codes: f.codes.iter().map(ToString::to_string).collect(),
            title: f.title.clone(),
            urgency: f.urgency,
            skill: f.skill,
            labour_hours: labour_hours(f.labour),
        }
    }
}

/// Middle of a labour bucket, for adding up a visit.
pub fn labour_hours(labour: Labour) -> f64 {
    match labour {
        Labour::Under1h => 0.5,
        Labour::OneToTwoHours => 1.5,
        Labour::TwoToFourHours => 3.0,
        Labour::Over4h => 5.0,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub urgency: Urgency,
    #[serde(with = "time")]
    pub window_start: SystemTime,
    #[serde(with = "time")]
    pub window_end: SystemTime,
    pub skills: Vec<Skill>,
    /// Maintenance items, drivers first, then the ones riding along.
    pub items: Vec<String>,
    pub codes: Vec<String>,
    /// Trend rules behind the visit.
    pub trends: Vec<String>,
    pub labour_hours: f64,
    pub parts: Vec<String>,
    /// Items that are not the reason for the visit but are due soon.
    pub ride_along: Vec<String>,
    /// The earliest predicted due date among the items, if any.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub next_due: Option<SystemTime>,
    pub summary: String,
}

mod time {
    use std::time::SystemTime;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }
}

/// Folds everything into one suggestion; `None` when nothing needs a visit.
pub fn suggest(
    now: SystemTime,
    faults: &[FaultInput],
    items: &[ItemStatus],
    trends: &[TrendFinding],
    schedule: &Schedule,
    rules: &RuleSet,
) -> Option<Suggestion> {
    let now_s = to_secs(now);
    let driver_items: Vec<&ItemStatus> = items.iter().filter(|i| i.state != DueState::Ok).collect();
    if faults.is_empty() && trends.is_empty() && driver_items.is_empty() {
        return None;
    }
    let item_urgency = |i: &ItemStatus| match i.state {
        DueState::Overdue | DueState::Due => Urgency::Medium,
        _ => Urgency::Low,
    };
    let urgency = faults
        .iter()
        .map(|f| f.urgency)
        .chain(trends.iter().map(|t| t.urgency))
        .chain(driver_items.iter().map(|i| item_urgency(i)))
        .max()
        .unwrap_or(Urgency::Low);
    let earliest_due = driver_items
        .iter()
        .filter_map(|i| i.predicted_due.map(to_secs))
        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.min(d))));
    let window_days = match urgency {
        Urgency::Critical => 0.5,
        Urgency::High => 2.0,
        Urgency::Medium => 14.0,
        Urgency::Low => earliest_due
            .map_or(LOW_WINDOW_MAX_DAYS, |d| (d - now_s) / DAY_SECS)
            .clamp(1.0, LOW_WINDOW_MAX_DAYS),
    };
    let window_end = now_s + window_days * DAY_SECS;

    let mut item_ids: Vec<String> = Vec::new();
    let push_unique = |list: &mut Vec<String>, v: &str| {
        if !list.iter().any(|x| x == v) {
            list.push(v.to_string());
        }
    };
    for i in &driver_items {
        push_unique(&mut item_ids, &i.item);
    }
    for t in trends {
        if let Some(item) = &t.item {
            push_unique(&mut item_ids, item);
        }
    }
    let mut ride_along = Vec::new();
    for i in items.iter().filter(|i| !item_ids.contains(&i.item)) {
        let soon_date = i
            .predicted_due
            .is_some_and(|d| to_secs(d) - now_s <= RIDE_ALONG_DAYS * DAY_SECS);
        let soon_km = i.remaining_km.is_some_and(|r| r <= RIDE_ALONG_KM);
        if soon_date || soon_km {
            push_unique(&mut ride_along, &i.item);
        }
    }

    let mut codes = Vec::new();
    for f in faults {
        for c in &f.codes {
            push_unique(&mut codes, c);
        }
    }
    for t in trends {
        if let Some(c) = &t.code {
            push_unique(&mut codes, c);
        }
    }

    let mut skills: Vec<Skill> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut labour = 0.0;
    for f in faults {
        skills.push(f.skill);
        labour += f.labour_hours;
    }
    for t in trends {
        skills.push(t.skill);
        if let Some(rule) = rules.rule(&t.rule) {
            // A trend that brings an item forward is that item's job, not extra work.
            if t.item.is_none() {
                labour += rule.labour_hours;
            }
            for p in &rule.parts {
                push_unique(&mut parts, p);
            }
        }
    }
    for id in item_ids.iter().chain(&ride_along) {
        if let Ok(spec) = schedule.item(id) {
            skills.push(spec.skill);
            labour += spec.labour_hours;
            for p in &spec.parts {
                push_unique(&mut parts, p);
            }
        }
    }
    skills.sort();
    skills.dedup();

    let summary = sentence(
        urgency,
        faults,
        trends,
        &driver_items,
        &ride_along,
        schedule,
        rules,
        now_s,
        window_end,
    );
    let next_due = items
        .iter()
        .filter_map(|i| i.predicted_due)
        .filter(|d| to_secs(*d) - now_s <= RIDE_ALONG_DAYS * DAY_SECS)
        .min();
    let mut all_items = item_ids;
    all_items.extend(ride_along.iter().cloned());
    Some(Suggestion {
        urgency,
        window_start: now,
        window_end: from_secs(window_end),
        skills,
        items: all_items,
        codes,
        trends: trends.iter().map(|t| t.rule.clone()).collect(),
        labour_hours: (labour * 10.0).round() / 10.0,
        parts,
        ride_along,
        next_due,
        summary,
    })
}

#[allow(clippy::too_many_arguments)]
fn sentence(
    urgency: Urgency,
    faults: &[FaultInput],
    trends: &[TrendFinding],
    due: &[&ItemStatus],
    ride_along: &[String],
    schedule: &Schedule,
    rules: &RuleSet,
    now_s: f64,
    window_end: f64,
) -> String {
    let name = |id: &str| {
        schedule
            .item(id)
            .map_or(id.to_string(), |s| s.name.to_lowercase())
    };
    // The reason: the worst fault, else the worst trend, else the item due first.
    let worst_fault = faults.iter().max_by_key(|f| f.urgency);
    let worst_trend = trends.iter().max_by_key(|t| t.urgency);
    let reason = match (worst_fault, worst_trend) {
        (Some(f), Some(t)) if t.urgency > f.urgency => trend_reason(t, rules),
        (Some(f), _) => {
            let codes = f.codes.join(", ");
            format!("{} ({codes})", f.title)
        }
        (None, Some(t)) => trend_reason(t, rules),
        (None, None) => {
            let first = due
                .iter()
                .min_by(|a, b| a.predicted_due.cmp(&b.predicted_due));
            match first {
                Some(i) => format!("{} {}", capitalise(&name(&i.item)), due_phrase(i, now_s)),
                None => "Maintenance is due".to_string(),
            }
        }
    };
    let when = match urgency {
        Urgency::Critical => {
            "stop when safe and have the car seen today (tow it if in doubt)".to_string()
        }
        Urgency::High => "book a visit within two days".to_string(),
        Urgency::Medium => "book a visit within two weeks".to_string(),
        Urgency::Low => format!(
            "book a visit before {}",
            humantime::format_rfc3339_seconds(from_secs(window_end))
                .to_string()
                .get(..10)
                .unwrap_or_default()
        ),
    };
    let mut extra: Vec<String> = due
        .iter()
        .map(|i| i.item.clone())
        .chain(ride_along.iter().cloned())
        .filter(|id| !reason.to_lowercase().contains(&name(id)))
        .map(|id| name(&id))
        .collect();
    extra.dedup();
    let tail = if extra.is_empty() {
        String::new()
    } else {
        format!("; the {} can be done at the same time", join_words(&extra))
    };
    format!("{reason}: {when}{tail}.")
}

fn trend_reason(t: &TrendFinding, rules: &RuleSet) -> String {
    match t.rule.as_str() {
        "battery_resting_low" => format!(
            "The 12 V battery is losing charge (rests at {:.2} V)",
            t.value
        ),
        "battery_cranking_weak" => format!(
            "The 12 V battery is weakening (voltage sags to {:.2} V when starting)",
            t.value
        ),
        "charging_voltage_low" | "charging_voltage_high" => {
            format!(
                "The charging system is out of range ({:.1} V running)",
                t.value
            )
        }
        "fuel_trim_lean" | "fuel_trim_rich" => format!(
            "The engine's fuel mixture is drifting (long-term trim {:+.0} %)",
            t.value
        ),
        "warmup_slow" => format!(
            "The engine warms up too slowly ({:.0} min to operating temperature): likely a stuck-open thermostat",
            t.value
        ),
        "coolant_over_temperature" => format!("The engine is running hot ({:.0} degC)", t.value),
        "catalyst_efficiency_falling" => format!(
            "The catalytic converter is ageing (its ECU test at {:.0} % of the limit)",
            t.value
        ),
        "o2_sensor_test_near_limit" => format!(
            "An oxygen sensor is slowing (its ECU test at {:.0} % of the limit)",
            t.value
        ),
        "misfire_counts_rising" => format!(
            "A cylinder has started to misfire ({:.0} misfires per drive cycle on average)",
            t.value
        ),
        "pending_code_repeats" => format!(
            "A fault is developing ({} pending on {} days)",
            t.code.as_deref().unwrap_or("a code"),
            t.samples
        ),
        other => rules
            .rule(other)
            .map_or(other.to_string(), |r| r.explanation.clone()),
    }
}

fn due_phrase(i: &ItemStatus, now_s: f64) -> String {
    match (i.state, i.predicted_due) {
        (DueState::Overdue, _) => "is overdue".into(),
        (DueState::Due, _) => "is due now".into(),
        (_, Some(d)) => {
            let days = ((to_secs(d) - now_s) / DAY_SECS).ceil().max(0.0);
            format!(
                "is due in {days:.0} day{}",
                if days == 1.0 { "" } else { "s" }
            )
        }
        _ => "is due soon".into(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::projection::{Baseline, status};
    use crate::maintenance::schedule::ServiceRecord;

    fn day(d: f64) -> SystemTime {
        from_secs(20_000.0 * DAY_SECS + d * DAY_SECS)
    }

    fn items(odometer: f64, now: SystemTime) -> Vec<ItemStatus> {
        let s = Schedule::embedded();
        let base = Baseline {
            km: Some(40_000.0),
            at: day(0.0),
        };
        let oil = ServiceRecord {
            item: "engine_oil".into(),
            odometer_km: 40_000.0,
            at: day(0.0),
        };
        s.items()
            .iter()
            .map(|spec| {
                let last = (spec.id == "engine_oil").then_some(&oil);
                status(spec, last, base, Some(odometer), now, Some(50.0), 5.0)
            })
            .collect()
    }

    fn misfire() -> FaultInput {
        FaultInput {
            codes: vec!["P0301".into()],
            title: "Cylinder 1 misfire".into(),
            urgency: Urgency::High,
            skill: Skill::Engine,
            labour_hours: 1.5,
        }
    }

    #[test]
    fn nothing_due_and_no_faults_suggests_nothing() {
        let now = day(10.0);
        let s = suggest(
            now,
            &[],
            &items(40_500.0, now),
            &[],
            Schedule::embedded(),
            RuleSet::embedded(),
        );
        assert_eq!(s, None);
    }

    #[test]
    fn a_fault_sets_urgency_and_window_and_the_oil_change_rides_along() {
        let now = day(150.0);
        // 9,200 km driven: 800 km (16 days) left on the oil: not due soon, but it rides along.
        let list = items(49_200.0, now);
        let s = suggest(
            now,
            &[misfire()],
            &list,
            &[],
            Schedule::embedded(),
            RuleSet::embedded(),
        )
        .unwrap();
        assert_eq!(s.urgency, Urgency::High);
        assert_eq!(to_secs(s.window_end) - to_secs(now), 2.0 * DAY_SECS);
        assert_eq!(s.codes, ["P0301"]);
        assert_eq!(s.ride_along, ["engine_oil"]);
        assert_eq!(s.items, ["engine_oil"]);
        assert_eq!(s.skills, [Skill::Engine]);
        assert_eq!(s.labour_hours, 2.0);
        assert!(s.parts.contains(&"oil filter".to_string()));
        assert!(
            s.summary.starts_with("Cylinder 1 misfire (P0301): book a visit within two days; the engine oil and filter can be done"),
            "{}",
            s.summary
        );
    }

    #[test]
    fn an_item_due_soon_alone_is_a_low_urgency_visit_before_its_date() {
        let now = day(150.0);
        let list = items(49_800.0, now);
        let s = suggest(
            now,
            &[],
            &list,
            &[],
            Schedule::embedded(),
            RuleSet::embedded(),
        )
        .unwrap();
        assert_eq!(s.urgency, Urgency::Low);
        assert_eq!(s.items, ["engine_oil"]);
        let days = (to_secs(s.window_end) - to_secs(now)) / DAY_SECS;
        assert!((3.9..4.1).contains(&days), "{days}");
        assert!(
            s.summary
                .starts_with("Engine oil and filter is due in 4 days: book a visit before"),
            "{}",
            s.summary
        );
    }

    #[test]
    fn a_weak_battery_brings_the_battery_item_forward() {
        let now = day(150.0);
        let rules = RuleSet::embedded();
        let rule = rules.rule("battery_cranking_weak").unwrap();
        let t = TrendFinding {
            rule: rule.id.clone(),
            code: None,
            urgency: rule.urgency,
            item: rule.item.clone(),
            skill: rule.skill,
            value: 9.7,
            threshold: rule.threshold,
            samples: 3,
            since: to_secs(now),
            explanation: rule.explanation.clone(),
        };
        let s = suggest(
            now,
            &[],
            &items(45_000.0, now),
            &[t],
            Schedule::embedded(),
            rules,
        )
        .unwrap();
        assert_eq!(
            (s.urgency, s.items.clone()),
            (Urgency::High, vec!["battery".to_string()])
        );
        assert_eq!(s.skills, [Skill::Electrical]);
        assert!(s.summary.contains("9.70 V"), "{}", s.summary);
    }
}
