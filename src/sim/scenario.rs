//! Named, deterministic vehicles for tests, benchmarks and the demo.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::obd::dtc::Dtc;
use crate::obd::protocol::Protocol;

use super::SimError;
use super::live::{LiveModel, Overheat};
use super::routine::{DAY_S, Drift, Routine};
use super::service::store_fault;
use super::timeline::{Change, Step, Timeline};
use super::vehicle::{EcuInfo, EcuRole, Monitors, SimEcu, SimVehicle, SinceClear};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scenario {
    /// Petrol car, no codes, every monitor complete.
    #[default]
    Healthy,
    /// P0300 + P0301 stored, MIL on, rough idle, freeze frame.
    Misfire,
    /// P0217, coolant climbing to ~118 degC.
    Overheating,
    /// An ABS module (7EB) holding C0035 next to a healthy engine.
    AbsFault,
    /// P0A80 on the hybrid ECU (7EA), hybrid battery life (PID 5B) low.
    HybridBattery,
    /// Engine and transmission both with codes; the engine's list spans several CAN frames.
    MultiEcu,
    /// ISO 9141-2 car with four codes (two legacy messages).
    LegacyIso9141,
    /// ISO 14230-4 KWP2000 (fast init) car.
    LegacyKwp,
    /// SAE J1850 VPW car (checksums are CRCs there).
    LegacyJ1850,
    /// The healthy car on 29-bit CAN identifiers.
    Can29,
    /// Healthy at first, then faults develop on a timeline ([`DEVELOPING_TIMELINE`]).
    Developing,
    /// The misfire car parked with the ignition on and the engine off: the one state in which
    /// a clear is allowed (remote clear tests).
    Parked,
    /// A healthy car's daily life: two half-hour trips a day, parked in between, odometer
    /// (PID A6) readable. The baseline for long simulations: nothing may be predicted.
    Commuter,
    /// The commuter with an ageing 12 V battery: the cranking dip deepens every day until the
    /// starter no longer turns ([`BATTERY_FAILURE_V`]).
    BatteryAgeing,
    /// The commuter with a growing vacuum leak: long-term fuel trim drifts lean until the ECU
    /// sets P0171.
    LeanTrim,
    /// The commuter whose thermostat sticks open on day 3; the ECU sets P0128 a week later.
    StuckThermostat,
    /// The commuter 1,050 km short of its oil change (last done at [`OIL_LAST_CHANGE_KM`]).
    OilDue,
    /// The commuter whose catalyst ages: the service 06 catalyst test creeps towards its
    /// limit until the ECU sets P0420.
    CatalystAgeing,
    /// The commuter whose cylinder 1 starts to misfire: the service 06 EWMA misfire count
    /// rises until the ECU sets P0301.
    MisfireDeveloping,
}

/// Below this cranking voltage the simulated starter no longer turns the engine.
pub const BATTERY_FAILURE_V: f64 = 9.0;
/// The `oil-due` car's odometer at simulated time zero, and where its last oil change was.
pub const OIL_DUE_ODOMETER_KM: f64 = 48_950.0;
pub const OIL_LAST_CHANGE_KM: f64 = 40_000.0;
/// The `stuck-thermostat` car: stuck from this day, P0128 confirmed on this day.
pub const THERMOSTAT_STUCK_DAY: f64 = 3.0;
pub const THERMOSTAT_P0128_DAY: f64 = 10.0;
/// The `lean-trim` car: long-term trim at which the ECU sets P0171 pending, and confirmed.
pub const LEAN_PENDING_TRIM: f64 = 22.0;
pub const LEAN_CONFIRMED_TRIM: f64 = 25.0;
/// The `catalyst-ageing` car: catalyst test ratio at which the ECU sets P0420 pending
/// (the test fails once), and confirmed (the limit, failed again on a later drive).
pub const CATALYST_PENDING_RATIO: f64 = 0.74;
pub const CATALYST_CONFIRMED_RATIO: f64 = 0.76;
/// The `misfire-developing` car: cylinder 1's EWMA misfire count at which the ECU sets P0301
/// pending, and confirmed.
pub const MISFIRE_PENDING_EWMA: f64 = 40.0;
pub const MISFIRE_CONFIRMED_EWMA: f64 = 50.0;

/// When the `developing` car's faults appear, in simulated seconds, with what happens. The
/// demo drives the simulated clock faster, so the whole story fits in about a minute.
pub const DEVELOPING_TIMELINE: [(u64, &str); 7] = [
    (0, "healthy, engine warming up"),
    (
        15,
        "P0301 pending: cylinder 1 misfired once; idle turns rough",
    ),
    (35, "P0301 confirmed: stored, MIL on, freeze frame"),
    (50, "cooling fault: coolant climbs towards 124 degC"),
    (65, "P0217 stored: engine over temperature"),
    (85, "the fan recovers: coolant falls back to 90 degC"),
    (100, "the ECU drops P0217 by itself: condition gone"),
];

