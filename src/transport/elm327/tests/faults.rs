//! Regression tests for faults found by the end-to-end tests (`tests/e2e_faults.rs`).

use super::*;

#[tokio::test(start_paused = true)]
async fn one_dropped_answer_is_asked_again() {
    let mut dropped = 1;
    let (mut transport, log) = connect(elm(move |c| {
        (c == "010C1" && dropped > 0).then(|| {
            dropped -= 1;
            None
        })
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    assert_eq!(
        transport.request(&rpm_request()).await.unwrap(),
        rpm_answer()
    );
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "010C1").count(), 2, "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn two_dropped_answers_in_a_row_are_a_timeout() {
    let (mut transport, log) = connect(elm(|c| (c == "010C1").then_some(None))).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let err = transport.request(&rpm_request()).await.unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "010C1").count(), 2, "{log:?}");
}

/// Noise glued to the start of one ECU's line made that line unreadable on every attempt;
/// the last attempt returned the other ECU's answer alone, so the engine's codes vanished
/// from the report without a word.
#[tokio::test(start_paused = true)]
async fn a_garbled_answer_on_every_attempt_is_an_error_not_a_partial_answer() {
    let (mut transport, log) = connect(elm(|c| {
        (c == "03").then(|| Some("#7E806430201710174\r7E90443010715".into()))
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let err = transport
        .request(&ObdRequest::new([0x03]))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Bus(_)), "{err}");
    assert!(err.to_string().contains("no clean answer"), "{err}");
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "03").count(), 3, "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn a_garbled_answer_once_is_read_cleanly_on_the_next_attempt() {
    let mut garbled = 1;
    let (mut transport, _) = connect(elm(move |c| {
        (c == "03").then(|| {
            let noise = if garbled > 0 { "#" } else { "" };
            garbled -= 1;
            Some(format!("{noise}7E806430201710174\r7E90443010715"))
        })
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let answer = transport.request(&ObdRequest::new([0x03])).await.unwrap();
    let ecus: Vec<_> = answer.iter().map(|a| a.ecu).collect();
    assert_eq!(ecus, [EcuAddress::Can11(0x7E8), EcuAddress::Can11(0x7E9)]);
    assert_eq!(answer[0].data, [0x43, 0x02, 0x01, 0x71, 0x01, 0x74]);
}

/// A `>` byte in line noise ahead of the answer ended the answer early: the request got an
/// empty answer (no codes, no VIN) and the real one was thrown away as stale.
#[tokio::test(start_paused = true)]
async fn a_stray_prompt_in_noise_is_not_an_empty_answer() {
    let (mut transport, _) = connect(elm(|c| {
        (c == "03").then(|| Some(format!("\x13>\x11{PAUSE}7E806430201710174")))
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let answer = transport.request(&ObdRequest::new([0x03])).await.unwrap();
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(answer[0].data, [0x43, 0x02, 0x01, 0x71, 0x01, 0x74]);
}

/// Noise with a `>` in it ahead of an answer made the retry go out while the real answer was
/// still coming; from then on every request read the previous one's answer, and answers
/// filtered as "to another request" left empty lists: codes read as none.
#[tokio::test(start_paused = true)]
async fn noise_ahead_of_an_answer_does_not_put_answers_out_of_step() {
    let mut noisy = 1;
    let (mut transport, log) = connect(elm(move |c| {
        // Every answer to 03 takes a while, as on a real bus; the first has noise ahead.
        let noise = if noisy > 0 { "#>" } else { "" };
        match c {
            "03" => {
                noisy -= 1;
                Some(Some(format!("{noise}{PAUSE}7E806430201710174")))
            }
            "07" => Some(Some(format!("{PAUSE}7E80447010420"))),
            _ => None,
        }
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let stored = transport.request(&ObdRequest::new([0x03])).await.unwrap();
    assert_eq!(stored[0].data, [0x43, 0x02, 0x01, 0x71, 0x01, 0x74]);
    let pending = transport.request(&ObdRequest::new([0x07])).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].data, [0x47, 0x01, 0x04, 0x20]);
    // In step again: 07 read its own answer the first time, not 03's late one.
    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|c| *c == "07").count(), 1, "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn only_answers_to_another_request_are_an_error_not_no_answer() {
    let (mut transport, _) =
        connect(elm(|c| (c == "03").then(|| Some("7E80447010420".into())))).await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let err = transport
        .request(&ObdRequest::new([0x03]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another request"), "{err}");
}

/// A count digit smaller than the answer's frames makes the adapter stop after that many
/// lines: the message is cut short on every attempt unless the retry drops the digit.
#[tokio::test(start_paused = true)]
async fn an_answer_cut_short_by_the_count_digit_is_asked_again_without_it() {
    let (mut transport, log) = connect(elm(|c| match c {
        "0104050C0D1" => Some(Some("7E8100A410432053D0C".into())),
        "0104050C0D" => Some(Some("7E8100A410432053D0C\r7E8210BAC0D00000000".into())),
        _ => None,
    }))
    .await;
    transport
        .request(&ObdRequest::new([0x01, 0x00]))
        .await
        .unwrap();
    let request = ObdRequest::new([0x01, 0x04, 0x05, 0x0C, 0x0D]).expecting(1);
    let answer = transport.request(&request).await.unwrap();
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(answer[0].data.len(), 10);
    let log = log.lock().unwrap();
    assert_eq!(
        log.iter().filter(|c| *c == "0104050C0D1").count(),
        1,
        "{log:?}"
    );
}
