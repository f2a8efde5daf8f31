//! The triage rules: one row per rule, read top to bottom. A finding starts at the worst
//! default urgency of its codes (dtc-db/ranges.csv); every rule whose condition holds applies
//! its effect and adds its explanation to the finding's reasons. Order matters and is
//! deliberate: status adjustments come first, context escalations next, and the safety floors
//! last, so that nothing (a pending status, say) can talk a brake or airbag fault down.

use super::family::Family;
use super::{Facts, Limits};
use crate::dtcdb::{Subsystem, Urgency};

/// When a rule applies, in terms a service engineer would use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Every code of the finding is only pending (seen once, not yet confirmed).
    OnlyPending,
    /// A code came back after the codes were last cleared.
    ReturnedAfterClear,
    /// A code is permanent: confirmed and kept by the ECU until it proves the repair.
    Permanent,
    /// The MIL is flashing for a code of the finding.
    MilFlashing,
    /// The MIL is flashing and the finding is of this family.
    MilFlashingIn(Family),
    /// The finding is of this family and engine load (freeze frame or live) is at or above
    /// the configured high-load limit.
    HighLoadIn(Family),
    /// The finding is of this family and coolant temperature is at or above its limit.
    CoolantOverLimitIn(Family),
    /// The finding is of this family and battery voltage is below the configured minimum.
    LowBatteryIn(Family),
    /// The finding is of this family.
    FamilyIs(Family),
    /// The finding's subsystem is this one.
    SubsystemIs(Subsystem),
    /// dtc-db/ranges.csv marks a code of the finding critical.
    DefaultCritical,
}

/// What a rule does to the finding's urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Raise,
    Lower,
    AtLeast(Urgency),
}

/// One row of the rule table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable name, shown with the reason so a technician can refer to (or overrule) it.
    pub id: &'static str,
    pub when: When,
    pub effect: Effect,
    /// Why the rule exists, in a sentence a technician can check.
    pub why: &'static str,
}

use Effect::*;
use Urgency::*;
use When::*;

#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { id: "pending-only", when: OnlyPending, effect: Lower,
        why: "only pending: seen in one drive cycle, not yet confirmed" },
    Rule { id: "returned-after-clear", when: ReturnedAfterClear, effect: Raise,
        why: "came back after the codes were cleared, so the fault was not fixed" },
    Rule { id: "permanent", when: Permanent, effect: AtLeast(Medium),
        why: "permanent code: the ECU keeps it until a repair is proven, and it fails an inspection" },
    Rule { id: "mil-flashing", when: MilFlashing, effect: AtLeast(High),
        why: "the warning light is flashing, which signals a fault that can damage the catalytic converter" },
    Rule { id: "misfire-mil-flashing", when: MilFlashingIn(Family::Misfire), effect: AtLeast(Critical),
        why: "misfire with a flashing warning light: severe misfire, stop driving to protect the engine and catalyst" },
    Rule { id: "misfire-high-load", when: HighLoadIn(Family::Misfire), effect: AtLeast(Critical),
        why: "misfire under high engine load: the engine and catalyst overheat quickly" },
    Rule { id: "overheating", when: CoolantOverLimitIn(Family::Cooling), effect: AtLeast(Critical),
        why: "cooling fault with coolant above its limit: the engine is overheating" },
    Rule { id: "charging-low-battery", when: LowBatteryIn(Family::Charging), effect: Raise,
        why: "charging fault with a low battery voltage: the car may soon stop or fail to start" },
    Rule { id: "safety-oil-pressure", when: FamilyIs(Family::OilPressure), effect: AtLeast(Critical),
        why: "safety first: low or unknown oil pressure can destroy the engine within minutes" },
    Rule { id: "safety-brakes", when: SubsystemIs(Subsystem::BrakesAbs), effect: AtLeast(Critical),
        why: "safety first: brake and ABS faults are critical" },
    Rule { id: "safety-airbags", when: SubsystemIs(Subsystem::AirbagsSrs), effect: AtLeast(Critical),
        why: "safety first: airbag (SRS) faults are critical" },
    Rule { id: "safety-steering", when: SubsystemIs(Subsystem::Steering), effect: AtLeast(Critical),
        why: "safety first: steering faults are critical" },
    Rule { id: "safety-default", when: DefaultCritical, effect: AtLeast(Critical),
        why: "safety first: the code database marks this fault critical, and status never lowers it" },
];

impl When {
    /// Whether the condition holds; `Some` carries the measured detail for the reason text
    /// (empty when there is none to show).
    pub(crate) fn check(self, facts: &Facts, limits: &Limits) -> Option<String> {
        let family = |f: Family| facts.family == Some(f);
        let hold = |ok: bool| ok.then(String::new);
        match self {
            OnlyPending => hold(facts.only_pending),
            ReturnedAfterClear => hold(facts.returned_after_clear),
            Permanent => hold(facts.permanent),
            MilFlashing => hold(facts.mil_flashing),
            MilFlashingIn(f) => hold(facts.mil_flashing && family(f)),
            HighLoadIn(f) => facts
                .max_load_pct
                .filter(|load| family(f) && *load >= limits.high_load_pct)
                .map(|load| format!("engine load {load:.0} % >= {:.0} %", limits.high_load_pct)),
            CoolantOverLimitIn(f) => facts
                .max_coolant_c
                .filter(|t| family(f) && *t >= limits.coolant_max_c)
                .map(|t| format!("coolant {t:.0} °C >= {:.0} °C", limits.coolant_max_c)),
            LowBatteryIn(f) => facts
                .min_battery_v
                .filter(|v| family(f) && *v < limits.battery_min_v)
                .map(|v| format!("battery {v:.1} V < {:.1} V", limits.battery_min_v)),
            FamilyIs(f) => hold(family(f)),
            SubsystemIs(s) => hold(facts.subsystems.contains(&s)),
            DefaultCritical => hold(facts.default_urgency == Critical),
        }
    }
}

impl Effect {
    pub(crate) fn apply(self, urgency: Urgency) -> Urgency {
        match self {
            Raise => urgency.raised(),
            Lower => urgency.lowered(),
            AtLeast(floor) => urgency.max(floor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_safety_floors_come_last() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        let last_lowering = RULES.iter().rposition(|r| r.effect == Lower).unwrap();
        let first_floor = RULES
            .iter()
            .position(|r| r.id.starts_with("safety-"))
            .unwrap();
        assert!(last_lowering < first_floor);
    }
}
