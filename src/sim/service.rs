//! How one ECU answers the J1979 services.
//!
//! Silence is an answer here: J1979 has an ECU say nothing about a PID it does not support,
//! and the legacy buses carry only one PID per request, so anything malformed for the bus is
//! ignored rather than refused. Services the ECU does not implement get `7F sid 11`.

use std::time::Duration;

use crate::obd::dtc::Dtc;
use crate::obd::protocol::Protocol;

use super::encode;
use super::live::LiveModel;
use super::vehicle::{EcuRole, SimEcu};

const NRC_SERVICE_NOT_SUPPORTED: u8 = 0x11;
/// ISO 15765-4 allows six PIDs in one service 01 request, three PID/frame pairs in 02.
const MAX_PIDS_CAN: usize = 6;
const MAX_FREEZE_PAIRS_CAN: usize = 3;

/// Every message `ecu` sends in reply to `request`, each starting with the response service id.
pub fn answer(
    ecu: &mut SimEcu,
    live: &LiveModel,
    protocol: Protocol,
    request: &[u8],
    now: Duration,
) -> Vec<Vec<u8>> {
    let can = protocol.is_can();
    let Some((&sid, params)) = request.split_first() else {
        return Vec::new();
    };
    let single = |m: Option<Vec<u8>>| m.into_iter().collect();
    match sid {
        0x01 => single(current_data(ecu, live, can, params, now)),
        0x02 if ecu.role != EcuRole::Abs => single(freeze_frame(ecu, live, can, params)),
        0x03 | 0x07 | 0x0A if params.is_empty() => {
            let codes = match sid {
                0x03 => &ecu.stored,
                0x07 => &ecu.pending,
                _ => &ecu.permanent,
            };
            encode::dtc_messages(codes, can)
                .into_iter()
                .map(|body| prefixed(sid + 0x40, &body))
                .collect()
        }
        0x03 | 0x07 | 0x0A => Vec::new(),
        0x04 if params.is_empty() => {
            ecu.clear(now);
            vec![vec![0x44]]
        }
        0x04 => Vec::new(),
        0x09 => vehicle_info(ecu, can, params),
        0x06 if can && ecu.test_results => single(test_results(live, params, now)),
        _ => vec![vec![0x7F, sid, NRC_SERVICE_NOT_SUPPORTED]],
    }
}

/// Service 06 MIDs the simulated engine ECU reports: O2 sensor bank 1 sensor 1, catalyst
/// bank 1, misfire general and cylinders 1-4.
pub const TEST_MIDS: [u8; 7] = [0x01, 0x21, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5];
/// The catalyst test's limit, as the ECU reports it (ratio, 0.01 per bit, UAS 03).
pub const CATALYST_RATIO_MAX: f64 = 0.75;

/// `46 MID` and its records `TID UASID value min max` (CAN format), or the MID bitmap.
fn test_results(live: &LiveModel, params: &[u8], now: Duration) -> Option<Vec<u8>> {
    let &[mid] = params else {
        return None;
    };
    let mut out = vec![0x46, mid];
    if is_bitmap_pid(mid) {
        if !serves_bitmap(&TEST_MIDS, mid) {
            return None;
        }
        out.extend(bitmap(&TEST_MIDS, mid));
        return Some(out);
    }
    let record = |out: &mut Vec<u8>, tid: u8, uas: u8, value: f64, min: u16, max: u16| {
        let value = value.round().clamp(0.0, f64::from(u16::MAX)) as u16;
        out.extend([tid, uas]);
        for v in [value, min, max] {
            out.extend(v.to_be_bytes());
        }
    };
    match mid {
        // Manufacturer test 81: sensor response time, ms (UAS 10), 300 ms limit.
        0x01 => record(&mut out, 0x81, 0x10, 70.0, 0, 300),
        0x21 => {
            let max = (CATALYST_RATIO_MAX * 100.0) as u16;
            record(
                &mut out,
                0x80,
                0x03,
                live.catalyst_ratio(now) * 100.0,
                0,
                max,
            );
        }
        // Misfire counts (UAS 24): EWMA of the last ten drive cycles, and the last cycle.
        // A1 (general) sums the cylinders; the last cycle's count is taken as the average.
        0xA1..=0xA5 => {
            let count = match mid - 0xA1 {
                0 => (1..=4).map(|c| live.misfire_ewma(c, now)).sum(),
                c => live.misfire_ewma(c, now),
            };
            record(&mut out, 0x0B, 0x24, count, 0, u16::MAX);
            record(&mut out, 0x0C, 0x24, count, 0, u16::MAX);
        }
        _ => return None,
    }
    Some(out)
}

fn prefixed(first: u8, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rest.len() + 1);
    out.push(first);
    out.extend_from_slice(rest);
    out
}

