//! Which decoded answers belong to the request that was sent.

use crate::transport::EcuResponse;

/// Whether `data` answers `request`: positive (service + 0x40, and for services 01, 02 and
/// 09 a PID that was asked for) or negative (7F and the service).
pub(super) fn answers(request: &[u8], data: &[u8]) -> bool {
    let Some((&service, params)) = request.split_first() else {
        return false;
    };
    match data {
        [0x7F, svc, _, ..] => *svc == service,
        [first, rest @ ..] if *first == service.wrapping_add(0x40) => match (service, rest.first())
        {
            (0x01 | 0x09, Some(pid)) => params.contains(pid),
            // Service 02 asks in PID, frame pairs.
            (0x02, Some(pid)) => params.iter().step_by(2).any(|p| p == pid),
            (0x01 | 0x02 | 0x09, None) => false,
            _ => true,
        },
        _ => false,
    }
}

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