impl Scenario {
    pub const ALL: [Scenario; 19] = [
        Scenario::Healthy,
        Scenario::Misfire,
        Scenario::Overheating,
        Scenario::AbsFault,
        Scenario::HybridBattery,
        Scenario::MultiEcu,
        Scenario::LegacyIso9141,
        Scenario::LegacyKwp,
        Scenario::LegacyJ1850,
        Scenario::Can29,
        Scenario::Developing,
        Scenario::Parked,
        Scenario::Commuter,
        Scenario::BatteryAgeing,
        Scenario::LeanTrim,
        Scenario::StuckThermostat,
        Scenario::OilDue,
        Scenario::CatalystAgeing,
        Scenario::MisfireDeveloping,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::Misfire => "misfire",
            Scenario::Overheating => "overheating",
            Scenario::AbsFault => "abs-fault",
            Scenario::HybridBattery => "hybrid-battery",
            Scenario::MultiEcu => "multi-ecu",
            Scenario::LegacyIso9141 => "legacy-iso9141",
            Scenario::LegacyKwp => "legacy-kwp",
            Scenario::LegacyJ1850 => "legacy-j1850",
            Scenario::Can29 => "can29",
            Scenario::Developing => "developing",
            Scenario::Parked => "parked",
            Scenario::Commuter => "commuter",
            Scenario::BatteryAgeing => "battery-ageing",
            Scenario::LeanTrim => "lean-trim",
            Scenario::StuckThermostat => "stuck-thermostat",
            Scenario::OilDue => "oil-due",
            Scenario::CatalystAgeing => "catalyst-ageing",
            Scenario::MisfireDeveloping => "misfire-developing",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Scenario::Healthy => "petrol car, no codes, all monitors complete (CAN 11/500)",
            Scenario::Misfire => "P0300 + P0301 stored, MIL on, rough idle, freeze frame",
            Scenario::Overheating => "P0217 stored, coolant rising to ~118 degC",
            Scenario::AbsFault => "ABS module 7EB with C0035 next to a healthy engine",
            Scenario::HybridBattery => "P0A80 on hybrid ECU 7EA, hybrid battery life low",
            Scenario::MultiEcu => "engine 7E8 (4 stored, P0420 pending) + transmission 7E9 (P0715)",
            Scenario::LegacyIso9141 => "ISO 9141-2 car with four stored codes",
            Scenario::LegacyKwp => "ISO 14230-4 KWP fast-init car with P0128",
            Scenario::LegacyJ1850 => "SAE J1850 VPW car with P0442",
            Scenario::Can29 => "healthy car on 29-bit CAN (18DAF110)",
            Scenario::Developing => {
                "healthy, then P0301 pending, confirmed + MIL, overheating P0217, cleared by the ECU (100 s)"
            }
            Scenario::Parked => "misfire car parked: ignition on, engine off, P0300 + P0301",
            Scenario::Commuter => {
                "healthy daily commuter: trips at 07:30 and 17:30, parked between (use a fast clock)"
            }
            Scenario::BatteryAgeing => {
                "commuter whose 12 V battery ages: cranking dip deepens until no start on day 30"
            }
            Scenario::LeanTrim => {
                "commuter with a growing vacuum leak: fuel trim drifts lean to P0171"
            }
            Scenario::StuckThermostat => {
                "commuter whose thermostat sticks open on day 3; P0128 on day 10"
            }
            Scenario::OilDue => "commuter 1,050 km short of its oil change (odometer PID A6)",
            Scenario::CatalystAgeing => {
                "commuter whose catalyst ages: service 06 catalyst test creeps to its limit, P0420"
            }
            Scenario::MisfireDeveloping => {
                "commuter whose cylinder 1 starts misfiring: service 06 misfire counts rise, P0301"
            }
        }
    }

    /// The bus the car speaks.
    pub fn protocol(self) -> Protocol {
        match self {
            Scenario::LegacyIso9141 => Protocol::Iso9141,
            Scenario::LegacyKwp => Protocol::KwpFast,
            Scenario::LegacyJ1850 => Protocol::J1850Vpw,
            Scenario::Can29 => Protocol::Can29_500,
            _ => Protocol::Can11_500,
        }
    }

    pub fn build(self) -> SimVehicle {
        build(self)
    }

    /// For the degrading scenarios: the simulated day the car fails (or, for `oil-due`, the
    /// oil change falls due at the routine's usage), and what happens then.
    pub fn failure(self) -> Option<(f64, &'static str)> {
        let routine = self.build().live.routine?;
        let wear = &routine.wear;
        match self {
            Scenario::BatteryAgeing => wear
                .crank_v
                .day_reaching(BATTERY_FAILURE_V)
                .map(|d| (d, "the battery no longer cranks the engine")),
            Scenario::LeanTrim => wear
                .long_trim_pct
                .day_reaching(LEAN_CONFIRMED_TRIM)
                .map(|d| (d, "P0171 confirmed, MIL on")),
            Scenario::CatalystAgeing => wear
                .catalyst_ratio
                .day_reaching(CATALYST_CONFIRMED_RATIO)
                .map(|d| (d, "P0420 confirmed, MIL on")),
            Scenario::MisfireDeveloping => wear
                .misfire_ewma_cyl1
                .day_reaching(MISFIRE_CONFIRMED_EWMA)
                .map(|d| (d, "P0301 confirmed, MIL on")),
            Scenario::StuckThermostat => Some((THERMOSTAT_P0128_DAY, "P0128 confirmed, MIL on")),
            Scenario::OilDue => {
                let per_day = routine.trips.len() as f64
                    * LiveModel {
                        routine: None,
                        ..LiveModel::default()
                    }
                    .distance_km(secs_f64(routine.trip_running_s()));
                let left = OIL_LAST_CHANGE_KM + 10_000.0 - OIL_DUE_ODOMETER_KM;
                Some((left / per_day, "the oil change falls due (10,000 km)"))
            }
            _ => None,
        }
    }
}