/// Whether a bitmap PID (00, 20, ...) is answered: 00 always, the others when the previous
/// bitmap announced them, i.e. when the ECU serves something beyond them.
fn serves_bitmap(pids: &[u8], base: u8) -> bool {
    base == 0 || pids.iter().any(|&p| p > base)
}

fn bitmap(pids: &[u8], base: u8) -> Vec<u8> {
    let mut listed: Vec<u8> = pids.to_vec();
    if pids.iter().any(|&p| p > base.saturating_add(0x20)) {
        listed.push(base.saturating_add(0x20));
    }
    encode::supported_bitmap(base, listed).to_vec()
}

fn is_bitmap_pid(pid: u8) -> bool {
    pid.is_multiple_of(0x20)
}

fn current_data(
    ecu: &SimEcu,
    live: &LiveModel,
    can: bool,
    pids: &[u8],
    now: Duration,
) -> Option<Vec<u8>> {
    let max = if can { MAX_PIDS_CAN } else { 1 };
    if pids.is_empty() || pids.len() > max {
        return None;
    }
    let mut out = vec![0x41];
    for &pid in pids {
        if let Some(data) = pid_value(ecu, live, pid, now, now, &ecu.pids) {
            out.push(pid);
            out.extend(data);
        }
    }
    (out.len() > 1).then_some(out)
}

fn freeze_frame(ecu: &SimEcu, live: &LiveModel, can: bool, params: &[u8]) -> Option<Vec<u8>> {
    let max = if can { MAX_FREEZE_PAIRS_CAN } else { 1 };
    if params.is_empty() || !params.len().is_multiple_of(2) || params.len() / 2 > max {
        return None;
    }
    let mut out = vec![0x42];
    for pair in params.chunks_exact(2) {
        let (pid, frame) = (pair[0], pair[1]);
        if frame != 0 {
            continue;
        }
        let data = match (pid, ecu.freeze) {
            // PID 02 says which code stored the frame; 00 00 says there is no frame.
            (0x02, Some(ff)) => Some(ff.dtc.to_bytes().to_vec()),
            (0x02, None) => Some(vec![0, 0]),
            (p, _) if is_bitmap_pid(p) && serves_bitmap(&ecu.freeze_pids, p) => {
                Some(bitmap(&ecu.freeze_pids, p))
            }
            (p, Some(ff)) if ecu.freeze_pids.contains(&p) => {
                pid_value(ecu, live, p, ff.at, ff.at, &ecu.freeze_pids)
            }
            _ => None,
        };
        if let Some(data) = data {
            out.extend([pid, frame]);
            out.extend(data);
        }
    }
    (out.len() > 1).then_some(out)
}

fn since_clear_secs(ecu: &SimEcu, now: Duration) -> Option<f64> {
    ecu.since_clear
        .cleared_at
        .map(|at| now.saturating_sub(at).as_secs_f64())
}

/// The value bytes of one service 01 PID, if this ECU serves it. `t` is the instant the
/// value describes (the freeze frame's for service 02); `now` drives the counters.
fn pid_value(
    ecu: &SimEcu,
    live: &LiveModel,
    pid: u8,
    t: Duration,
    now: Duration,
    served: &[u8],
) -> Option<Vec<u8>> {
    if is_bitmap_pid(pid) {
        return serves_bitmap(served, pid).then(|| bitmap(served, pid));
    }
    if !served.contains(&pid) {
        return None;
    }
    let sc = &ecu.since_clear;
    let mil_on = ecu.mil;
    let value = match pid {
        0x01 => monitor_status(ecu, true),
        0x41 => monitor_status(ecu, false),
        0x02 => ecu.freeze.map(|f| f.dtc.to_bytes().to_vec())?,
        0x03 => vec![if live.warm(t) { 0x02 } else { 0x01 }, 0x00],
        0x04 => encode::percent(live.load_pct(t)),
        0x05 => encode::temperature(live.coolant_c(t)),
        0x06 => encode::fuel_trim(live.short_trim_pct(t)),
        0x07 => encode::fuel_trim(live.long_trim_pct(t)),
        0x0B => encode::byte(live.map_kpa(t)),
        0x0C => encode::rpm(live.rpm(t)),
        0x0D => encode::byte(live.speed_kmh(t)),
        0x0E => encode::timing_advance(live.timing_deg(t)),
        0x0F => encode::temperature(live.intake_c(t)),
        0x10 => encode::maf(live.maf_gs(t)),
        0x11 => encode::percent(live.throttle_pct(t)),
        0x1C => vec![0x01],
        0x1F => encode::word(live.engine_s(t).unwrap_or(0.0)),
        0x21 => encode::word(if mil_on {
            sc.mil_km + live.total_km(now)
        } else {
            0.0
        }),
        0x2F => encode::percent(live.fuel_level_pct(t)),
        0x30 => encode::byte(match since_clear_secs(ecu, now) {
            Some(_) => 0.0,
            None => sc.base_warmups,
        }),
        0x31 => encode::word(match sc.cleared_at {
            Some(at) => live.total_km(now) - live.total_km(at),
            None => sc.base_km + live.total_km(now),
        }),
        0x33 => encode::byte(101.0),
        0x42 => encode::module_voltage(live.battery_v(t)),
        0x46 => encode::temperature(live.ambient_c),
        0x4D => encode::word(if mil_on {
            sc.mil_minutes + now.as_secs_f64() / 60.0
        } else {
            0.0
        }),
        0x4E => encode::word(match since_clear_secs(ecu, now) {
            Some(secs) => secs / 60.0,
            None => sc.base_minutes + now.as_secs_f64() / 60.0,
        }),
        0x51 => vec![if live.hybrid_battery_pct.is_some() {
            0x11
        } else {
            0x01
        }],
        0x5B => encode::percent(live.hybrid_battery_pct?),
        0x5C => encode::temperature(live.coolant_c(t) - 3.0),
        0xA6 => encode::odometer(live.odometer_km(t)?),
        _ => return None,
    };
    Some(value)
}

