//! Answers to drop: "response pending" once the real answer arrived.

use crate::transport::EcuResponse;

/// Removes "response pending" answers (7F xx 78) from ECUs that later sent the real one.
pub(super) fn drop_superseded_pending(responses: Vec<EcuResponse>) -> Vec<EcuResponse> {
    let is_pending = |r: &EcuResponse| r.data.len() == 3 && r.data[0] == 0x7F && r.data[2] == 0x78;
    let finals: Vec<_> = responses
        .iter()
        .filter(|r| !is_pending(r))
        .map(|r| r.ecu)
        .collect();
    responses
        .into_iter()
        .filter(|r| !(is_pending(r) && finals.contains(&r.ecu)))
        .collect()
}
