//! Trend rules over evidence: `maintenance-db/trends.toml`, one rule per line of reasoning, each
//! with a threshold, a clearing threshold (hysteresis), the evidence it needs and an
//! explanation.
//!
//! A rule's statistic is the median of its latest `min_samples` observations within
//! `window_days`: one odd trip moves a median of three or five very little, so a healthy
//! vehicle raises nothing, while a steady drift crosses the threshold within a few trips of
//! really getting there. `pending_code` counts the distinct days the same code was pending.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::evidence::{Observation, Signal, median};
use super::time::DAY_SECS;
use super::{MaintError, Skill, Urgency, UrgencyKey, parse_skill};

const FILE: &str = "maintenance-db/trends.toml";
const EMBEDDED: &str = include_str!("../../maintenance-db/trends.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    Above,
    Below,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub signal: Signal,
    pub when: When,
    pub threshold: f64,
    pub clear: f64,
    pub min_samples: usize,
    pub window_days: f64,
    pub urgency: Urgency,
    pub item: Option<String>,
    pub skill: Skill,
    pub labour_hours: f64,
    pub parts: Vec<String>,
    pub explanation: String,
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    signal: String,
    when: When,
    threshold: f64,
    clear: f64,
    min_samples: usize,
    window_days: f64,
    urgency: UrgencyKey,
    item: Option<String>,
    skill: String,
    labour_hours: f64,
    #[serde(default)]
    parts: Vec<String>,
    explanation: String,
    source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// A rule that holds now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendFinding {
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub urgency: Urgency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub skill: Skill,
    /// The statistic that crossed the threshold.
    pub value: f64,
    pub threshold: f64,
    pub samples: usize,
    /// Unix seconds when it was first raised.
    pub since: f64,
    pub explanation: String,
}

/// Which rules are raised, and since when: what the hysteresis remembers between polls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleStates {
    /// rule id (plus `:code` for pending codes) → when raised and the last value.
    pub active: BTreeMap<String, Raised>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    /// Unix s.
    pub since: f64,
    pub value: f64,
}

impl RuleSet {
    pub fn embedded() -> &'static RuleSet {
        static TABLE: OnceLock<RuleSet> = OnceLock::new();
        TABLE.get_or_init(|| RuleSet::parse(EMBEDDED).unwrap_or(RuleSet { rules: Vec::new() }))
    }

    pub fn parse(text: &str) -> Result<RuleSet, MaintError> {
        let table = |message: String| MaintError::Table {
            file: FILE,
            message,
        };
        let raw: RawTable = toml::from_str(text).map_err(|e| table(e.to_string()))?;
        let mut rules = Vec::new();
        for r in raw.rule {
            let signal = Signal::parse(&r.signal)
                .ok_or_else(|| table(format!("rule {}: unknown signal {:?}", r.id, r.signal)))?;
            let hysteresis_ok = match r.when {
                When::Above => r.clear <= r.threshold,
                When::Below => r.clear >= r.threshold,
            };
            if !hysteresis_ok
                || r.min_samples == 0
                || r.window_days.is_nan()
                || r.window_days <= 0.0
            {
                return Err(table(format!(
                    "rule {}: clear must lie on the healthy side of threshold, min_samples >= 1, window_days > 0",
                    r.id
                )));
            }
            rules.push(Rule {
                skill: parse_skill(FILE, &r.skill)?,
                id: r.id,
                signal,
                when: r.when,
                threshold: r.threshold,
                clear: r.clear,
                min_samples: r.min_samples,
                window_days: r.window_days,
                urgency: r.urgency.into(),
                item: r.item,
                labour_hours: r.labour_hours,
                parts: r.parts,
                explanation: r.explanation,
                source: r.source,
            });
        }
        Ok(RuleSet { rules })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Evaluates every rule over `observations` (any order) at `now` (unix s), updating the
    /// hysteresis `states`; returns the rules that hold.
    pub fn evaluate(
        &self,
        observations: &[Observation],
        now: f64,
        states: &mut RuleStates,
    ) -> Vec<TrendFinding> {
        let mut findings = Vec::new();
        for rule in &self.rules {
            let from = now - rule.window_days * DAY_SECS;
            let mut recent: Vec<&Observation> = observations
                .iter()
                .filter(|o| o.signal == rule.signal && o.at >= from && o.at <= now)
                .collect();
            recent.sort_by(|a, b| a.at.total_cmp(&b.at));
            if rule.signal == Signal::PendingCode {
                self.pending(rule, &recent, now, states, &mut findings);
                continue;
            }
            let key = rule.id.clone();
            if recent.len() < rule.min_samples {
                // Not enough evidence either way: an active alert stays until evidence clears it.
                if let Some(r) = states.active.get(&key) {
                    findings.push(finding(rule, None, r.value, recent.len(), r.since));
                }
                continue;
            }
            let latest: Vec<f64> = recent[recent.len() - rule.min_samples..]
                .iter()
                .map(|o| o.value)
                .collect();
            let value = median(latest);
            let beyond = |limit: f64| match rule.when {
                When::Above => value > limit,
                When::Below => value < limit,
            };
            let active = match states.active.get(&key) {
                Some(_) => beyond(rule.clear) || value == rule.clear,
                None => beyond(rule.threshold),
            };
            if active {
                let raised = states
                    .active
                    .entry(key)
                    .or_insert(Raised { since: now, value });
                raised.value = value;
                findings.push(finding(rule, None, value, rule.min_samples, raised.since));
            } else {
                states.active.remove(&key);
            }
        }
        findings.sort_by(|a, b| b.urgency.cmp(&a.urgency).then(a.rule.cmp(&b.rule)));
        findings
    }

    fn pending(
        &self,
        rule: &Rule,
        recent: &[&Observation],
        now: f64,
        states: &mut RuleStates,
        findings: &mut Vec<TrendFinding>,
    ) {
        let mut days: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        for o in recent {
            if let Some(code) = &o.code {
                days.entry(code)
                    .or_default()
                    .insert((o.at / DAY_SECS).floor() as i64);
            }
        }
        let prefix = format!("{}:", rule.id);
        // Codes no longer seen in the window clear.
        states
            .active
            .retain(|k, _| !k.starts_with(&prefix) || days.contains_key(&k[prefix.len()..]));
        for (code, seen) in days {
            let key = format!("{prefix}{code}");
            if seen.len() >= rule.min_samples || states.active.contains_key(&key) {
                let value = seen.len() as f64;
                let raised = states
                    .active
                    .entry(key)
                    .or_insert(Raised { since: now, value });
                raised.value = value;
                findings.push(finding(rule, Some(code), value, seen.len(), raised.since));
            }
        }
    }
}