/// PID 01 (since clear, `since_clear`) or 41 (this drive cycle).
fn monitor_status(ecu: &SimEcu, since_clear: bool) -> Vec<u8> {
    let m = ecu.monitors;
    let a = if since_clear {
        u8::from(ecu.mil) << 7 | ecu.stored.len().min(0x7F) as u8
    } else {
        0
    };
    let b = u8::from(m.compression_ignition) << 3
        | (m.continuous_supported & 0x07)
        | (m.continuous_incomplete & 0x07) << 4;
    vec![a, b, m.supported, m.incomplete & m.supported]
}

/// Service 09. On CAN each item is one message with a count byte; on the legacy buses the
/// items come four bytes at a time in numbered messages, announced by the odd InfoTypes.
fn vehicle_info(ecu: &SimEcu, can: bool, params: &[u8]) -> Vec<Vec<u8>> {
    let [infotype] = params else {
        return Vec::new();
    };
    let info = &ecu.info;
    let vin = info.vin.as_deref().map(|v| encode::ascii_field(v, 17));
    let calids: Vec<u8> = info
        .calids
        .iter()
        .flat_map(|c| encode::ascii_field(c, 16))
        .collect();
    let cvns: Vec<u8> = info.cvns.iter().flat_map(|c| c.to_be_bytes()).collect();
    let mut supported: Vec<u8> = Vec::new();
    if vin.is_some() {
        supported.extend(if can { &[0x02][..] } else { &[0x01, 0x02][..] });
    }
    if !calids.is_empty() {
        supported.extend(if can { &[0x04][..] } else { &[0x03, 0x04][..] });
    }
    if !cvns.is_empty() {
        supported.extend(if can { &[0x06][..] } else { &[0x05, 0x06][..] });
    }
    if can {
        supported.push(0x0A);
    }
    let it = *infotype;
    if it == 0x00 {
        return vec![prefixed(
            0x49,
            &[&[0x00][..], &bitmap(&supported, 0)].concat(),
        )];
    }
    if !supported.contains(&it) {
        return Vec::new();
    }
    let padded_vin = || {
        let mut v = vec![0u8; 3];
        v.extend(vin.clone().unwrap_or_default());
        v
    };
    if can {
        let (count, body) = match it {
            0x02 => (1, vin.clone().unwrap_or_default()),
            0x04 => (info.calids.len(), calids),
            0x06 => (info.cvns.len(), cvns),
            _ => (1, encode::ascii_field(&info.name, 20)),
        };
        return vec![[&[0x49, it, count.min(255) as u8][..], &body].concat()];
    }
    let numbered = |data: Vec<u8>| -> Vec<Vec<u8>> {
        data.chunks(4)
            .enumerate()
            .map(|(i, c)| [&[0x49, it, (i + 1).min(255) as u8][..], c].concat())
            .collect()
    };
    let count = |data_len: usize| vec![vec![0x49, it, (data_len / 4).min(255) as u8]];
    match it {
        0x01 => count(20),
        0x02 => numbered(padded_vin()),
        0x03 => count(calids.len()),
        0x04 => numbered(calids),
        0x05 => count(cvns.len()),
        _ => numbered(cvns),
    }
}

/// Makes an ECU's fault state: codes stored, MIL on, freeze frame taken at `at`.
pub fn store_fault(ecu: &mut SimEcu, codes: &[Dtc], at: Duration) {
    ecu.stored.extend_from_slice(codes);
    if let Some(&first) = codes.first() {
        ecu.mil = true;
        if ecu.freeze.is_none() && !ecu.freeze_pids.is_empty() {
            ecu.freeze = Some(super::vehicle::FreezeFrame { dtc: first, at });
        }
    }
}
