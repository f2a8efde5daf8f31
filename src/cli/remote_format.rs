//! How `obd-agent remote` prints a reply's `result` for a person at the hotline.
//!
//! Works on the JSON as received: the vehicle may run a newer agent, and a field this client
//! does not know must not make the reply unreadable.

use std::fmt::Write as _;

use serde_json::Value;

use crate::uplink::Command;

pub fn render(command: &Command, result: &Value) -> String {
    match command {
        Command::Scan => scan(result),
        Command::Live { .. } => live(result),
        Command::Vin => match result.get("vin").and_then(Value::as_str) {
            Some(vin) => format!("VIN: {vin}\n"),
            None => "VIN: not reported by the vehicle\n".to_string(),
        },
        Command::Clear => clear(result),
        Command::Freeze { .. } => pretty(result),
        Command::ServiceDone { .. } => match result.get("recorded") {
            Some(r) => format!(
                "Recorded: {} done at {} km\n",
                text(&r["item"]),
                text(&r["odometer_km"])
            ),
            None => pretty(result),
        },
        Command::Appointment => match result.get("suggestion") {
            Some(s) if !s.is_null() => format!(
                "{}\nUrgency: {}  window: {} .. {}\nItems: {}  codes: {}\n",
                text(&s["summary"]),
                text(&s["urgency"]),
                text(&s["window_start"]),
                text(&s["window_end"]),
                list(&s["items"]),
                list(&s["codes"])
            ),
            _ => "No visit needed: nothing due and no faults.\n".to_string(),
        },
    }
}

fn list(value: &Value) -> String {
    let items: Vec<String> = value.as_array().into_iter().flatten().map(text).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{f:.2}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn scan(result: &Value) -> String {
    let report = &result["report"];
    let mut out = String::new();
    let vin = report["vin"].as_str().unwrap_or("not reported");
    let _ = writeln!(out, "VIN: {vin}");
    let mil = if report["mil"].as_bool() == Some(true) {
        "ON"
    } else {
        "off"
    };
    let _ = writeln!(out, "MIL: {mil}");
    // Description and urgency per code come from the triage's knowledge entries.
    let knowledge: Vec<&Value> = result["triage"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["knowledge"].as_array().into_iter().flatten())
        .collect();
    let dtcs = report["dtcs"].as_array().cloned().unwrap_or_default();
    if dtcs.is_empty() {
        let _ = writeln!(out, "No trouble codes.");
    } else {
        let _ = writeln!(out, "Trouble codes:");
    }
    for dtc in &dtcs {
        let code = dtc["code"].as_str().unwrap_or("?");
        let known = knowledge.iter().find(|k| k["code"].as_str() == Some(code));
        let urgency = known
            .and_then(|k| k["urgency"].as_str())
            .unwrap_or("unknown");
        let description = known
            .and_then(|k| k["description"].as_str())
            .unwrap_or("no description known");
        let _ = writeln!(
            out,
            "  {code:<8} {:<9} ECU {:<4} urgency {urgency:<8} {description}",
            dtc["kind"].as_str().unwrap_or("?"),
            dtc["ecu"].as_str().unwrap_or("?"),
        );
    }
    if let Some(worst) = result["triage"]["worst"].as_str() {
        let _ = writeln!(out, "Worst urgency: {worst}");
    }
    out
}

fn live(result: &Value) -> String {
    let mut out = String::new();
    for reading in result["readings"].as_array().into_iter().flatten() {
        for value in reading["values"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "[{}] {:<24} {} {}",
                text(&reading["ecu"]),
                text(&value["key"]),
                text(&value["value"]),
                text(&value["unit"]),
            );
        }
    }
    if out.is_empty() {
        out.push_str("No values: no ECU answered for these PIDs.\n");
    }
    out
}

fn clear(result: &Value) -> String {
    format!("Clear done. Outcome:\n{}", pretty(&result["clear"]))
}
