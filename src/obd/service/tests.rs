use super::*;
use crate::obd::dtc::Dtc;
use crate::obd::pid::ValueKind;

fn number(reading: &PidReading, key: &str) -> f64 {
    reading.number(key).unwrap_or(f64::NAN)
}

#[test]
fn request_builders() {
    assert_eq!(current_data_request(&[0x0C]), [0x01, 0x0C]);
    assert_eq!(
        current_data_request(&[0x0C, 0x0D, 0x05]),
        [0x01, 0x0C, 0x0D, 0x05]
    );
    assert_eq!(
        current_data_request(&[1, 2, 3, 4, 5, 6, 7, 8]),
        [0x01, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        freeze_frame_request(&[0x02, 0x0C], 0),
        [0x02, 0x02, 0x00, 0x0C, 0x00]
    );
    assert_eq!(vehicle_info_request(0x02), [0x09, 0x02]);
}

#[test]
fn multi_pid_answers_split_by_length() {
    let readings = decode_current_data(&[0x0C, 0x1A, 0xF8, 0x0D, 0x32]).unwrap();
    assert_eq!(readings.len(), 2);
    assert_eq!(
        (readings[0].key, number(&readings[0], "rpm")),
        ("rpm", 1726.0)
    );
    assert_eq!(
        (readings[1].key, number(&readings[1], "speed")),
        ("speed", 50.0)
    );
    // A supported-PID bitmap decodes like any other PID.
    let readings = decode_current_data(&[0x00, 0xBE, 0x1F, 0xA8, 0x13, 0x05, 0x7B]).unwrap();
    assert_eq!(readings[0].key, "pids_supported_01_20");
    assert_eq!(number(&readings[1], "coolant_temp"), 83.0);
}

#[test]
fn fill_bytes_after_the_last_pid_are_ignored() {
    for tail in [[0x00; 5], [0x55; 5], [0xAA; 5]] {
        let mut payload = vec![0x0D, 0x32];
        payload.extend(tail);
        assert_eq!(
            decode_current_data(&payload).unwrap().len(),
            1,
            "{tail:02X?}"
        );
    }
}

#[test]
fn broken_current_data() {
    assert_eq!(
        decode_current_data(&[0x0C, 0x1A]),
        Err(DecodeError::Length {
            pid: 0x0C,
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        decode_current_data(&[0x0D, 0x32, 0x0C, 0x1A]),
        Err(DecodeError::Length {
            pid: 0x0C,
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        decode_current_data(&[0x95, 0x00]),
        Err(DecodeError::UnknownPid(0x95))
    );
    assert!(matches!(
        decode_current_data(&[]),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn freeze_frames() {
    let payload = [0x02, 0x00, 0x03, 0x01, 0x0C, 0x00, 0x1A, 0xF8];
    let frames = decode_freeze_frame(&payload).unwrap();
    assert_eq!(frames.len(), 2);
    let (frame, dtc) = &frames[0];
    assert_eq!((*frame, dtc.key), (0, "freeze_dtc"));
    let code = Dtc::from_bytes(0x03, 0x01)
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert_eq!(dtc.values[0].value, ValueKind::Text(code));
    assert_eq!(number(&frames[1].1, "rpm"), 1726.0);
    assert!(matches!(
        decode_freeze_frame(&[0x0C]),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(
        decode_freeze_frame(&[0x0C, 0x00, 0x1A]),
        Err(DecodeError::Length {
            pid: 0x0C,
            expected: 2,
            got: 1
        })
    );
}

#[test]
fn responses_by_service() {
    let Ok(ServiceResponse::CurrentData(r)) = decode_response(&[0x41, 0x0C, 0x1A, 0xF8]) else {
        panic!("current data");
    };
    assert_eq!(number(&r[0], "rpm"), 1726.0);
    let codes = |s: &str| -> Vec<Dtc> { s.split(' ').filter_map(|c| c.parse().ok()).collect() };
    // CAN: a count byte; legacy: pairs padded with 00 00.
    let Ok(ServiceResponse::StoredDtcs(can)) =
        decode_response(&[0x43, 0x02, 0x01, 0x43, 0x01, 0x96])
    else {
        panic!("stored");
    };
    assert_eq!(can.codes, codes("P0143 P0196"));
    let Ok(ServiceResponse::PendingDtcs(legacy)) =
        decode_response(&[0x47, 0x01, 0x43, 0x00, 0x00, 0x00, 0x00])
    else {
        panic!("pending");
    };
    assert_eq!(legacy.codes, codes("P0143"));
    let Ok(ServiceResponse::PermanentDtcs(none)) = decode_response(&[0x4A, 0x00]) else {
        panic!("permanent");
    };
    assert!(none.codes.is_empty());
    assert_eq!(
        decode_response(&[0x44]),
        Ok(ServiceResponse::ClearAcknowledged)
    );
    let mut vin = vec![0x49, 0x02, 0x01];
    vin.extend(b"WP0ZZZ99ZTS392124");
    assert_eq!(
        decode_response(&vin),
        Ok(ServiceResponse::VehicleInfo(VehicleInfo::Vin(
            "WP0ZZZ99ZTS392124".into()
        )))
    );
    let Ok(ServiceResponse::FreezeFrame(ff)) = decode_response(&[0x42, 0x05, 0x01, 0x7B]) else {
        panic!("freeze frame");
    };
    assert_eq!((ff[0].0, number(&ff[0].1, "coolant_temp")), (1, 83.0));
}

#[test]
fn negative_and_unknown_responses() {
    assert_eq!(
        decode_response(&[0x7F, 0x01, 0x12]),
        Err(DecodeError::Negative {
            service: 0x01,
            nrc: 0x12,
            reason: "sub-function not supported / invalid format"
        })
    );
    assert_eq!(
        decode_response(&[0x7F, 0x04, 0x22]),
        Err(DecodeError::Negative {
            service: 0x04,
            nrc: 0x22,
            reason: "conditions not correct or request sequence error"
        })
    );
    assert!(matches!(
        decode_response(&[0x7F, 0x01]),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(
        decode_response(&[0x50, 0x01]),
        Err(DecodeError::UnknownService(0x50))
    );
    assert_eq!(decode_response(&[]), Err(DecodeError::Empty));
}

#[test]
fn nrc_names() {
    assert_eq!(nrc_name(0x10), "general reject");
    assert_eq!(nrc_name(0x11), "service not supported");
    assert_eq!(nrc_name(0x21), "busy, repeat request");
    assert_eq!(nrc_name(0x31), "request out of range");
    assert_eq!(
        nrc_name(0x78),
        "request correctly received, response pending"
    );
    assert_eq!(nrc_name(0x33), "security access denied");
    assert_eq!(nrc_name(0xF3), "manufacturer specific");
    assert_eq!(nrc_name(0x00), "reserved");
}

#[test]
fn hex_text() {
    let bytes = vec![0x41, 0x0C, 0x1A, 0xF8];
    assert_eq!(parse_hex("410C1AF8"), Ok(bytes.clone()));
    assert_eq!(parse_hex("41 0c 1a f8"), Ok(bytes.clone()));
    assert_eq!(parse_hex("  41\t0C1A F8\r\n"), Ok(bytes));
    for bad in ["410", "4 10C", "41 0G", "41-0C", "0x41", "41 é"] {
        assert_eq!(
            parse_hex(bad),
            Err(DecodeError::NotHex(bad.into())),
            "{bad}"
        );
    }
    assert_eq!(parse_hex("   "), Err(DecodeError::Empty));
}

#[test]
fn responses_serialize_with_a_service_tag() {
    let json = serde_json::to_value(decode_response(&[0x41, 0x0D, 0x32]).ok()).unwrap_or_default();
    assert_eq!(json["service"], "current_data");
    assert_eq!(json["data"][0]["values"][0]["value"], 50.0);
    let clear = serde_json::to_value(ServiceResponse::ClearAcknowledged).unwrap_or_default();
    assert_eq!(clear, serde_json::json!({"service": "clear_acknowledged"}));
}

proptest::proptest! {
    #[test]
    fn no_input_panics(data in proptest::collection::vec(0u8..=255, 0..64)) {
        let _ = decode_response(&data);
        let _ = decode_current_data(&data);
        let _ = decode_freeze_frame(&data);
    }

    #[test]
    fn hex_round_trips(data in proptest::collection::vec(0u8..=255, 1..32)) {
        let spaced: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
        proptest::prop_assert_eq!(parse_hex(&spaced.join(" ")), Ok(data.clone()));
        proptest::prop_assert_eq!(parse_hex(&spaced.concat()), Ok(data));
    }
}
