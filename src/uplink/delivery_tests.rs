use std::time::SystemTime;

use super::*;

fn row(seq: i64) -> OutboxMessage {
    OutboxMessage {
        seq,
        message_id: format!("m{seq}"),
        topic: "fleet/v1/alerts".into(),
        payload: vec![seq as u8],
        retain: false,
        created_at: SystemTime::UNIX_EPOCH,
    }
}

fn rows(seqs: std::ops::RangeInclusive<i64>) -> Vec<OutboxMessage> {
    seqs.map(row).collect()
}

fn seqs_sent(state: &mut DeliveryState) -> Vec<i64> {
    std::iter::from_fn(|| state.next_to_send().map(|m| m.seq)).collect()
}

#[test]
fn nothing_is_sent_before_the_first_connack() {
    let mut state = DeliveryState::new(4);
    state.on_fetched(rows(1..=3));
    assert_eq!(state.next_to_send(), None);
    state.on_connected();
    assert_eq!(seqs_sent(&mut state), vec![1, 2, 3]);
}

#[test]
fn the_window_bounds_messages_in_flight() {
    let mut state = DeliveryState::new(2);
    state.on_connected();
    state.on_fetched(rows(1..=5));
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
    state.on_outgoing_publish(1);
    state.on_outgoing_publish(2);
    assert_eq!(state.on_puback(1, true), AckOutcome::Acknowledge(1));
    assert_eq!(seqs_sent(&mut state), vec![3]);
}

#[test]
fn fetch_asks_after_the_cursor_and_stops_when_full() {
    let mut state = DeliveryState::new(2);
    assert_eq!(state.fetch_request(), Some((None, 4)));
    state.on_fetched(rows(1..=1));
    assert_eq!(state.fetch_request(), Some((Some(1), 3)));
    state.on_fetched(rows(2..=4));
    // Below the low-water mark of one window, not before.
    assert_eq!(state.fetch_request(), None);
    state.on_connected();
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
    assert_eq!(state.fetch_request(), None);
    assert_eq!(seqs_sent(&mut state), Vec::<i64>::new());
    // A repeated fetch returning known rows changes nothing.
    state.on_fetched(rows(1..=4));
    state.on_outgoing_publish(1);
    state.on_outgoing_publish(2);
    state.on_puback(1, true);
    state.on_puback(2, true);
    assert_eq!(state.fetch_request(), None);
    assert_eq!(seqs_sent(&mut state), vec![3, 4]);
    assert_eq!(state.fetch_request(), Some((Some(4), 2)));
}

#[test]
fn a_publish_the_client_could_not_queue_goes_back_first() {
    let mut state = DeliveryState::new(4);
    state.on_connected();
    state.on_fetched(rows(1..=3));
    assert_eq!(state.next_to_send().map(|m| m.seq), Some(1));
    assert_eq!(state.next_to_send().map(|m| m.seq), Some(2));
    state.return_last_handed();
    assert_eq!(seqs_sent(&mut state), vec![2, 3]);
    state.on_untracked_handed();
    assert_eq!(state.untracked_outstanding(), 1);
}

#[test]
fn packet_ids_are_matched_in_hand_over_order_across_untracked_publishes() {
    let mut state = DeliveryState::new(8);
    state.on_connected();
    state.on_untracked_handed(); // retained status after the ConnAck
    state.on_fetched(rows(1..=2));
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
    state.on_outgoing_publish(7);
    state.on_outgoing_publish(8);
    state.on_outgoing_publish(9);
    assert_eq!(state.on_puback(7, true), AckOutcome::Untracked);
    assert_eq!(state.on_puback(9, true), AckOutcome::Acknowledge(2));
    assert_eq!(state.on_puback(8, true), AckOutcome::Acknowledge(1));
    assert_eq!(state.on_puback(8, true), AckOutcome::Unknown);
    assert_eq!(state.unacknowledged(), 0);
}

#[test]
fn a_disconnect_resends_unacknowledged_messages_oldest_first() {
    let mut state = DeliveryState::new(3);
    state.on_connected();
    state.on_fetched(rows(1..=5));
    assert_eq!(seqs_sent(&mut state), vec![1, 2, 3]);
    state.on_outgoing_publish(1);
    state.on_outgoing_publish(2);
    assert_eq!(state.on_puback(2, true), AckOutcome::Acknowledge(2));
    // 1 written, 3 still queued in the client: both come back.
    state.on_disconnect();
    assert_eq!(state.next_to_send(), None);
    // A PubAck from the dead connection cannot acknowledge anything.
    assert_eq!(state.on_puback(1, true), AckOutcome::Unknown);
    state.on_connected();
    assert_eq!(seqs_sent(&mut state), vec![1, 3, 4]);
    let stats = state.stats();
    assert_eq!((stats.first_sends, stats.resends), (4, 2));
}

#[test]
fn a_refused_message_waits_for_the_next_connection() {
    let mut state = DeliveryState::new(4);
    state.on_connected();
    state.on_fetched(rows(1..=2));
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
    state.on_outgoing_publish(1);
    state.on_outgoing_publish(2);
    assert_eq!(state.on_puback(1, false), AckOutcome::Refused(1));
    assert_eq!(state.on_puback(2, true), AckOutcome::Acknowledge(2));
    assert_eq!(seqs_sent(&mut state), Vec::<i64>::new());
    assert_eq!(state.unacknowledged(), 1);
    state.on_disconnect();
    state.on_connected();
    assert_eq!(seqs_sent(&mut state), vec![1]);
}

#[test]
fn a_collision_is_written_under_the_same_id_after_its_puback() {
    let mut state = DeliveryState::new(4);
    state.on_connected();
    state.on_fetched(rows(1..=3));
    assert_eq!(seqs_sent(&mut state), vec![1, 2, 3]);
    state.on_outgoing_publish(1);
    state.on_outgoing_publish(2);
    // The client would reuse id 1, which the broker has not acknowledged yet.
    state.on_await_ack(1);
    assert_eq!(state.on_puback(1, true), AckOutcome::Acknowledge(1));
    state.on_outgoing_publish(1);
    assert_eq!(state.on_puback(2, true), AckOutcome::Acknowledge(2));
    assert_eq!(state.on_puback(1, true), AckOutcome::Acknowledge(3));
    assert_eq!(state.unacknowledged(), 0);
}

#[test]
fn a_connack_without_a_disconnect_strands_nothing() {
    let mut state = DeliveryState::new(4);
    state.on_connected();
    state.on_fetched(rows(1..=2));
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
    state.on_outgoing_publish(1);
    state.on_connected();
    assert_eq!(seqs_sent(&mut state), vec![1, 2]);
}

#[test]
fn a_zero_window_is_treated_as_one() {
    let mut state = DeliveryState::new(0);
    state.on_connected();
    state.on_fetched(rows(1..=2));
    assert_eq!(seqs_sent(&mut state), vec![1]);
}
