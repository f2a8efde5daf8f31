use super::*;

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|s| s.to_string()).collect()
}

fn can11(lines_: &[&str]) -> Decoded {
    decode_lines(&lines(lines_), Protocol::Can11_500)
}

fn response(ecu: EcuAddress, data: &[u8]) -> EcuResponse {
    EcuResponse {
        ecu,
        data: data.to_vec(),
    }
}

const VIN_DATA: &[u8] = b"1D4GP00R55B123456";

fn vin_response() -> Vec<u8> {
    let mut data = vec![0x49, 0x02, 0x01];
    data.extend_from_slice(VIN_DATA);
    data
}

#[test]
fn single_frame_with_and_without_spaces_and_padding() {
    let expected = vec![response(
        EcuAddress::Can11(0x7E8),
        &[0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13],
    )];
    for line in [
        "7E8 06 41 00 BE 3F A8 13",
        "7E8064100BE3FA813",
        "7E8 06 41 00 BE 3F A8 13 00",
    ] {
        let decoded = can11(&[line]);
        assert_eq!(decoded.responses, expected, "{line}");
        assert!(decoded.anomalies.is_empty());
    }
}

#[test]
fn multi_frame_vin_from_the_datasheet() {
    let decoded = can11(&[
        "7E8 10 14 49 02 01 31 44 34",
        "7E8 21 47 50 30 30 52 35 35",
        "7E8 22 42 31 32 33 34 35 36",
    ]);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Can11(0x7E8), &vin_response())]
    );
    assert!(decoded.anomalies.is_empty());
}

#[test]
fn two_ecus_interleaved_stay_apart() {
    let decoded = can11(&[
        "7E8 10 0A 43 04 01 43 01 96",
        "7E9 04 43 01 07 00",
        "7E8 21 02 34 03 01 00 00 00",
    ]);
    assert_eq!(
        decoded.responses,
        vec![
            response(EcuAddress::Can11(0x7E9), &[0x43, 0x01, 0x07, 0x00]),
            response(
                EcuAddress::Can11(0x7E8),
                &[0x43, 0x04, 0x01, 0x43, 0x01, 0x96, 0x02, 0x34, 0x03, 0x01]
            ),
        ]
    );
}

#[test]
fn a_missing_consecutive_frame_drops_the_message() {
    let decoded = can11(&["7E8 10 14 49 02 01 31 44 34", "7E8 22 42 31 32 33 34 35 36"]);
    assert!(decoded.responses.is_empty());
    assert_eq!(
        decoded.anomalies,
        vec![Anomaly::Sequence(EcuAddress::Can11(0x7E8))]
    );
}

#[test]
fn an_unfinished_message_is_reported_not_returned() {
    let decoded = can11(&["7E8 10 14 49 02 01 31 44 34", "7E8 21 47 50 30 30 52 35 35"]);
    assert!(decoded.responses.is_empty());
    assert_eq!(
        decoded.anomalies,
        vec![Anomaly::Incomplete(EcuAddress::Can11(0x7E8))]
    );
}

#[test]
fn a_single_frame_shorter_than_its_length_is_rejected() {
    let decoded = can11(&["7E8 06 41 00 BE"]);
    assert!(decoded.responses.is_empty());
    assert!(matches!(decoded.anomalies[..], [Anomaly::ShortFrame(_)]));
}

#[test]
fn sequence_numbers_wrap_after_f() {
    let total = 6 + 7 * 16;
    let mut text = vec![format!(
        "7E8 1{:01X} {:02X} 49 04 01 41 41 41",
        total >> 8,
        total & 0xFF
    )];
    for n in 1..=16u8 {
        text.push(format!("7E8 2{:X} 41 41 41 41 41 41 41", n & 0x0F));
    }
    let refs: Vec<&str> = text.iter().map(String::as_str).collect();
    let decoded = can11(&refs);
    assert!(decoded.anomalies.is_empty(), "{:?}", decoded.anomalies);
    assert_eq!(decoded.responses[0].data.len(), total);
}

