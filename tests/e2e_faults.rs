//! The adapter misbehaving on a real pseudo-terminal: noise before answers, a spontaneous
//! reset mid-session, answers that never come. The transport must recover, and whatever it
//! reports must be what the vehicle holds: a wrong code is worse than no answer.

mod e2e_common;

use std::collections::BTreeSet;
use std::time::Duration;

use e2e_common::*;
use obd_agent::obd::dtc::Dtc;
use obd_agent::reader::{DtcKind, ReadError, VehicleReader};
use obd_agent::sim::{Faults, Profile, Scenario, SimLatency, SimSettings, SimVehicle};
use obd_agent::transport::{EcuAddress, Transport};

/// What a technician's read gets: every code, the freeze frames' codes, the VIN.
#[derive(Debug, PartialEq)]
struct Read {
    codes: BTreeSet<(DtcKind, EcuAddress, Dtc)>,
    frames: BTreeSet<(EcuAddress, Option<Dtc>)>,
    vin: Option<String>,
    live: BTreeSet<(EcuAddress, u8)>,
}

fn expected(model: &SimVehicle) -> Read {
    Read {
        codes: model_all_codes(model),
        frames: model
            .ecus
            .iter()
            .filter_map(|e| e.freeze.map(|f| (e.address(model.protocol), Some(f.dtc))))
            .collect(),
        vin: model.ecus.iter().find_map(|e| e.info.vin.clone()),
        live: model
            .ecus
            .iter()
            .flat_map(|e| {
                let addr = e.address(model.protocol);
                [0x05u8, 0x0C]
                    .into_iter()
                    .filter(|p| e.pids.contains(p))
                    .map(move |p| (addr, p))
            })
            .collect(),
    }
}

async fn full_read(transport: &mut dyn Transport) -> Result<Read, ReadError> {
    let mut reader = VehicleReader::new(transport);
    reader.discover().await?;
    let codes = read_codes(&reader.all_dtcs().await?);
    let frames = reader
        .freeze_frames()
        .await?
        .iter()
        .map(|f| (f.ecu, f.dtc))
        .collect();
    let vin = reader.vin().await?;
    let live = reader
        .read_pids(&[0x05, 0x0C])
        .await?
        .iter()
        .map(|r| (r.ecu, r.reading.pid))
        .collect();
    Ok(Read {
        codes,
        frames,
        vin,
        live,
    })
}

/// Reads `scenario` with `faults` twice in one session; both reads must be exact.
async fn read_with(scenario: Scenario, profile: Profile, faults: Faults) {
    let mut settings = settings(scenario, profile);
    settings.faults = faults;
    read_twice(settings, Duration::from_millis(1500)).await;
}

/// One read is enough where the fault repeats within it anyway.
async fn read_once(settings: SimSettings, command_timeout: Duration) {
    read_n(settings, command_timeout, 1).await;
}

async fn read_twice(settings: SimSettings, command_timeout: Duration) {
    read_n(settings, command_timeout, 2).await;
}

async fn read_n(settings: SimSettings, command_timeout: Duration, reads: u32) {
    let (scenario, profile, faults) =
        (settings.scenario, settings.profile, settings.faults.clone());
    let model = scenario.build();
    let server = serve(settings).await;
    let mut options = options(&port_of(&server));
    options.command_timeout = command_timeout;
    let mut transport = open_with(options).await;
    for round in 1..=reads {
        let read = bounded("a full read", full_read(&mut transport)).await;
        match read {
            Ok(read) => assert_eq!(
                read,
                expected(&model),
                "{scenario} via {} with {faults:?}, read {round}",
                profile.name()
            ),
            Err(e) => panic!(
                "{scenario} via {} with {faults:?}, read {round}: did not recover: {e}",
                profile.name()
            ),
        }
    }
}

/// What noise looks like in practice: binary junk at a wrong baud rate or from a radio,
/// a Bluetooth module's status text, stray hex, and a stray prompt character.
const GARBAGE: [&[u8]; 6] = [
    b"\x00\xFF\xFE\x80\x13",
    b"\r\nCONNECTED\r\n",
    b"#",
    b"7E",
    b"\r41 0C\r",
    b"\x13>\x11",
];

#[tokio::test]
async fn noise_before_every_second_answer_is_never_read_as_data() {
    // Each kind of noise on a CAN car and on a K-line car, alternating, to keep this quick.
    let scenarios = [Scenario::MultiEcu, Scenario::LegacyIso9141]
        .into_iter()
        .cycle();
    for (garbage, scenario) in GARBAGE.into_iter().zip(scenarios) {
        let mut settings = settings(scenario, Profile::Genuine);
        settings.faults = Faults {
            garbage_every: Some(2),
            garbage: garbage.to_vec(),
            ..Faults::default()
        };
        read_once(settings, Duration::from_millis(1500)).await;
    }
}

/// When every answer is garbled the read may fail, but must never report something else.
#[tokio::test]
async fn noise_before_every_answer_gives_the_truth_or_an_error() {
    for garbage in GARBAGE {
        let model = Scenario::MultiEcu.build();
        let mut settings = settings(Scenario::MultiEcu, Profile::Genuine);
        settings.faults = Faults {
            garbage_every: Some(1),
            garbage: garbage.to_vec(),
            ..Faults::default()
        };
        let server = serve(settings).await;
        let mut transport = open(&server).await;
        if let Ok(read) = bounded("a full read", full_read(&mut transport)).await {
            assert_eq!(read, expected(&model), "garbage {garbage:?}");
        }
    }
}

#[tokio::test]
async fn a_spontaneous_reset_at_any_point_is_recovered_from() {
    // Request numbers 1..=24 cover discovery, every code service, the freeze frame, the VIN
    // and the live values of the first read.
    for at in 1..=24 {
        for (scenario, profile) in [
            (Scenario::Misfire, Profile::Genuine),
            (Scenario::MultiEcu, Profile::CloneV15),
            (Scenario::LegacyKwp, Profile::Genuine),
        ] {
            let faults = Faults {
                reset_at_request: Some(at),
                ..Faults::default()
            };
            read_with(scenario, profile, faults).await;
        }
    }
}

#[tokio::test]
async fn a_dropped_answer_is_asked_again() {
    for (every, scenario) in [(4, Scenario::MultiEcu), (5, Scenario::LegacyJ1850)] {
        let mut settings = settings(scenario, Profile::CloneV15);
        settings.faults = Faults {
            drop_every: Some(every),
            ..Faults::default()
        };
        // Answers come at once with zero latency; a short timeout keeps each drop cheap.
        read_twice(settings, Duration::from_millis(300)).await;
    }
}

/// With real timing, noise ahead of an answer arrives on its own, before the ECUs answer;
/// a stray `>` in it must not pass for the end of the answer.
#[tokio::test]
async fn a_stray_prompt_in_noise_does_not_end_the_answer() {
    for garbage in [&b"\x13>\x11"[..], b"#>", b"\rCONNECTED\r>"] {
        let mut settings = settings(Scenario::MultiEcu, Profile::Genuine);
        settings.latency = SimLatency::realistic();
        settings.baud = Some(38400);
        settings.faults = Faults {
            garbage_every: Some(2),
            garbage: garbage.to_vec(),
            ..Faults::default()
        };
        read_once(settings, Duration::from_millis(1500)).await;
    }
}