fn secs_f64(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == wanted)
            .ok_or_else(|| SimError::UnknownScenario {
                name: s.to_string(),
                known: Scenario::ALL.map(Scenario::name).join(", "),
            })
    }
}

fn dtcs(codes: &[&str]) -> Vec<Dtc> {
    codes.iter().filter_map(|c| c.parse().ok()).collect()
}

const ENGINE_PIDS: [u8; 26] = [
    0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x1C, 0x1F, 0x21,
    0x2F, 0x30, 0x31, 0x33, 0x41, 0x42, 0x46, 0x4D, 0x4E, 0x51,
];
const FREEZE_PIDS: [u8; 12] = [
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x11,
];
/// The VIN of the ELM327 datasheet's own 09 02 example, so its printout can be checked
/// byte for byte.
pub const DATASHEET_VIN: &str = "1D4GP00R55B123456";

fn history() -> SinceClear {
    SinceClear {
        cleared_at: None,
        base_km: 1532.0,
        base_minutes: 4300.0,
        base_warmups: 40.0,
        mil_km: 0.0,
        mil_minutes: 0.0,
    }
}

fn engine(vin: &str) -> SimEcu {
    let mut ecu = SimEcu::new(EcuRole::Engine, 0, 0x10);
    ecu.pids = ENGINE_PIDS.to_vec();
    ecu.freeze_pids = FREEZE_PIDS.to_vec();
    ecu.monitors = Monitors::petrol_complete();
    ecu.since_clear = history();
    ecu.info = EcuInfo {
        vin: Some(vin.to_string()),
        calids: vec!["SIMCAL-ENG-0001".into()],
        cvns: vec![0x1A2B_3C4D],
        name: "ECM-EngineControl".into(),
    };
    ecu
}

fn module(role: EcuRole, can_index: u8, source: u8, pids: &[u8], name: &str) -> SimEcu {
    let mut ecu = SimEcu::new(role, can_index, source);
    ecu.pids = pids.to_vec();
    ecu.monitors = Monitors {
        continuous_supported: 0b100,
        ..Monitors::default()
    };
    ecu.since_clear = history();
    ecu.info = EcuInfo {
        vin: None,
        calids: vec![format!("SIMCAL-{source:02X}-0001")],
        cvns: vec![0x5EED_0000 | u32::from(source)],
        name: name.into(),
    };
    ecu
}

fn with_mil_history(ecu: &mut SimEcu) {
    ecu.since_clear.mil_km = 87.0;
    ecu.since_clear.mil_minutes = 95.0;
}