#[test]
fn extended_identifiers() {
    let decoded = decode_lines(
        &lines(&["18 DA F1 10 06 41 00 BE 3F A8 13", "18DAF11A06410080000001"]),
        Protocol::Can29_500,
    );
    assert_eq!(
        decoded.responses,
        vec![
            response(
                EcuAddress::Can29(0x18DAF110),
                &[0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13]
            ),
            response(
                EcuAddress::Can29(0x18DAF11A),
                &[0x41, 0x00, 0x80, 0x00, 0x00, 0x01]
            ),
        ]
    );
}

#[test]
fn headers_off_single_and_multi_frame() {
    let decoded = can11(&["41 0C 1A F8"]);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Unknown, &[0x41, 0x0C, 0x1A, 0xF8])]
    );
    let decoded = can11(&[
        "014",
        "0: 49 02 01 31 44 34",
        "1: 47 50 30 30 52 35 35",
        "2: 42 31 32 33 34 35 36",
    ]);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Unknown, &vin_response())]
    );
}

#[test]
fn legacy_headers_and_checksums() {
    // 0x22 is the low byte of the sum of the other bytes (ISO 9141-2).
    let decoded = decode_lines(&lines(&["48 6B 10 41 0C 1A F8 22"]), Protocol::Iso9141);
    assert_eq!(
        decoded.responses,
        vec![response(
            EcuAddress::Legacy(0x10),
            &[0x41, 0x0C, 0x1A, 0xF8]
        )]
    );
    let decoded = decode_lines(&lines(&["48 6B 10 41 0C 1A F8 23"]), Protocol::Iso9141);
    assert!(decoded.responses.is_empty());
    assert_eq!(
        decoded.anomalies,
        vec![Anomaly::Checksum(EcuAddress::Legacy(0x10))]
    );
}

#[test]
fn j1850_uses_its_crc() {
    // 68 6A F1 01 00 17 is the J1850 VPW request for 01 00; the same CRC guards answers.
    assert_eq!(j1850_crc(&[0x68, 0x6A, 0xF1, 0x01, 0x00]), 0x17);
    let crc = j1850_crc(&[0x48, 0x6B, 0x10, 0x41, 0x0D, 0x32]);
    let line = format!("486B10410D32{crc:02X}");
    let decoded = decode_lines(&lines(&[&line]), Protocol::J1850Vpw);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Legacy(0x10), &[0x41, 0x0D, 0x32])]
    );
}

#[test]
fn kwp_length_in_format_byte_or_extra_byte() {
    // 0x04 is the low byte of the sum of the other bytes in both.
    let decoded = decode_lines(&lines(&["83 F1 10 41 0D 32 04"]), Protocol::KwpFast);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Legacy(0x10), &[0x41, 0x0D, 0x32])]
    );
    let decoded = decode_lines(&lines(&["80 F1 10 03 41 0D 32 04"]), Protocol::Kwp5Baud);
    assert_eq!(
        decoded.responses,
        vec![response(EcuAddress::Legacy(0x10), &[0x41, 0x0D, 0x32])]
    );
}

#[test]
fn garbage_lines_are_reported() {
    let decoded = can11(&["7E8 06 41 0G BE 3F A8 13", "HELLO"]);
    assert!(decoded.responses.is_empty());
    assert_eq!(decoded.anomalies.len(), 2);
}

#[test]
fn regression_a_line_shorter_than_a_header_is_not_sliced() {
    let decoded = can11(&["E"]);
    assert!(decoded.responses.is_empty());
    assert!(matches!(decoded.anomalies[..], [Anomaly::ShortFrame(_)]));
    // Three digits alone announce a headerless multi-frame answer that then never came.
    let decoded = can11(&["7E8"]);
    assert_eq!(
        decoded.anomalies,
        vec![Anomaly::Incomplete(EcuAddress::Unknown)]
    );
}
