use super::*;

const VIN_TEXT: &str = "WP0ZZZ99ZTS392124";

fn can(pid: u8, count: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![RESPONSE, pid, count];
    m.extend_from_slice(data);
    m
}

/// Legacy framing: 4 data bytes per message, numbered from 1.
fn legacy(pid: u8, data: &[u8]) -> Vec<Vec<u8>> {
    (1u8..)
        .zip(data.chunks(4))
        .map(|(seq, chunk)| {
            let mut m = vec![RESPONSE, pid, seq];
            m.extend_from_slice(chunk);
            m
        })
        .collect()
}

fn refs(messages: &[Vec<u8>]) -> Vec<&[u8]> {
    messages.iter().map(Vec::as_slice).collect()
}

fn legacy_vin_data() -> Vec<u8> {
    let mut data = vec![0, 0, 0];
    data.extend_from_slice(VIN_TEXT.as_bytes());
    data
}

#[test]
fn vin_on_can() {
    let message = can(VIN, 1, VIN_TEXT.as_bytes());
    assert_eq!(decode_vin(&[&message]), Ok(VIN_TEXT.to_string()));
    let mut padded = can(VIN, 1, VIN_TEXT.as_bytes());
    padded.extend([0, 0, 0]);
    assert_eq!(decode_vin(&[&padded]), Ok(VIN_TEXT.to_string()));
}

#[test]
fn vin_on_legacy_protocols_in_any_order() {
    let messages = legacy(VIN, &legacy_vin_data());
    assert_eq!(messages.len(), 5);
    assert_eq!(decode_vin(&refs(&messages)), Ok(VIN_TEXT.to_string()));
    let mut shuffled = messages.clone();
    shuffled.swap(0, 3);
    shuffled.swap(1, 4);
    assert_eq!(decode_vin(&refs(&shuffled)), Ok(VIN_TEXT.to_string()));
}

#[test]
fn legacy_gaps_and_repeats_are_reported() {
    let mut messages = legacy(VIN, &legacy_vin_data());
    messages.remove(2);
    assert!(matches!(
        decode_vin(&refs(&messages)),
        Err(DecodeError::Sequence { pid: VIN, detail }) if detail.contains("message 3")
    ));
    let mut doubled = legacy(VIN, &legacy_vin_data());
    doubled[4] = doubled[1].clone();
    assert!(matches!(
        decode_vin(&refs(&doubled)),
        Err(DecodeError::Sequence { .. })
    ));
    let short = [RESPONSE, VIN, 1, b'W', b'P'];
    let other = [RESPONSE, VIN, 2, b'0', b'Z', b'Z', b'Z'];
    assert!(matches!(
        decode_vin(&[&short, &other]),
        Err(DecodeError::Sequence { .. })
    ));
}

#[test]
fn invalid_vins_are_reported_with_their_text() {
    let with_o = can(VIN, 1, b"WPOZZZ99ZTS392124");
    assert_eq!(
        decode_vin(&[&with_o]),
        Err(DecodeError::InvalidVin {
            vin: "WPOZZZ99ZTS392124".into(),
            reason: "it contains I, O or Q, which VINs never use"
        })
    );
    let short = can(VIN, 1, b"WP0ZZZ99ZTS39212");
    assert!(
        matches!(decode_vin(&[&short]), Err(DecodeError::InvalidVin { reason, .. }) if reason.contains("17"))
    );
    let binary = can(VIN, 1, b"WP0ZZZ99ZTS39212\x01");
    assert!(matches!(
        decode_vin(&[&binary]),
        Err(DecodeError::InvalidVin { vin, .. }) if vin.ends_with("\\x01")
    ));
    assert!(matches!(
        decode_vin(&[&can(VIN, 1, b"wp0zzz99zts392124")]),
        Err(DecodeError::InvalidVin { .. })
    ));
}