fn build(scenario: Scenario) -> SimVehicle {
    let protocol = scenario.protocol();
    let mut live = LiveModel::default();
    let mut eng = engine(DATASHEET_VIN);
    let mut extra = Vec::new();
    match scenario {
        Scenario::Healthy | Scenario::Can29 => {}
        Scenario::Misfire | Scenario::Parked => {
            live.engine_running = scenario == Scenario::Misfire;
            live.driving = false;
            live.idle_rpm = 690.0;
            live.rpm_jitter = 60.0;
            live.seed = 0x301;
            store_fault(
                &mut eng,
                &dtcs(&["P0300", "P0301"]),
                Duration::from_secs(600),
            );
            eng.pending = dtcs(&["P0301"]);
            eng.monitors.incomplete = 0b0000_0001;
            with_mil_history(&mut eng);
        }
        Scenario::Overheating => {
            live.driving = false;
            live.coolant_target_c = 118.5;
            live.warmup_s = 300.0;
            live.seed = 0x217;
            store_fault(&mut eng, &dtcs(&["P0217"]), Duration::from_secs(900));
            with_mil_history(&mut eng);
        }
        Scenario::AbsFault => {
            let mut abs = module(EcuRole::Abs, 3, 0x28, &[0x0D], "ABS-BrakeControl");
            abs.stored = dtcs(&["C0035"]);
            abs.permanent = dtcs(&["C0035"]);
            extra.push(abs);
        }
        Scenario::HybridBattery => {
            live.hybrid_battery_pct = Some(22.0);
            let pids = [0x01, 0x1C, 0x42, 0x51, 0x5B];
            let mut hv = module(EcuRole::Hybrid, 2, 0x1A, &pids, "HPCM-HybridControl");
            hv.freeze_pids = vec![0x02, 0x5B];
            store_fault(&mut hv, &dtcs(&["P0A80"]), Duration::from_secs(300));
            hv.permanent = dtcs(&["P0A80"]);
            with_mil_history(&mut hv);
            extra.push(hv);
        }
        Scenario::MultiEcu => {
            let codes = dtcs(&["P0171", "P0174", "P0300", "P0302"]);
            store_fault(&mut eng, &codes, Duration::from_secs(450));
            eng.pending = dtcs(&["P0420"]);
            eng.permanent = dtcs(&["P0300"]);
            with_mil_history(&mut eng);
            let pids = [0x01, 0x0D, 0x1C];
            let mut tcm = module(EcuRole::Transmission, 1, 0x18, &pids, "TCM-TransmissionCtl");
            tcm.freeze_pids = vec![0x02, 0x0D];
            store_fault(&mut tcm, &dtcs(&["P0715"]), Duration::from_secs(450));
            extra.push(tcm);
        }
        Scenario::LegacyIso9141 => {
            let codes = dtcs(&["P0133", "P0135", "P0141", "P0420"]);
            store_fault(&mut eng, &codes, Duration::from_secs(700));
            with_mil_history(&mut eng);
        }
        Scenario::LegacyKwp => {
            store_fault(&mut eng, &dtcs(&["P0128"]), Duration::from_secs(500));
            eng.monitors.incomplete = 0b0010_0001;
        }
        Scenario::LegacyJ1850 => {
            eng.pending = dtcs(&["P0442"]);
            store_fault(&mut eng, &dtcs(&["P0442"]), Duration::from_secs(800));
        }
        Scenario::Commuter
        | Scenario::BatteryAgeing
        | Scenario::LeanTrim
        | Scenario::StuckThermostat
        | Scenario::OilDue
        | Scenario::CatalystAgeing
        | Scenario::MisfireDeveloping => {
            live.seed = 0xC0FFEE;
            live.routine = Some(routine(scenario));
            eng.pids.push(0xA6);
            eng.test_results = true;
        }
        Scenario::Developing => {
            // Warm within the first minute, so the overheating is not mistaken for warm-up.
            live.warmup_s = 20.0;
            live.seed = 0xDE7;
            live.overheat = Some(Overheat {
                from: secs(DEVELOPING_TIMELINE[3].0),
                until: secs(DEVELOPING_TIMELINE[5].0),
                peak_c: 124.0,
                tau_s: 12.0,
            });
        }
    }
    if scenario == Scenario::HybridBattery {
        eng.pids.push(0x5B);
    }
    let mut vehicle = SimVehicle::new(protocol, live);
    if scenario == Scenario::Developing {
        vehicle.timeline = developing_timeline();
    }
    if let Some(r) = &vehicle.live.routine {
        vehicle.timeline = wear_timeline(scenario, r);
    }
    vehicle.ecus.push(eng);
    vehicle.ecus.extend(extra);
    vehicle
}

