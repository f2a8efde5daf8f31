//! `obd-agent explain`: text and JSON output, and clear errors for malformed codes.

use clap::Parser;
use obd_agent::cli::explain::{ExplainArgs, ExplainError, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ExplainArgs,
}

fn explain(argv: &[&str]) -> Result<String, ExplainError> {
    let cli = Cli::try_parse_from(std::iter::once("explain").chain(argv.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    run(&cli.args, &mut out)?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[test]
fn text_for_a_generic_code() {
    let text = explain(&["P0301"]).unwrap();
    assert!(
        text.starts_with("P0301  Cylinder 1 Misfire Detected\n"),
        "{text}"
    );
    assert!(text.contains("system:    powertrain / ignition system or misfire"));
    assert!(text.contains("urgency:   high"));
    assert!(text.contains("skill:     engine"));
    assert!(text.contains("meaning:") && text.contains("action:"));
}

#[test]
fn several_codes_lower_case_and_manufacturer() {
    let text = explain(&["c0035", "B1234", "P0D00"]).unwrap();
    assert!(text.contains("C0035  Left Front Wheel Speed Sensor Circuit"));
    assert!(text.contains("urgency:   critical"));
    assert!(text.contains("B1234  manufacturer-specific"));
    assert!(text.contains("system:    body / manufacturer-specific"));
    assert!(text.contains("P0D00  not in the database"), "{text}");
}

#[test]
fn malformed_codes_are_all_named_with_the_accepted_form() {
    let err = explain(&["P9999", "X0100", "P01", "P0300"]).unwrap_err();
    let message = err.to_string();
    for bad in ["'P9999'", "'X0100'", "'P01'"] {
        assert!(message.contains(bad), "{message}");
    }
    assert!(
        message.contains("a digit 0-3 and three hex digits"),
        "{message}"
    );
    assert!(!message.contains("P0300"));
    assert!(matches!(err, ExplainError::BadCodes(ref v) if v.len() == 3));
}

#[test]
fn padding_is_not_a_code() {
    let err = explain(&["P0000"]).unwrap_err();
    assert!(err.to_string().contains("padding"), "{err}");
}

#[test]
fn no_code_is_refused_by_the_parser() {
    assert!(Cli::try_parse_from(["explain"]).is_err());
    let args = ExplainArgs {
        codes: vec![],
        json: false,
    };
    assert!(matches!(
        run(&args, &mut Vec::new()),
        Err(ExplainError::NoCodes)
    ));
}

#[test]
fn json_shape() {
    let text = explain(&["--json", "P0420", "U1000"]).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let p0420 = &items[0];
    assert_eq!(p0420["code"], "P0420");
    assert_eq!(
        p0420["description"],
        "Catalyst System Efficiency Below Threshold (Bank 1)"
    );
    assert_eq!(p0420["system"], "powertrain");
    assert_eq!(p0420["subsystem"], "auxiliary_emissions");
    assert_eq!(p0420["urgency"], "medium");
    assert_eq!(p0420["skill"], "engine");
    assert_eq!(p0420["labour"], "1_to_2h");
    assert_eq!(p0420["source"]["kind"], "generic");
    for key in ["meaning", "action"] {
        assert!(!p0420[key].as_str().unwrap().is_empty());
    }
    assert_eq!(items[1]["source"]["kind"], "range_only");
    assert_eq!(items[1]["subsystem"], "manufacturer_specific");
}
