//! The vocabulary of the knowledge base: urgency, subsystem, workshop skill, labour bucket,
//! and what one lookup answers.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::obd::dtc::{Dtc, DtcSystem};

/// Service-centre triage level (shared/DESIGN.md). Ordered so that `max` picks the worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

impl Urgency {
    pub const ALL: [Urgency; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// One level up, saturating at critical.
    pub fn raised(self) -> Self {
        match self {
            Self::Low => Self::Medium,
            Self::Medium => Self::High,
            Self::High | Self::Critical => Self::Critical,
        }
    }

    /// One level down, saturating at low.
    pub fn lowered(self) -> Self {
        match self {
            Self::Critical => Self::High,
            Self::High => Self::Medium,
            Self::Medium | Self::Low => Self::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Declares a closed set of names used in dtc-db/ files, with the file spelling, the serde
/// spelling (the same) and a label for people.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum $name {
            $(#[serde(rename = $key)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The spelling used in dtc-db/ files and JSON.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key,)* }
            }

            /// The words shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)* }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($key => Ok($name::$variant),)* _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

vocabulary! {
    /// Where in a vehicle a code points, after SAE J2012's range structure (P, U) and our
    /// triage grouping (C, B).
    Subsystem {
        FuelAndAirMetering => "fuel_and_air_metering", "fuel and air metering";
        IgnitionMisfire => "ignition_misfire", "ignition system or misfire";
        AuxiliaryEmissions => "auxiliary_emissions", "auxiliary emission controls";
        SpeedAndIdleControl => "speed_and_idle_control", "vehicle speed, idle control and auxiliary inputs";
        ComputerAndOutputCircuits => "computer_and_output_circuits", "computer and output circuits";
        Transmission => "transmission", "transmission";
        HybridEvPropulsion => "hybrid_ev_propulsion", "hybrid/EV propulsion";
        CylinderDeactivation => "cylinder_deactivation", "cylinder deactivation";
        BrakesAbs => "brakes_abs", "brakes/ABS and stability control";
        Steering => "steering", "steering";
        Suspension => "suspension", "suspension, ride height and tyres";
        ChassisGeneral => "chassis_general", "chassis control";
        AirbagsSrs => "airbags_srs", "airbags/SRS";
        Hvac => "hvac", "HVAC (climate control)";
        BodyGeneral => "body_general", "body electronics";
        NetworkCommunication => "network_communication", "network communication";
        ManufacturerSpecific => "manufacturer_specific", "manufacturer-specific";
        SaeReserved => "sae_reserved", "reserved by SAE";
    }
}

vocabulary! {
    /// The workshop skill a repair needs, so the service centre can book the right bay.
    Skill {
        Engine => "engine", "engine";
        Transmission => "transmission", "transmission";
        Brakes => "brakes", "brakes and chassis";
        Electrical => "electrical", "electrical";
        Body => "body", "body";
        Hv => "hv", "high voltage (HV)";
    }
}

vocabulary! {
    /// A rough labour estimate for diagnosis plus the usual repair, for booking a slot.
    Labour {
        Under1h => "under_1h", "under 1 hour";
        OneToTwoHours => "1_to_2h", "1-2 hours";
        TwoToFourHours => "2_to_4h", "2-4 hours";
        Over4h => "over_4h", "over 4 hours";
    }
}

/// Where a code's description came from, so a technician knows how much to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source<'a> {
    /// The SAE J2012 title from dtc-db/codes.csv.
    Generic,
    /// A per-make overlay supplied the description.
    Manufacturer { make: &'a str },
    /// Only the range is known: the rest follows from dtc-db/ranges.csv.
    RangeOnly,
}

/// Everything known about one code. Borrowed from the database, so lookups do not allocate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeInfo<'a> {
    pub code: Dtc,
    /// The standard title, a make's description, or a note saying neither is known.
    pub description: &'a str,
    pub system: DtcSystem,
    pub subsystem: Subsystem,
    /// Default urgency before context (status, MIL, live values) is considered.
    pub urgency: Urgency,
    /// What the fault means, in words an owner understands.
    pub meaning: &'a str,
    /// The recommended next step.
    pub action: &'a str,
    pub skill: Skill,
    pub labour: Labour,
    pub source: Source<'a>,
}

/// Human name of a system, for text output.
pub fn system_label(system: DtcSystem) -> &'static str {
    match system {
        DtcSystem::Powertrain => "powertrain",
        DtcSystem::Chassis => "chassis",
        DtcSystem::Body => "body",
        DtcSystem::Network => "network",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgency_orders_and_saturates() {
        assert!(Urgency::Critical > Urgency::High && Urgency::Medium > Urgency::Low);
        assert_eq!(Urgency::Critical.raised(), Urgency::Critical);
        assert_eq!(Urgency::Low.lowered(), Urgency::Low);
        assert_eq!(Urgency::Medium.raised().lowered(), Urgency::Medium);
        assert_eq!(serde_json::to_string(&Urgency::High).unwrap(), "\"high\"");
    }

    #[test]
    fn vocabulary_keys_round_trip() {
        for s in Subsystem::ALL {
            assert_eq!(s.key().parse::<Subsystem>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.key())
            );
        }
        for s in Skill::ALL {
            assert_eq!(s.key().parse::<Skill>(), Ok(*s));
        }
        for l in Labour::ALL {
            assert_eq!(l.key().parse::<Labour>(), Ok(*l));
        }
    }
}
