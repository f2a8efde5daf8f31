//! What the transport learns from the supported-PID bitmaps it carries, to know how many ECUs
//! will answer a service 01 request.
//!
//! Without that count an exchange must wait out P2 (50 ms) after the last answer, which caps
//! live data at about 20 requests per second. The reader gives a count only when every answer
//! fits one frame (an ELM327 counts frames, not messages); here we count messages, and
//! ISO 15765-4 has an ECU answer a multi-PID request exactly when it supports at least one of
//! the PIDs, so the bitmaps ECUs already sent (01 00, 01 20, ...) give the count.

use std::collections::BTreeMap;

use crate::transport::EcuAddress;

/// Service 01 PIDs each ECU said it supports, by bitmap range.
#[derive(Debug, Clone, Default)]
pub struct SupportedPids {
    /// Per ECU: bitmap base PID (0x00, 0x20, ..) → the 32 bits announcing base+1..=base+32.
    ecus: BTreeMap<EcuAddress, BTreeMap<u8, u32>>,
}

fn is_bitmap_pid(pid: u8) -> bool {
    pid.is_multiple_of(0x20)
}

impl SupportedPids {
    /// Takes note of an answer to `request`; only supported-PID bitmaps teach anything.
    pub fn learn(&mut self, request: &[u8], from: EcuAddress, data: &[u8]) {
        let [0x01, pids @ ..] = request else {
            return;
        };
        if pids.is_empty() || !pids.iter().all(|&p| is_bitmap_pid(p)) {
            return;
        }
        let [0x41, rest @ ..] = data else {
            return;
        };
        let mut rest: &[u8] = rest;
        // A multi-PID answer repeats PID + 4 bytes; stop at anything that does not fit.
        while let [pid, a, b, c, d, tail @ ..] = rest {
            if !pids.contains(pid) {
                break;
            }
            let bits = u32::from_be_bytes([*a, *b, *c, *d]);
            self.ecus.entry(from).or_default().insert(*pid, bits);
            rest = tail;
        }
    }

    /// How many ECUs will answer service 01 `request`, when every ECU's bitmaps cover every
    /// PID asked; `None` when we cannot tell (then the exchange waits P2 as usual).
    pub fn answers_expected(&self, request: &[u8]) -> Option<usize> {
        let [0x01, pids @ ..] = request else {
            return None;
        };
        if self.ecus.is_empty() || pids.is_empty() || pids.iter().any(|&p| is_bitmap_pid(p)) {
            return None;
        }
        let mut count = 0;
        for bitmaps in self.ecus.values() {
            let mut supports_any = false;
            for &pid in pids {
                let base = (pid - 1) / 0x20 * 0x20;
                let bits = *bitmaps.get(&base)?;
                let bit = u32::from(pid - base - 1);
                supports_any |= bits & (0x8000_0000 >> bit) != 0;
            }
            count += usize::from(supports_any);
        }
        Some(count)
    }

    pub fn clear(&mut self) {
        self.ecus.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINE: EcuAddress = EcuAddress::Can11(0x7E8);
    const TCM: EcuAddress = EcuAddress::Can11(0x7E9);

    #[test]
    fn counts_the_ecus_supporting_any_pid_asked() {
        let mut s = SupportedPids::default();
        assert_eq!(s.answers_expected(&[0x01, 0x0C]), None, "nothing learned");
        // Engine: 0C and 0D, and 20 (more bitmaps). TCM: 0D only.
        s.learn(&[0x01, 0x00], ENGINE, &[0x41, 0x00, 0x00, 0x18, 0x00, 0x01]);
        s.learn(&[0x01, 0x00], TCM, &[0x41, 0x00, 0x00, 0x08, 0x00, 0x00]);
        assert_eq!(s.answers_expected(&[0x01, 0x0C]), Some(1));
        assert_eq!(s.answers_expected(&[0x01, 0x0D]), Some(2));
        assert_eq!(s.answers_expected(&[0x01, 0x0C, 0x0D]), Some(2));
        assert_eq!(s.answers_expected(&[0x01, 0x05]), Some(0));
        assert_eq!(s.answers_expected(&[0x01, 0x21]), None, "01 20 not learned");
        assert_eq!(
            s.answers_expected(&[0x01, 0x20]),
            None,
            "bitmaps are discovery"
        );
        assert_eq!(s.answers_expected(&[0x03]), None);
        s.learn(&[0x01, 0x20], ENGINE, &[0x41, 0x20, 0x80, 0, 0, 0]);
        assert_eq!(
            s.answers_expected(&[0x01, 0x21]),
            None,
            "TCM's 01 20 unknown"
        );
        s.learn(&[0x01, 0x20], TCM, &[0x41, 0x20, 0, 0, 0, 0]);
        assert_eq!(s.answers_expected(&[0x01, 0x21, 0x0D]), Some(2));
        s.clear();
        assert_eq!(s.answers_expected(&[0x01, 0x0D]), None);
    }

    #[test]
    fn learns_only_from_bitmap_answers_and_never_panics() {
        let mut s = SupportedPids::default();
        s.learn(&[0x01, 0x0C], ENGINE, &[0x41, 0x0C, 0x1A, 0xF8, 0, 0]);
        s.learn(&[0x01, 0x00], ENGINE, &[0x41, 0x00, 0xFF]);
        s.learn(&[0x01, 0x00], ENGINE, &[0x7F, 0x01, 0x11]);
        s.learn(&[0x09, 0x00], ENGINE, &[0x49, 0x00, 1, 2, 3, 4]);
        s.learn(&[], ENGINE, &[]);
        assert_eq!(s.answers_expected(&[0x01, 0x0C]), None);
        // Two bitmaps in one answer, the second one unasked: only the first is taken.
        s.learn(
            &[0x01, 0x00, 0x20],
            ENGINE,
            &[
                0x41, 0x00, 0, 0x10, 0, 0, 0x20, 0x80, 0, 0, 0, 0x40, 1, 2, 3, 4,
            ],
        );
        assert_eq!(s.answers_expected(&[0x01, 0x0C]), Some(1));
        assert_eq!(s.answers_expected(&[0x01, 0x21]), Some(1));
        assert_eq!(s.answers_expected(&[0x01, 0x41]), None);
        assert_eq!(s.answers_expected(&[0x01, 0xFF]), None);
    }
}
