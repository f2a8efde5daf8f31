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