#[test]
fn wrong_or_failed_answers() {
    let calid = can(CALIBRATION_ID, 1, &[b'A'; 16]);
    assert_eq!(
        decode_vin(&[&calid]),
        Err(DecodeError::WrongPid {
            service: 0x09,
            expected: VIN,
            got: CALIBRATION_ID
        })
    );
    assert_eq!(
        decode_vin(&[&[0x7F, 0x09, 0x31]]),
        Err(DecodeError::Negative {
            service: 0x09,
            nrc: 0x31,
            reason: "request out of range"
        })
    );
    assert_eq!(decode_vin(&[]), Err(DecodeError::Empty));
    assert_eq!(
        decode_vin(&[&[0x41, 0x02]]),
        Err(DecodeError::UnknownService(0x41))
    );
    assert!(matches!(
        decode_vin(&[&[RESPONSE]]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        decode_vin(&[&[RESPONSE, VIN]]),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn calibration_ids_both_framings() {
    let mut data = b"JMB*36761500".to_vec();
    data.extend([0; 4]);
    data.extend(b"JMB*47872611\0\0\0\0");
    let expected = vec!["JMB*36761500".to_string(), "JMB*47872611".to_string()];
    let message = can(CALIBRATION_ID, 2, &data);
    assert_eq!(decode_calibration_ids(&[&message]), Ok(expected.clone()));
    let mut messages = legacy(CALIBRATION_ID, &data);
    assert_eq!(messages.len(), 8);
    messages.reverse();
    assert_eq!(decode_calibration_ids(&refs(&messages)), Ok(expected));
    let cut = can(CALIBRATION_ID, 1, &data[..10]);
    assert!(matches!(
        decode_calibration_ids(&[&cut]),
        Err(DecodeError::Sequence { .. })
    ));
}

#[test]
fn cvns_are_hex() {
    let message = can(CVN, 2, &[0x17, 0x91, 0xBC, 0x82, 0x16, 0xE0, 0x62, 0xBE]);
    assert_eq!(
        decode_cvns(&[&message]),
        Ok(vec!["1791BC82".into(), "16E062BE".into()])
    );
    let one = [RESPONSE, CVN, 0x01, 0x00, 0x0A, 0xFF, 0x01];
    assert_eq!(decode_cvns(&[&one]), Ok(vec!["000AFF01".into()]));
    let messages = legacy(CVN, &[0x17, 0x91, 0xBC, 0x82, 0x16, 0xE0, 0x62, 0xBE]);
    assert_eq!(
        decode_cvns(&refs(&messages)),
        Ok(vec!["1791BC82".into(), "16E062BE".into()])
    );
}

#[test]
fn ecu_name() {
    let message = can(ECU_NAME, 1, b"ECM\0-EngineControl\0\0");
    assert_eq!(decode_ecu_name(&[&message]), Ok("ECM-EngineControl".into()));
    let messages = legacy(ECU_NAME, b"TCM\0-TransmissionCtl");
    assert_eq!(
        decode_ecu_name(&refs(&messages)),
        Ok("TCM-TransmissionCtl".into())
    );
}

#[test]
fn counts_and_bitmaps() {
    assert_eq!(
        decode_message_count(&[RESPONSE, VIN_MESSAGE_COUNT, 0x05]),
        Ok(5)
    );
    // 0x54 = 0101 0100: 02, 04, 06; 0x40 = 0100 0000: 0A.
    let expected = vec![0x02, 0x04, 0x06, 0x0A];
    assert_eq!(
        decode_info_supported(&[RESPONSE, 0x00, 0x54, 0x40, 0, 0]),
        Ok(expected.clone())
    );
    assert_eq!(
        decode_info_supported(&[RESPONSE, 0x00, 0x01, 0x54, 0x40, 0, 0]),
        Ok(expected)
    );
}

#[test]
fn decode_info_dispatches_by_pid() {
    let vin = can(VIN, 1, VIN_TEXT.as_bytes());
    assert_eq!(decode_info(&[&vin]), Ok(VehicleInfo::Vin(VIN_TEXT.into())));
    assert_eq!(
        decode_info(&[&[RESPONSE, CVN_MESSAGE_COUNT, 0x01]]),
        Ok(VehicleInfo::MessageCount {
            pid: CVN_MESSAGE_COUNT,
            count: 1
        })
    );
    assert_eq!(
        decode_info(&[&[RESPONSE, 0x00, 0x54, 0x40, 0, 0]]),
        Ok(VehicleInfo::SupportedPids(vec![0x02, 0x04, 0x06, 0x0A]))
    );
    assert_eq!(
        decode_info(&[&[RESPONSE, IN_USE_PERFORMANCE, 0x02, 0x00, 0x10, 0x00, 0x20]]),
        Ok(VehicleInfo::Raw {
            pid: IN_USE_PERFORMANCE,
            data: "00 10 00 20".into()
        })
    );
    let json = serde_json::to_string(&VehicleInfo::Vin(VIN_TEXT.into())).unwrap_or_default();
    assert_eq!(json, r#"{"info":"vin","value":"WP0ZZZ99ZTS392124"}"#);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(messages in proptest::collection::vec(
        proptest::collection::vec(0u8..=255, 0..24), 0..6)
    ) {
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let _ = decode_info(&messages);
        let _ = decode_vin(&messages);
        let _ = decode_calibration_ids(&messages);
        let _ = decode_cvns(&messages);
        let _ = decode_ecu_name(&messages);
    }
}
