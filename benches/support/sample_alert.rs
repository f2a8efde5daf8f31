//! The alert the uplink benches queue by the thousand: a confirmed P0301 with its VIN, the
//! size of what a real misfire alert puts on the wire.

use std::time::SystemTime;

use obd_agent::uplink::payload::*;

/// Alert number `n` of `vehicle`; `with_freeze_frame` adds the one-value freeze frame a real
/// alert usually carries (a little more payload per message).
pub fn misfire_alert(vehicle: &str, n: usize, with_freeze_frame: bool) -> AlertPayload {
    let now = Timestamp(SystemTime::now());
    let freeze_frame = with_freeze_frame.then(|| FreezeFrame {
        frame: 0,
        code: "P0301".into(),
        values: vec![PidValue {
            pid: "0C".into(),
            name: "Engine speed".into(),
            value: 2150.5,
            unit: "rpm".into(),
        }],
    });
    AlertPayload {
        header: Header::new(vehicle),
        alert_id: format!("{vehicle}-{n}"),
        event: AlertEvent::New,
        code: "P0301".into(),
        description: "Cylinder 1 misfire detected".into(),
        system: "powertrain".into(),
        urgency: Urgency::High,
        reasons: vec!["MIL on".into(), "stored code".into()],
        status: CodeStatus::Stored,
        ecu: Some("7E8".into()),
        vin: Some("WVWZZZ1JZXW000001".into()),
        freeze_frame,
        first_seen: now,
        last_seen: now,
        cleared_at: None,
    }
}