/// The daily routine and wear of the long-running scenarios.
fn routine(scenario: Scenario) -> Routine {
    let mut r = Routine::commuter();
    match scenario {
        Scenario::OilDue => r.odometer_km = Some(OIL_DUE_ODOMETER_KM),
        Scenario::Commuter => r.odometer_km = Some(31_400.0),
        // Older cars without PID A6: the agent integrates speed from an intake reading.
        Scenario::BatteryAgeing => {
            r.wear.rest_v = Drift {
                day0: 12.62,
                per_day: -0.01,
            };
            r.wear.crank_v = Drift {
                day0: 10.6,
                per_day: -0.055,
            };
        }
        Scenario::LeanTrim => {
            r.wear.long_trim_pct = Drift {
                day0: 2.0,
                per_day: 0.8,
            };
        }
        Scenario::StuckThermostat => r.wear.thermostat_stuck_day = Some(THERMOSTAT_STUCK_DAY),
        Scenario::MisfireDeveloping => {
            r.wear.misfire_ewma_cyl1 = Drift {
                day0: 0.0,
                per_day: 2.0,
            };
        }
        Scenario::CatalystAgeing => {
            r.wear.catalyst_ratio = Drift {
                day0: 0.30,
                per_day: 0.02,
            };
        }
        _ => {}
    }
    r
}

/// Codes the ECU sets as the wear progresses.
fn wear_timeline(scenario: Scenario, r: &Routine) -> Timeline {
    let code = |c: &str| dtcs(&[c]).into_iter().next();
    let day = |d: f64| secs_f64(d * DAY_S);
    let step = |at: Duration, change: Change| Step { at, ecu: 0, change };
    match scenario {
        Scenario::LeanTrim => {
            let (Some(p0171), Some(pending), Some(confirmed)) = (
                code("P0171"),
                r.wear.long_trim_pct.day_reaching(LEAN_PENDING_TRIM),
                r.wear.long_trim_pct.day_reaching(LEAN_CONFIRMED_TRIM),
            ) else {
                return Timeline::default();
            };
            Timeline::new(vec![
                step(day(pending), Change::Pending(p0171)),
                step(day(confirmed), Change::Confirmed(p0171)),
            ])
        }
        Scenario::MisfireDeveloping => {
            let (Some(p0301), Some(pending), Some(confirmed)) = (
                code("P0301"),
                r.wear.misfire_ewma_cyl1.day_reaching(MISFIRE_PENDING_EWMA),
                r.wear
                    .misfire_ewma_cyl1
                    .day_reaching(MISFIRE_CONFIRMED_EWMA),
            ) else {
                return Timeline::default();
            };
            Timeline::new(vec![
                step(day(pending), Change::Pending(p0301)),
                step(day(confirmed), Change::Confirmed(p0301)),
            ])
        }
        Scenario::CatalystAgeing => {
            let (Some(p0420), Some(pending), Some(confirmed)) = (
                code("P0420"),
                r.wear.catalyst_ratio.day_reaching(CATALYST_PENDING_RATIO),
                r.wear.catalyst_ratio.day_reaching(CATALYST_CONFIRMED_RATIO),
            ) else {
                return Timeline::default();
            };
            Timeline::new(vec![
                step(day(pending), Change::Pending(p0420)),
                step(day(confirmed), Change::Confirmed(p0420)),
            ])
        }
        Scenario::StuckThermostat => {
            let Some(p0128) = code("P0128") else {
                return Timeline::default();
            };
            Timeline::new(vec![
                step(day(THERMOSTAT_P0128_DAY - 2.0), Change::Pending(p0128)),
                step(day(THERMOSTAT_P0128_DAY), Change::Confirmed(p0128)),
            ])
        }
        _ => Timeline::default(),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The engine (ECU 0) steps of [`DEVELOPING_TIMELINE`].
fn developing_timeline() -> Timeline {
    let code = |c: &str| dtcs(&[c]).into_iter().next();
    let (Some(misfire), Some(overtemp)) = (code("P0301"), code("P0217")) else {
        return Timeline::default();
    };
    let at = |i: usize| secs(DEVELOPING_TIMELINE[i].0);
    let step = |i: usize, change: Change| Step {
        at: at(i),
        ecu: 0,
        change,
    };
    Timeline::new(vec![
        step(1, Change::Pending(misfire)),
        step(1, Change::RpmJitter(70.0)),
        step(2, Change::Confirmed(misfire)),
        step(4, Change::Confirmed(overtemp)),
        step(6, Change::EcuCleared(overtemp)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>().unwrap(), sc);
            assert_eq!(sc.build().protocol, sc.protocol());
        }
        assert_eq!("Multi_ECU".parse::<Scenario>().unwrap(), Scenario::MultiEcu);
        let err = "bogus".parse::<Scenario>().unwrap_err().to_string();
        assert!(
            err.contains("healthy") && err.contains("legacy-iso9141"),
            "{err}"
        );
    }
}
