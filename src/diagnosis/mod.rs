//! Fault classification: from a vehicle's codes, their status and optional live or
//! freeze-frame values, to findings with a system, subsystem, urgency and the reasons behind it.
//!
//! Pure domain code: no I/O, no clock. The steps are
//! 1. merge observations of the same code (several ECUs or services may report it);
//! 2. fold related codes into one finding ([`Family`]); other codes stand alone;
//! 3. start each finding at the worst default urgency of its codes (dtc-db/ranges.csv);
//! 4. apply the rule table ([`rules::RULES`]) top to bottom, recording every rule that fired;
//! 5. sort findings worst first.

mod family;
pub mod rules;

use serde::Serialize;

pub use family::Family;

use crate::dtcdb::{CodeInfo, DtcDb, Labour, MakeOverlay, Skill, Subsystem, Urgency};
use crate::obd::dtc::{Dtc, DtcSystem};

/// The malfunction indicator lamp as it was when the code was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mil {
    #[default]
    Off,
    On,
    Flashing,
}

/// One code as read from the vehicle, with what is known of its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CodeObservation {
    pub code: Dtc,
    /// Reported by service 07: failed in the current or last drive cycle.
    pub pending: bool,
    /// Reported by service 03: confirmed (stored).
    pub stored: bool,
    /// Reported by service 0A: permanent.
    pub permanent: bool,
    pub mil: Mil,
    /// The store saw this code cleared earlier and now sees it again.
    pub returned_after_clear: bool,
}

impl CodeObservation {
    /// A confirmed code with the MIL off, the common case; adjust fields as needed.
    pub fn stored(code: Dtc) -> Self {
        CodeObservation {
            code,
            pending: false,
            stored: true,
            permanent: false,
            mil: Mil::Off,
            returned_after_clear: false,
        }
    }

    /// A code reported only as pending.
    pub fn pending(code: Dtc) -> Self {
        CodeObservation {
            pending: true,
            stored: false,
            ..Self::stored(code)
        }
    }

    fn merge(&mut self, other: &CodeObservation) {
        self.pending |= other.pending;
        self.stored |= other.stored;
        self.permanent |= other.permanent;
        self.mil = self.mil.max(other.mil);
        self.returned_after_clear |= other.returned_after_clear;
    }
}

/// Values read alongside the codes (a freeze frame or a live snapshot); any may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub coolant_c: Option<f32>,
    pub rpm: Option<f32>,
    pub engine_load_pct: Option<f32>,
    pub speed_kmh: Option<f32>,
    pub battery_v: Option<f32>,
}

/// Thresholds the context rules compare against; per-vehicle configurable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Coolant at or above this is overheating. 112 °C sits above the usual thermostat and
    /// fan range (90-105 °C) and below the boiling point of a pressurised system.
    pub coolant_max_c: f32,
    /// Engine load at or above this counts as high load.
    pub high_load_pct: f32,
    /// Battery voltage below this with the engine running means it is not being charged.
    pub battery_min_v: f32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            coolant_max_c: 112.0,
            high_load_pct: 70.0,
            battery_min_v: 11.8,
        }
    }
}

/// Everything besides the codes that the rules may consider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Context {
    pub freeze_frame: Option<Snapshot>,
    pub live: Option<Snapshot>,
    pub limits: Limits,
}

/// One fault as the service centre should see it: related codes folded together, with the
/// knowledge for each code and every rule that shaped the urgency.
#[derive(Debug, Clone, Serialize)]
pub struct Finding<'a> {
    pub title: String,
    pub codes: Vec<Dtc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    pub system: DtcSystem,
    pub subsystem: Subsystem,
    pub urgency: Urgency,
    /// The urgency before status and context were considered.
    pub default_urgency: Urgency,
    /// Why the urgency is what it is: the default, then each rule that fired, as
    /// `rule-id: explanation`.
    pub reasons: Vec<String>,
    pub skill: Skill,
    pub labour: Labour,
    pub knowledge: Vec<CodeInfo<'a>>,
}

/// A vehicle's findings for `scan`: worst first.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport<'a> {
    /// The worst urgency among the findings; `None` when there are no codes.
    pub worst: Option<Urgency>,
    pub findings: Vec<Finding<'a>>,
}

/// What the rules look at for one finding.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    family: Option<Family>,
    subsystems: Vec<Subsystem>,
    default_urgency: Urgency,
    only_pending: bool,
    returned_after_clear: bool,
    permanent: bool,
    mil_flashing: bool,
    max_load_pct: Option<f32>,
    max_coolant_c: Option<f32>,
    min_battery_v: Option<f32>,
}

