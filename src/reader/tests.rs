//! Request planning against a scripted transport: what is asked, and how answers merge.

use std::collections::VecDeque;

use async_trait::async_trait;

use super::*;
use crate::obd::protocol::Protocol;
use crate::transport::LinkInfo;

/// A transport that answers from a table and records every request.
struct Scripted {
    protocol: Protocol,
    /// Like an ELM327 on automatic search: the protocol is unknown until the first request.
    searching: bool,
    answers: Vec<(Vec<u8>, Vec<EcuResponse>)>,
    queue: VecDeque<Vec<EcuResponse>>,
    log: Vec<ObdRequest>,
}

impl Scripted {
    fn new(protocol: Protocol) -> Self {
        Scripted {
            protocol,
            searching: false,
            answers: Vec::new(),
            queue: VecDeque::new(),
            log: Vec::new(),
        }
    }

    fn on(mut self, request: &[u8], answers: &[(EcuAddress, &[u8])]) -> Self {
        let answers = answers
            .iter()
            .map(|(ecu, data)| EcuResponse {
                ecu: *ecu,
                data: data.to_vec(),
            })
            .collect();
        self.answers.push((request.to_vec(), answers));
        self
    }
}

#[async_trait]
impl Transport for Scripted {
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        self.log.push(request.clone());
        self.searching = false;
        if let Some(next) = self.queue.pop_front() {
            return Ok(next);
        }
        Ok(self
            .answers
            .iter()
            .find(|(req, _)| *req == request.data)
            .map(|(_, a)| a.clone())
            .unwrap_or_default())
    }

    fn link(&self) -> LinkInfo {
        LinkInfo {
            adapter: "script".into(),
            port: "-".into(),
            protocol: (!self.searching).then_some(self.protocol),
        }
    }

    fn supports_multi_pid(&self) -> bool {
        !self.searching && self.protocol.is_can()
    }

    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError> {
        Ok(Some(12.5))
    }
}

const ENGINE: EcuAddress = EcuAddress::Can11(0x7E8);
const GEARBOX: EcuAddress = EcuAddress::Can11(0x7E9);

/// Engine supports 01-20 range PIDs 04 05 0C 0D and 20; gearbox 0C 0D only.
fn two_ecus() -> Scripted {
    // Bitmap bytes: bit 7 of the first byte is PID 01. 04 05 -> 0x18; 0C 0D -> 0x18 in byte 2;
    // PID 20 is bit 0 of byte 4.
    Scripted::new(Protocol::Can11_500)
        .on(
            &[0x01, 0x00],
            &[
                (ENGINE, &[0x41, 0x00, 0x18, 0x18, 0x00, 0x01]),
                (GEARBOX, &[0x41, 0x00, 0x00, 0x18, 0x00, 0x00]),
            ],
        )
        .on(
            &[0x01, 0x20],
            &[(ENGINE, &[0x41, 0x20, 0x00, 0x00, 0x00, 0x00])],
        )
}

#[tokio::test]
async fn discovery_follows_the_continuation_bits() {
    let mut transport = two_ecus();
    let mut reader = VehicleReader::new(&mut transport);
    let supported = reader.discover().await.unwrap().clone();
    assert_eq!(
        supported[&ENGINE].iter().copied().collect::<Vec<_>>(),
        vec![0x04, 0x05, 0x0C, 0x0D, 0x20]
    );
    assert_eq!(
        supported[&GEARBOX].iter().copied().collect::<Vec<_>>(),
        vec![0x0C, 0x0D]
    );
    let asked: Vec<_> = transport
        .log
        .iter()
        .map(|r| (r.data.clone(), r.expected_responses))
        .collect();
    // 01 20 goes only to the one ECU that announced it, so the adapter can stop at one answer.
    assert_eq!(
        asked,
        vec![(vec![0x01, 0x00], None), (vec![0x01, 0x20], Some(1))]
    );
}