fn finding(
    rule: &Rule,
    code: Option<&str>,
    value: f64,
    samples: usize,
    since: f64,
) -> TrendFinding {
    TrendFinding {
        rule: rule.id.clone(),
        code: code.map(str::to_string),
        urgency: rule.urgency,
        item: rule.item.clone(),
        skill: rule.skill,
        value,
        threshold: rule.threshold,
        samples,
        since,
        explanation: rule.explanation.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(day: f64, signal: Signal, value: f64) -> Observation {
        Observation {
            at: day * DAY_SECS,
            signal,
            value,
            code: None,
        }
    }

    #[test]
    fn the_embedded_rules_parse_and_each_explains_itself() {
        let set = RuleSet::parse(EMBEDDED).expect("trends.toml");
        assert!(set.rules().len() >= 8);
        for r in set.rules() {
            assert!(r.explanation.len() > 40 && !r.source.is_empty(), "{}", r.id);
        }
        assert_eq!(RuleSet::embedded(), &set);
    }

    #[test]
    fn one_bad_trip_raises_nothing_a_sustained_drift_does() {
        let set = RuleSet::embedded();
        let mut st = RuleStates::default();
        let mut obs: Vec<Observation> = (0..6)
            .map(|d| o(f64::from(d), Signal::FuelTrimLongPct, 3.0))
            .collect();
        obs.push(o(6.0, Signal::FuelTrimLongPct, 18.0));
        assert!(set.evaluate(&obs, 6.5 * DAY_SECS, &mut st).is_empty());
        for d in 7..10 {
            obs.push(o(f64::from(d), Signal::FuelTrimLongPct, 12.0));
        }
        let f = set.evaluate(&obs, 9.5 * DAY_SECS, &mut st);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].rule.as_str(), f[0].urgency),
            ("fuel_trim_lean", Urgency::Medium)
        );
    }

    #[test]
    fn hysteresis_keeps_an_alert_until_the_value_is_clearly_back() {
        let set = RuleSet::embedded();
        let mut st = RuleStates::default();
        let mut obs: Vec<Observation> = (0..3)
            .map(|d| o(f64::from(d), Signal::BatteryCrankV, 9.8))
            .collect();
        assert_eq!(set.evaluate(&obs, 2.5 * DAY_SECS, &mut st).len(), 1);
        // 10.1 V: above the threshold (10.0) but below the clear level (10.3): still raised.
        obs.extend((3..6).map(|d| o(f64::from(d), Signal::BatteryCrankV, 10.1)));
        let f = set.evaluate(&obs, 5.5 * DAY_SECS, &mut st);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].since, 2.5 * DAY_SECS);
        // A new battery: 10.8 V clears it.
        obs.extend((6..9).map(|d| o(f64::from(d), Signal::BatteryCrankV, 10.8)));
        assert!(set.evaluate(&obs, 8.5 * DAY_SECS, &mut st).is_empty());
        // Without the history, 10.1 V would not have raised anything.
        let mut fresh = RuleStates::default();
        assert!(
            set.evaluate(&obs[3..6], 5.5 * DAY_SECS, &mut fresh)
                .is_empty()
        );
    }

    #[test]
    fn a_pending_code_on_two_days_is_an_early_warning() {
        let set = RuleSet::embedded();
        let mut st = RuleStates::default();
        let pending = |day: f64| Observation {
            code: Some("P0301".into()),
            ..o(day, Signal::PendingCode, 1.0)
        };
        let obs = vec![pending(1.1), pending(1.5)];
        assert!(
            set.evaluate(&obs, 1.6 * DAY_SECS, &mut st).is_empty(),
            "one day only"
        );
        let obs = vec![pending(1.1), pending(2.2)];
        let f = set.evaluate(&obs, 2.3 * DAY_SECS, &mut st);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code.as_deref(), Some("P0301"));
        // Out of the 14-day window: cleared.
        assert!(set.evaluate(&obs, 30.0 * DAY_SECS, &mut st).is_empty());
        assert!(st.active.is_empty());
    }

    #[test]
    fn a_rule_with_hysteresis_the_wrong_way_round_is_refused() {
        let text = EMBEDDED.replacen("clear = 12.4", "clear = 12.0", 1);
        assert!(
            RuleSet::parse(&text)
                .unwrap_err()
                .to_string()
                .contains("battery_resting_low")
        );
    }
}
