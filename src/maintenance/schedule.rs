//! The maintenance schedule: items due by distance or time, whichever comes first.
//!
//! The default table is `maintenance-db/schedule.toml`, embedded at build time; a vehicle's
//! config overrides intervals per item ([`Schedule::with_overrides`]).

use std::sync::OnceLock;
use std::time::SystemTime;

use serde::Deserialize;

use super::{MaintError, Skill, parse_skill};

const FILE: &str = "maintenance-db/schedule.toml";
const EMBEDDED: &str = include_str!("../../maintenance-db/schedule.toml");

/// One line of the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSpec {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// Distance interval; `None` for time-only items.
    pub km: Option<f64>,
    /// Time interval in months; `None` for distance-only items.
    pub months: Option<f64>,
    pub skill: Skill,
    pub labour_hours: f64,
    pub parts: Vec<String>,
    pub source: String,
}

/// A service done: the item, where and when.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRecord {
    pub item: String,
    pub odometer_km: f64,
    pub at: SystemTime,
}

/// An interval change for one item, from the config. `Some(None)` removes that limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Override {
    pub item: String,
    pub km: Option<Option<f64>>,
    pub months: Option<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    items: Vec<ItemSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    item: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    km: Option<f64>,
    months: Option<f64>,
    skill: String,
    labour_hours: f64,
    #[serde(default)]
    parts: Vec<String>,
    source: String,
}

impl Schedule {
    /// The built-in table. It is checked by a unit test, so this cannot fail at run time; if
    /// it ever did, the schedule would be empty rather than the agent down.
    pub fn embedded() -> &'static Schedule {
        static TABLE: OnceLock<Schedule> = OnceLock::new();
        TABLE.get_or_init(|| Schedule::parse(EMBEDDED).unwrap_or(Schedule { items: Vec::new() }))
    }

    pub fn parse(text: &str) -> Result<Schedule, MaintError> {
        let table = |message: String| MaintError::Table {
            file: FILE,
            message,
        };
        let raw: RawTable = toml::from_str(text).map_err(|e| table(e.to_string()))?;
        let mut items = Vec::new();
        for r in raw.item {
            if r.km.is_none() && r.months.is_none() {
                return Err(table(format!("item {} has neither km nor months", r.id)));
            }
            let bad = |v: Option<f64>| v.is_some_and(|v| !v.is_finite() || v <= 0.0);
            if bad(r.km) || bad(r.months) || r.labour_hours.is_nan() || r.labour_hours < 0.0 {
                return Err(table(format!("item {} has a non-positive interval", r.id)));
            }
            let item = ItemSpec {
                skill: parse_skill(FILE, &r.skill)?,
                id: r.id,
                name: r.name,
                aliases: r.aliases,
                km: r.km,
                months: r.months,
                labour_hours: r.labour_hours,
                parts: r.parts,
                source: r.source,
            };
            let clash = items.iter().any(|o: &ItemSpec| {
                o.names()
                    .any(|n| item.names().any(|m| m.eq_ignore_ascii_case(n)))
            });
            if clash {
                return Err(table(format!("item {} reuses a name or alias", item.id)));
            }
            items.push(item);
        }
        Ok(Schedule { items })
    }

    pub fn items(&self) -> &[ItemSpec] {
        &self.items
    }

    /// The item named `name` (its id or an alias; case, `-` and `_` do not matter).
    pub fn item(&self, name: &str) -> Result<&ItemSpec, MaintError> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        self.items
            .iter()
            .find(|i| i.names().any(|n| n == wanted))
            .ok_or_else(|| MaintError::UnknownItem {
                name: name.to_string(),
                known: self.known(),
            })
    }

    fn known(&self) -> String {
        self.items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// This schedule with a vehicle's interval changes applied.
    pub fn with_overrides(&self, overrides: &[Override]) -> Result<Schedule, MaintError> {
        let mut out = self.clone();
        for o in overrides {
            let fail = |message: &str| MaintError::Override {
                item: o.item.clone(),
                message: message.to_string(),
            };
            let id = self
                .item(&o.item)
                .map_err(|e| fail(&e.to_string()))?
                .id
                .clone();
            let Some(item) = out.items.iter_mut().find(|i| i.id == id) else {
                continue;
            };
            for (value, what) in [(o.km, "km"), (o.months, "months")] {
                if let Some(Some(v)) = value
                    && (!v.is_finite() || v <= 0.0)
                {
                    return Err(fail(&format!("{what} must be a positive number, got {v}")));
                }
            }
            if let Some(km) = o.km {
                item.km = km;
            }
            if let Some(months) = o.months {
                item.months = months;
            }
            if item.km.is_none() && item.months.is_none() {
                return Err(fail("an item needs a km or a months interval"));
            }
        }
        Ok(out)
    }
}

impl ItemSpec {
    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_covers_the_design_items() {
        let s = Schedule::parse(EMBEDDED).expect("schedule.toml");
        let ids: Vec<&str> = s.items().iter().map(|i| i.id.as_str()).collect();
        for id in [
            "engine_oil",
            "air_filter",
            "brake_fluid",
            "transmission_fluid",
            "ac_check",
            "shock_absorbers",
            "battery",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert_eq!(Schedule::embedded(), &s);
        let oil = s.item("engine_oil").unwrap();
        assert_eq!((oil.km, oil.months), (Some(10000.0), Some(12.0)));
    }

    #[test]
    fn items_are_found_by_alias_and_unknown_names_list_the_choices() {
        let s = Schedule::embedded();
        assert_eq!(s.item("oil").unwrap().id, "engine_oil");
        assert_eq!(s.item(" Brake-Fluid ").unwrap().id, "brake_fluid");
        let err = s.item("wipers").unwrap_err().to_string();
        assert!(
            err.contains("\"wipers\"") && err.contains("engine_oil"),
            "{err}"
        );
    }

    #[test]
    fn overrides_change_intervals_and_refuse_nonsense() {
        let s = Schedule::embedded();
        let longer = Override {
            item: "oil".into(),
            km: Some(Some(15000.0)),
            months: Some(None),
        };
        let t = s.with_overrides(&[longer]).unwrap();
        let oil = t.item("engine_oil").unwrap();
        assert_eq!((oil.km, oil.months), (Some(15000.0), None));
        let negative = Override {
            item: "oil".into(),
            km: Some(Some(-1.0)),
            ..Override::default()
        };
        assert!(matches!(
            s.with_overrides(&[negative]),
            Err(MaintError::Override { .. })
        ));
        let nothing = Override {
            item: "ac_check".into(),
            months: Some(None),
            ..Override::default()
        };
        assert!(s.with_overrides(&[nothing]).is_err());
        let unknown = Override {
            item: "wipers".into(),
            ..Override::default()
        };
        assert!(
            s.with_overrides(&[unknown])
                .unwrap_err()
                .to_string()
                .contains("wipers")
        );
    }

    #[test]
    fn a_table_without_intervals_is_refused() {
        let text = "[[item]]\nid='x'\nname='x'\nskill='engine'\nlabour_hours=1\nsource='s'\n";
        assert!(
            Schedule::parse(text)
                .unwrap_err()
                .to_string()
                .contains("neither")
        );
        let bad_skill = text.replace("engine", "magic") + "km = 1\n";
        assert!(Schedule::parse(&bad_skill).is_err());
    }
}