#[tokio::test]
async fn several_pids_in_one_request_with_the_answer_count() {
    let mut transport = two_ecus().on(
        &[0x01, 0x05, 0x0C, 0x0D],
        &[
            (ENGINE, &[0x41, 0x05, 0x7B, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
            (GEARBOX, &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
        ],
    );
    let mut reader = VehicleReader::new(&mut transport);
    let readings = reader.read_pids(&[0x0D, 0x0C, 0x05, 0x0C]).await.unwrap();
    assert_eq!(readings.len(), 5);
    let last = transport.log.last().unwrap();
    assert_eq!(last.data, vec![0x01, 0x05, 0x0C, 0x0D]);
    // Two ECUs answer: two messages. The engine's (8 bytes) takes two frames, the gearbox's
    // one: three lines for an adapter that counts lines.
    assert_eq!(last.expected_responses, Some(2));
    assert_eq!(last.expected_frames, Some(3));
}

#[tokio::test]
async fn single_frame_batches_carry_the_answer_count() {
    let mut transport = two_ecus().on(
        &[0x01, 0x0C, 0x0D],
        &[
            (ENGINE, &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
            (GEARBOX, &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
        ],
    );
    let mut reader = VehicleReader::new(&mut transport);
    reader.read_pids(&[0x0C, 0x0D]).await.unwrap();
    assert_eq!(transport.log.last().unwrap().expected_responses, Some(2));
}

#[tokio::test]
async fn an_ecu_refusing_several_pids_gets_them_one_by_one() {
    let mut transport = two_ecus()
        .on(
            &[0x01, 0x0C, 0x0D],
            &[
                (ENGINE, &[0x7F, 0x01, 0x12]),
                (GEARBOX, &[0x7F, 0x01, 0x12]),
            ],
        )
        .on(
            &[0x01, 0x0C],
            &[
                (ENGINE, &[0x41, 0x0C, 0x1A, 0xF8]),
                (GEARBOX, &[0x41, 0x0C, 0x0B, 0xB8]),
            ],
        )
        .on(
            &[0x01, 0x0D],
            &[
                (ENGINE, &[0x41, 0x0D, 0x32]),
                (GEARBOX, &[0x41, 0x0D, 0x32]),
            ],
        );
    let mut reader = VehicleReader::new(&mut transport);
    let readings = reader.read_pids(&[0x0C, 0x0D]).await.unwrap();
    assert_eq!(readings.len(), 4);
    assert!(!reader.multi_pid);
}

#[tokio::test]
async fn unsupported_pids_are_not_asked() {
    let mut transport = two_ecus();
    let mut reader = VehicleReader::new(&mut transport);
    let readings = reader.read_pids(&[0x2F, 0xA6]).await.unwrap();
    assert!(readings.is_empty());
    assert_eq!(
        transport.log.len(),
        2,
        "only discovery: {:?}",
        transport.log
    );
}

#[tokio::test]
async fn codes_from_several_ecus_with_count_bytes() {
    let mut transport = two_ecus().on(
        &[0x03],
        &[
            (ENGINE, &[0x43, 0x02, 0x03, 0x00, 0x03, 0x01]),
            (GEARBOX, &[0x43, 0x01, 0x07, 0x15]),
        ],
    );
    let mut reader = VehicleReader::new(&mut transport);
    let codes = reader.dtcs(DtcKind::Stored).await.unwrap();
    let text: Vec<_> = codes
        .iter()
        .map(|d| format!("{}@{}", d.code, d.ecu))
        .collect();
    assert_eq!(text, vec!["P0300@7E8", "P0301@7E8", "P0715@7E9"]);
}

#[tokio::test]
async fn legacy_codes_span_messages_and_padding_is_ignored() {
    let ecu = EcuAddress::Legacy(0x10);
    let mut transport = Scripted::new(Protocol::Iso9141).on(
        &[0x03],
        &[
            (ecu, &[0x43, 0x03, 0x00, 0x03, 0x01, 0x03, 0x02]),
            (ecu, &[0x43, 0x01, 0x71, 0x00, 0x00, 0x00, 0x00]),
        ],
    );
    let mut reader = VehicleReader::new(&mut transport);
    let codes = reader.dtcs(DtcKind::Stored).await.unwrap();
    let text: Vec<_> = codes.iter().map(|d| d.code.to_string()).collect();
    assert_eq!(text, vec!["P0300", "P0301", "P0302", "P0171"]);
}

#[tokio::test]
async fn a_count_byte_that_disagrees_is_warned_about_and_codes_kept() {
    let mut transport = two_ecus().on(&[0x03], &[(ENGINE, &[0x43, 0x01, 0x03, 0x00, 0x03, 0x01])]);
    let mut reader = VehicleReader::new(&mut transport);
    let codes = reader.dtcs(DtcKind::Stored).await.unwrap();
    assert_eq!(codes.len(), 2);
    assert_eq!(reader.warnings.len(), 1);
}

#[tokio::test]
async fn clear_reports_refusals_and_what_remains() {
    let mut transport = two_ecus()
        .on(
            &[0x04],
            &[(ENGINE, &[0x44]), (GEARBOX, &[0x7F, 0x04, 0x22])],
        )
        .on(&[0x03], &[(GEARBOX, &[0x43, 0x01, 0x07, 0x15])])
        .on(&[0x0A], &[(ENGINE, &[0x4A, 0x01, 0x04, 0x20])]);
    let mut reader = VehicleReader::new(&mut transport);
    let outcome = reader.clear().await.unwrap();
    assert_eq!(outcome.cleared_by, vec![ENGINE]);
    assert_eq!(outcome.refused_by.len(), 1);
    assert!(
        outcome.refused_by[0].1.contains("22"),
        "{:?}",
        outcome.refused_by
    );
    let left: Vec<_> = outcome.not_cleared().map(|d| d.code.to_string()).collect();
    assert_eq!(left, vec!["P0715"]);
    assert_eq!(
        outcome.remaining.len(),
        2,
        "the permanent P0420 stays by design"
    );
}

#[tokio::test]
async fn no_ecu_means_no_vehicle() {
    let mut transport = Scripted::new(Protocol::Can11_500);
    let mut reader = VehicleReader::new(&mut transport);
    assert!(matches!(reader.discover().await, Err(ReadError::NoEcu)));
}

#[tokio::test]
async fn a_read_says_which_ecus_answered_even_without_codes() {
    let mut transport = two_ecus().on(
        &[0x03],
        &[
            (ENGINE, &[0x43, 0x00]),
            (GEARBOX, &[0x43, 0x01, 0x07, 0x15]),
        ],
    );
    let mut reader = VehicleReader::new(&mut transport);
    let readout = reader.read_codes().await.unwrap();
    assert_eq!(readout.codes.len(), 1);
    assert_eq!(
        readout.answered,
        vec![(DtcKind::Stored, ENGINE), (DtcKind::Stored, GEARBOX)]
    );
}

/// The reader decided on batching when it was made, before the adapter had found the
/// protocol; an ELM327 on automatic search says no until its first answer, so every PID went
/// in a request of its own for the whole session.
#[tokio::test]
async fn batching_is_decided_after_the_protocol_search() {
    let mut transport = two_ecus().on(
        &[0x01, 0x0C, 0x0D],
        &[
            (ENGINE, &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
            (GEARBOX, &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32]),
        ],
    );
    transport.searching = true;
    let mut reader = VehicleReader::new(&mut transport);
    assert_eq!(reader.read_pids(&[0x0C, 0x0D]).await.unwrap().len(), 4);
    let asked: Vec<_> = transport.log.iter().map(|r| r.data.clone()).collect();
    assert_eq!(asked.last().unwrap(), &vec![0x01, 0x0C, 0x0D], "{asked:?}");
}

fn responses(answers: &[(EcuAddress, &[u8])]) -> Vec<EcuResponse> {
    answers
        .iter()
        .map(|(ecu, data)| EcuResponse {
            ecu: *ecu,
            data: data.to_vec(),
        })
        .collect()
}

/// Requests for `service` and the hints they carried.
fn hints(log: &[ObdRequest], service: u8) -> Vec<(Option<u8>, Option<u8>)> {
    log.iter()
        .filter(|r| r.data == [service])
        .map(|r| (r.expected_responses, r.expected_frames))
        .collect()
}

fn with_codes(script: Scripted) -> Scripted {
    script
        .on(
            &[0x03],
            &[
                (ENGINE, &[0x43, 0x01, 0x01, 0x43]),
                (GEARBOX, &[0x43, 0x00]),
            ],
        )
        .on(
            &[0x07],
            &[(ENGINE, &[0x47, 0x00]), (GEARBOX, &[0x47, 0x00])],
        )
        .on(
            &[0x0A],
            &[(ENGINE, &[0x4A, 0x00]), (GEARBOX, &[0x4A, 0x00])],
        )
}

#[tokio::test]
async fn code_reads_on_can_wait_for_the_known_ecus_only() {
    let mut transport = with_codes(two_ecus());
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.unwrap();
    let readout = reader.read_codes().await.unwrap();
    assert_eq!(readout.codes.len(), 1);
    // One message from each ECU, in frames nobody can know (a code list may be long).
    assert_eq!(hints(&transport.log, 0x03), vec![(Some(2), None)]);
    assert_eq!(hints(&transport.log, 0x07), vec![(Some(2), None)]);
}

#[tokio::test]
async fn another_ecu_answering_in_place_of_a_known_one_means_asking_again() {
    let stranger = EcuAddress::Can11(0x7EA);
    let mut transport = with_codes(two_ecus());
    transport.queue.extend([
        transport.answers[0].1.clone(),
        transport.answers[1].1.clone(),
        // Two answers, as hinted, but the engine's is not among them.
        responses(&[(stranger, &[0x43, 0x00]), (GEARBOX, &[0x43, 0x00])]),
    ]);
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.unwrap();
    let codes = reader.dtcs(DtcKind::Stored).await.unwrap();
    assert_eq!(
        codes
            .iter()
            .map(|d| (d.ecu, d.code.to_string()))
            .collect::<Vec<_>>(),
        vec![(ENGINE, "P0143".to_string())]
    );
    assert_eq!(
        hints(&transport.log, 0x03),
        vec![(Some(2), None), (None, None)]
    );
}

#[tokio::test]
async fn a_silent_ecu_is_not_asked_again() {
    let mut transport = with_codes(two_ecus());
    transport.queue.extend([
        transport.answers[0].1.clone(),
        transport.answers[1].1.clone(),
        responses(&[(ENGINE, &[0x43, 0x00])]),
    ]);
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.unwrap();
    assert!(reader.dtcs(DtcKind::Stored).await.unwrap().is_empty());
    // Fewer answers than hinted: the transport waited its timeout, nothing was cut short.
    assert_eq!(hints(&transport.log, 0x03), vec![(Some(2), None)]);
}

#[tokio::test]
async fn legacy_buses_get_no_answer_hint_for_codes() {
    let mut transport = Scripted::new(Protocol::Iso9141)
        .on(
            &[0x01, 0x00],
            &[(ENGINE, &[0x41, 0x00, 0x18, 0x18, 0x00, 0x00])],
        )
        .on(
            &[0x03],
            &[(ENGINE, &[0x43, 0x01, 0x43, 0x00, 0x00, 0x00, 0x00])],
        );
    let mut reader = VehicleReader::new(&mut transport);
    reader.discover().await.unwrap();
    let codes = reader.dtcs(DtcKind::Stored).await.unwrap();
    assert_eq!(codes.len(), 1);
    // An ECU may split its codes over several messages there.
    assert_eq!(hints(&transport.log, 0x03), vec![(None, None)]);
}

#[tokio::test]
async fn monitor_status_asks_the_ecus_that_support_01_01() {
    // The engine lists PID 01 (bit 7 of the first bitmap byte); the gearbox does not.
    let mut transport = Scripted::new(Protocol::Can11_500)
        .on(
            &[0x01, 0x00],
            &[
                (ENGINE, &[0x41, 0x00, 0x98, 0x18, 0x00, 0x00]),
                (GEARBOX, &[0x41, 0x00, 0x00, 0x18, 0x00, 0x00]),
            ],
        )
        .on(
            &[0x01, 0x01],
            &[(ENGINE, &[0x41, 0x01, 0x81, 0x07, 0x65, 0x04])],
        );
    let mut reader = VehicleReader::new(&mut transport);
    let status = reader.monitor_status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].0, ENGINE);
    assert!(status[0].1.mil);
    let asked: Vec<_> = transport
        .log
        .iter()
        .filter(|r| r.data == [0x01, 0x01])
        .map(|r| (r.expected_responses, r.expected_frames))
        .collect();
    assert_eq!(asked, vec![(Some(1), Some(1))]);
}