/// Classifies codes with the embedded database. See the module docs for the steps.
pub fn classify(observations: &[CodeObservation], context: &Context) -> Vec<Finding<'static>> {
    classify_with(DtcDb::embedded(), None, observations, context)
}

/// [`classify`] wrapped for `scan`, with the worst urgency up front.
pub fn scan(observations: &[CodeObservation], context: &Context) -> ScanReport<'static> {
    let findings = classify(observations, context);
    ScanReport {
        worst: findings.first().map(|f| f.urgency),
        findings,
    }
}

/// [`classify`] against a given database and optional make overlay.
pub fn classify_with<'a>(
    db: &'a DtcDb,
    overlay: Option<&'a MakeOverlay>,
    observations: &[CodeObservation],
    context: &Context,
) -> Vec<Finding<'a>> {
    let mut merged: Vec<CodeObservation> = Vec::with_capacity(observations.len());
    for obs in observations {
        match merged.iter_mut().find(|m| m.code == obs.code) {
            Some(m) => m.merge(obs),
            None => merged.push(*obs),
        }
    }
    merged.sort_by_key(|o| o.code);

    let mut groups: Vec<(Option<Family>, Vec<CodeObservation>)> = Vec::new();
    for obs in merged {
        let family = Family::of(obs.code);
        match groups
            .iter_mut()
            .find(|(f, _)| family.is_some() && *f == family)
        {
            Some((_, members)) => members.push(obs),
            None => groups.push((family, vec![obs])),
        }
    }

    let mut findings: Vec<Finding<'a>> = groups
        .into_iter()
        .filter_map(|(family, members)| finding(db, overlay, family, &members, context))
        .collect();
    findings.sort_by(|a, b| b.urgency.cmp(&a.urgency).then(a.codes.cmp(&b.codes)));
    findings
}

fn finding<'a>(
    db: &'a DtcDb,
    overlay: Option<&'a MakeOverlay>,
    family: Option<Family>,
    members: &[CodeObservation],
    context: &Context,
) -> Option<Finding<'a>> {
    let knowledge: Vec<CodeInfo<'a>> = members
        .iter()
        .map(|o| db.lookup_with(o.code, overlay))
        .collect();
    // The lead code sets subsystem, skill and labour: the worst by default urgency, then the
    // lowest number (P0300 before P0301), which is the most general code of a family.
    let lead = knowledge
        .iter()
        .min_by(|a, b| b.urgency.cmp(&a.urgency).then(a.code.cmp(&b.code)))?;
    let facts = facts(family, members, &knowledge, lead.urgency, context);

    let mut urgency = lead.urgency;
    let mut reasons = vec![format!(
        "default: {} is {} ({} codes)",
        lead.code,
        lead.urgency.as_str(),
        lead.subsystem
    )];
    for rule in rules::RULES {
        if let Some(detail) = rule.when.check(&facts, &context.limits) {
            let before = urgency;
            urgency = rule.effect.apply(urgency);
            let change = if urgency == before {
                format!("stays {}", urgency.as_str())
            } else {
                format!("{} -> {}", before.as_str(), urgency.as_str())
            };
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!("; {detail}")
            };
            reasons.push(format!("{}: {}{detail} ({change})", rule.id, rule.why));
        }
    }

    let title = match family {
        Some(f) if members.len() > 1 => f.title().to_string(),
        _ => lead.description.to_string(),
    };
    Some(Finding {
        title,
        codes: members.iter().map(|o| o.code).collect(),
        family,
        system: lead.system,
        subsystem: lead.subsystem,
        urgency,
        default_urgency: lead.urgency,
        reasons,
        skill: lead.skill,
        labour: lead.labour,
        knowledge,
    })
}

fn facts(
    family: Option<Family>,
    members: &[CodeObservation],
    knowledge: &[CodeInfo<'_>],
    default_urgency: Urgency,
    context: &Context,
) -> Facts {
    let snapshots = || context.freeze_frame.iter().chain(context.live.iter());
    let max = |get: fn(&Snapshot) -> Option<f32>| snapshots().filter_map(get).reduce(f32::max);
    Facts {
        family,
        subsystems: knowledge.iter().map(|k| k.subsystem).collect(),
        default_urgency,
        only_pending: members
            .iter()
            .all(|o| o.pending && !o.stored && !o.permanent),
        returned_after_clear: members.iter().any(|o| o.returned_after_clear),
        permanent: members.iter().any(|o| o.permanent),
        mil_flashing: members.iter().any(|o| o.mil == Mil::Flashing),
        max_load_pct: max(|s| s.engine_load_pct),
        max_coolant_c: max(|s| s.coolant_c),
        min_battery_v: snapshots().filter_map(|s| s.battery_v).reduce(f32::min),
    }
}
