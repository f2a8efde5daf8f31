//! What the service centre receives, one readable line per message.

use std::time::Duration;

use crate::uplink::payload::{
    AlertEvent, AlertPayload, CodeStatus, Presence, StatusPayload, TelemetryPayload, Urgency,
};

/// One line for a message received `elapsed` after the demo started; a payload it cannot
/// read is shown raw (cut short), so nothing the centre receives is hidden.
pub fn line(elapsed: Duration, topic: &str, payload: &[u8]) -> String {
    let t = format!("{:>6.1}s", elapsed.as_secs_f64());
    let kind = topic.rsplit('/').next().unwrap_or(topic);
    let text = match kind {
        "alerts" => serde_json::from_slice::<AlertPayload>(payload)
            .ok()
            .map(|a| alert(&a)),
        "status" => serde_json::from_slice::<StatusPayload>(payload)
            .ok()
            .map(|s| status(&s)),
        "telemetry" => serde_json::from_slice::<TelemetryPayload>(payload)
            .ok()
            .map(|m| telemetry(&m)),
        _ => None,
    };
    let text = text.unwrap_or_else(|| {
        let raw = String::from_utf8_lossy(payload);
        let cut: String = raw.chars().take(100).collect();
        format!("{kind:<10} {cut}")
    });
    format!("{t}  {text}")
}

fn alert(a: &AlertPayload) -> String {
    let event = match a.event {
        AlertEvent::New => "new",
        AlertEvent::Persisting => "persisting",
        AlertEvent::Cleared => "cleared",
    };
    let urgency = match a.urgency {
        Urgency::Low => "low",
        Urgency::Medium => "medium",
        Urgency::High => "HIGH",
        Urgency::Critical => "CRITICAL",
    };
    let status = match a.status {
        CodeStatus::Pending => "pending",
        CodeStatus::Stored => "stored",
        CodeStatus::Permanent => "permanent",
    };
    let mut out = format!(
        "alert      {event:<10} {urgency:<8} {code:<6} {desc} ({status}",
        code = a.code,
        desc = a.description
    );
    if let Some(ecu) = &a.ecu {
        out.push_str(&format!(", ECU {ecu}"));
    }
    out.push(')');
    // The first reason is the rules' strongest: the one a dispatcher reads.
    if let Some(reason) = a.reasons.first() {
        out.push_str(&format!(": {reason}"));
    }
    out
}

fn status(s: &StatusPayload) -> String {
    let state = match s.state {
        Presence::Online => "online",
        Presence::Offline => "offline",
    };
    let mut out = format!("status     {state:<10} agent {}", s.agent_version);
    if let Some(adapter) = &s.adapter {
        out.push_str(&format!(", {adapter}"));
    }
    if let Some(vin) = &s.vin {
        out.push_str(&format!(", VIN {vin}"));
    }
    out
}

fn telemetry(m: &TelemetryPayload) -> String {
    let values: Vec<String> = m
        .values
        .iter()
        .map(|v| format!("{} {:.0} {}", v.name, v.value, v.unit))
        .collect();
    format!("telemetry  {}", values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uplink::payload::{Header, PidValue, Timestamp};

    fn sample_alert(event: AlertEvent) -> AlertPayload {
        AlertPayload {
            header: Header::new("DEMO-001"),
            alert_id: "a1".into(),
            event,
            code: "P0301".into(),
            description: "Cylinder 1 Misfire Detected".into(),
            system: "powertrain".into(),
            urgency: Urgency::High,
            reasons: vec!["MIL on".into(), "stored code".into()],
            status: CodeStatus::Stored,
            ecu: Some("7E8".into()),
            vin: None,
            freeze_frame: None,
            first_seen: Timestamp::now(),
            last_seen: Timestamp::now(),
            cleared_at: None,
        }
    }

    #[test]
    fn an_alert_is_one_line_with_event_urgency_code_and_top_reason() {
        let json = serde_json::to_vec(&sample_alert(AlertEvent::New)).unwrap();
        let l = line(
            Duration::from_millis(12_340),
            "fleet/DEMO-001/alerts",
            &json,
        );
        assert_eq!(
            l,
            "  12.3s  alert      new        HIGH     P0301  Cylinder 1 Misfire Detected (stored, ECU 7E8): MIL on"
        );
        let mut cleared = sample_alert(AlertEvent::Cleared);
        cleared.reasons.clear();
        cleared.ecu = None;
        let json = serde_json::to_vec(&cleared).unwrap();
        let l = line(Duration::ZERO, "fleet/DEMO-001/alerts", &json);
        assert!(
            l.ends_with("cleared    HIGH     P0301  Cylinder 1 Misfire Detected (stored)"),
            "{l}"
        );
    }

    #[test]
    fn status_and_telemetry_lines() {
        let status = StatusPayload {
            header: Header::new("DEMO-001"),
            state: Presence::Offline,
            agent_version: "0.1.0".into(),
            adapter: None,
            vin: Some("1D4GP00R55B123456".into()),
            since: Timestamp::now(),
        };
        let json = serde_json::to_vec(&status).unwrap();
        let l = line(Duration::from_secs(61), "fleet/DEMO-001/status", &json);
        assert_eq!(
            l,
            "  61.0s  status     offline    agent 0.1.0, VIN 1D4GP00R55B123456"
        );
        let telemetry = TelemetryPayload {
            header: Header::new("DEMO-001"),
            values: vec![PidValue {
                pid: "05".into(),
                name: "coolant_temp".into(),
                value: 117.6,
                unit: "°C".into(),
            }],
        };
        let json = serde_json::to_vec(&telemetry).unwrap();
        let l = line(Duration::from_secs(2), "fleet/DEMO-001/telemetry", &json);
        assert_eq!(l, "   2.0s  telemetry  coolant_temp 118 °C");
    }

    #[test]
    fn anything_else_is_shown_raw_and_short() {
        let l = line(Duration::ZERO, "fleet/DEMO-001/alerts", b"not json");
        assert_eq!(l, "   0.0s  alerts     not json");
    }
}
