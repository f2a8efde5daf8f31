//! `systemd/config.toml.example` is the service engineer's reference to the config file. These
//! tests keep it and `src/config` from drifting apart in either direction:
//! - the example parses as it is;
//! - every value it shows uncommented, apart from the three required ones, is the real default;
//! - every setting it shows commented out (`#key = value`) is a key the parser knows, with a
//!   value of the right type;
//! - every key the parser knows appears in the example (the parser's own "expected one of"
//!   list for an unknown key is the source of truth).

use obd_agent::config::{AdapterConfig, Config, ConfigError, parse_str};

const EXAMPLE: &str = include_str!("../systemd/config.toml.example");
const ORIGIN: &str = "systemd/config.toml.example";

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_str(text, ORIGIN)
}

#[test]
fn the_example_parses() {
    if let Err(e) = parse(EXAMPLE) {
        panic!("{e}");
    }
}

#[test]
fn the_values_shown_are_the_defaults() {
    let example = parse(EXAMPLE).unwrap();
    // Only what has no default is repeated; everything else must come out the same.
    let AdapterConfig::Elm327 { port, .. } = &example.adapter else {
        panic!("the example uses an ELM327 port: {:?}", example.adapter);
    };
    let mqtt = example.mqtt.as_ref().expect("the example shows [mqtt]");
    let scheme = if mqtt.tls { "mqtts" } else { "mqtt" };
    let minimal = format!(
        "vehicle_id = {:?}\n[adapter]\nport = {port:?}\n[mqtt]\nurl = \"{scheme}://{}:{}\"\n",
        example.vehicle_id, mqtt.host, mqtt.port
    );
    assert_eq!(
        example,
        parse(&minimal).unwrap(),
        "minimal config:\n{minimal}"
    );
}

/// (line index, section, key, commented out) of every line, active or `#key = value`, that
/// sets a key.
fn settings(text: &str) -> Vec<(usize, String, String, bool)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (body, commented) = match line.strip_prefix('#') {
            // "# note" is prose; "#key = value" is a setting.
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => (rest, true),
            Some(_) => continue,
            None => (line, false),
        };
        if let Some((key, _)) = body.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                found.push((i, section.clone(), key.to_string(), commented));
            }
        }
    }
    found
}

#[test]
fn every_commented_setting_is_a_known_key() {
    let all = settings(EXAMPLE);
    let lines: Vec<&str> = EXAMPLE.lines().collect();
    let mut checked = 0;
    for (index, section, key, _) in all.iter().filter(|s| s.3) {
        // Uncomment this one line; drop the active line it replaces, if any (a TOML key may
        // appear once per table).
        let replaced: Vec<usize> = all
            .iter()
            .filter(|s| !s.3 && s.1 == *section && s.2 == *key)
            .map(|s| s.0)
            .collect();
        let text: String = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !replaced.contains(i))
            .map(|(i, line)| {
                let line = if i == *index { &line[1..] } else { line };
                format!("{line}\n")
            })
            .collect();
        match parse(&text) {
            // A known key with a well-typed value. Some are refused on their own merits (a
            // key file that is not on this machine, an alternative to port); that is fine.
            Ok(_) | Err(ConfigError::Invalid { .. }) | Err(ConfigError::Read { .. }) => {}
            Err(e @ ConfigError::Syntax { .. }) => {
                panic!("[{section}] #{key} in the example, uncommented: {e}")
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} commented settings found");
}

/// The keys the parser accepts in `section` ("" for the top level), from its error for an
/// unknown one: "unknown field `x`, expected one of `a`, `b`".
fn known_keys(section: &str) -> Vec<String> {
    const PROBE: &str = "no_such_key_for_the_test = 1";
    let text = if section.is_empty() {
        format!("{PROBE}\n{EXAMPLE}")
    } else {
        let header = format!("[{section}]");
        assert!(EXAMPLE.lines().any(|l| l.trim() == header), "{header}");
        EXAMPLE
            .lines()
            .flat_map(|l| {
                if l.trim() == header {
                    vec![l, PROBE]
                } else {
                    vec![l]
                }
            })
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let message = match parse(&text) {
        Err(ConfigError::Syntax { message, .. }) => message,
        other => panic!("[{section}] accepted an unknown key: {other:?}"),
    };
    let expected = message
        .split_once("expected")
        .unwrap_or_else(|| panic!("no list of keys in: {message}"))
        .1;
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!keys.is_empty(), "no keys in: {message}");
    keys
}

#[test]
fn every_key_of_the_config_is_in_the_example() {
    let shown = settings(EXAMPLE);
    let top = known_keys("");
    let sections: Vec<&String> = top
        .iter()
        .filter(|k| EXAMPLE.lines().any(|l| l.trim() == format!("[{k}]")))
        .collect();
    for key in &top {
        let is_section = sections.contains(&key);
        let is_setting = shown.iter().any(|s| s.1.is_empty() && s.2 == *key);
        assert!(
            is_section || is_setting,
            "top-level `{key}` is missing from the example"
        );
    }
    for section in sections {
        for key in known_keys(section) {
            assert!(
                shown.iter().any(|s| s.1 == *section && s.2 == key),
                "[{section}] {key} is missing from the example"
            );
        }
    }
}
