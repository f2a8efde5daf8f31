//! How the ELM327 prints received frames.
//!
//! Decisions, each from the ELM327 datasheet (ELM327DSJ / DSH) unless noted:
//! - Every byte is printed as two hex digits followed by a space when spaces are on (AT S1),
//!   so lines end in a space before the CR (`41 0D 53 \r`), and the multi-frame length line
//!   too (`014 \r`). The datasheet's printed examples cannot show trailing spaces; this
//!   follows byte-exact transcripts in the comma.ai panda project's ELM327 tests, which were
//!   written against a reference adapter. AT S0 drops every separator.
//! - Headers off, CAN auto formatting on (the defaults): the PCI byte and any padding are
//!   removed ("any extra (unused) data bytes that are received in the frame will be
//!   removed"). A multi-frame message prints its total length as three hex digits on its own
//!   line, then each segment as `n: ` with the sequence digit (0 for the first frame), which
//!   is the datasheet's 09 02 example (`014` / `0: 49 02 01 31 44 34` / ...).
//! - Headers on: "turning the display of headers on (with AT H1) will override some of the
//!   CAF1 formatting ... so that the received bytes will appear much like in the CAF0 mode
//!   (ie. as received)". So each CAN frame prints its id, then all eight data bytes: the PCI
//!   byte and the padding too, as the datasheet's own example shows
//!   (`7E8 03 41 05 46 00 00 00 00`). The simulated ECUs pad with 00, as in that example.
//! - Headers off with auto formatting off (AT CAF0) also prints all eight bytes, PCI included.
//! - Legacy buses: headers on shows the three header bytes and the checksum byte; headers
//!   off shows only the data.
//! - 11-bit ids print as three hex digits, 29-bit ids as four bytes (`18 DA F1 10`).

use crate::transport::EcuAddress;

use super::bus::{Frame, FrameKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub spaces: bool,
    pub headers: bool,
    pub auto_format: bool,
    /// AT D1: the CAN data length digit after the id (headers on only).
    pub show_dlc: bool,
}

fn push_bytes(line: &mut String, bytes: &[u8], spaces: bool) {
    for b in bytes {
        line.push_str(&format!("{b:02X}"));
        if spaces {
            line.push(' ');
        }
    }
}

fn can_id(line: &mut String, ecu: EcuAddress, spaces: bool) {
    match ecu {
        EcuAddress::Can29(id) => push_bytes(line, &id.to_be_bytes(), spaces),
        EcuAddress::Can11(id) => {
            line.push_str(&format!("{id:03X}"));
            if spaces {
                line.push(' ');
            }
        }
        _ => {}
    }
}

/// The lines one received frame produces (a first frame under auto formatting gives two).
pub fn frame_lines(frame: &Frame, style: Style) -> Vec<String> {
    let mut line = String::new();
    let sp = style.spaces;
    match frame.kind {
        FrameKind::Legacy => {
            let b = &frame.bytes;
            if style.headers || b.len() < 4 {
                push_bytes(&mut line, b, sp);
            } else {
                push_bytes(&mut line, &b[3..b.len() - 1], sp);
            }
            return vec![line];
        }
        _ if style.headers => {
            can_id(&mut line, frame.ecu, sp);
            if style.show_dlc {
                line.push_str(&format!("{}", frame.bytes.len()));
                if sp {
                    line.push(' ');
                }
            }
            push_bytes(&mut line, &frame.bytes, sp);
        }
        _ if !style.auto_format => push_bytes(&mut line, &frame.bytes, sp),
        FrameKind::Single(len) => push_bytes(&mut line, &frame.bytes[1..=len], sp),
        FrameKind::First(total) => {
            let mut length = format!("{total:03X}");
            if sp {
                length.push(' ');
            }
            line.push_str(if sp { "0: " } else { "0:" });
            push_bytes(&mut line, &frame.bytes[2..], sp);
            return vec![length, line];
        }
        FrameKind::Consecutive(seq, take) => {
            line.push_str(&format!("{seq:X}:"));
            if sp {
                line.push(' ');
            }
            push_bytes(&mut line, &frame.bytes[1..=take], sp);
        }
    }
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn style(spaces: bool, headers: bool) -> Style {
        Style {
            spaces,
            headers,
            auto_format: true,
            show_dlc: false,
        }
    }

    fn single(ecu: EcuAddress, bytes: &[u8]) -> Frame {
        Frame {
            at: Duration::ZERO,
            ecu,
            bytes: bytes.to_vec(),
            kind: FrameKind::Single(usize::from(bytes[0])),
            message: 0,
            completes: true,
        }
    }

    #[test]
    fn the_datasheet_headers_example_prints_padding() {
        let f = single(EcuAddress::Can11(0x7E8), &[3, 0x41, 0x05, 0x46, 0, 0, 0, 0]);
        assert_eq!(
            frame_lines(&f, style(true, true)),
            ["7E8 03 41 05 46 00 00 00 00 "]
        );
        assert_eq!(frame_lines(&f, style(false, true)), ["7E80341054600000000"]);
        assert_eq!(frame_lines(&f, style(true, false)), ["41 05 46 "]);
        assert_eq!(frame_lines(&f, style(false, false)), ["410546"]);
        let caf0 = Style {
            auto_format: false,
            ..style(true, false)
        };
        assert_eq!(frame_lines(&f, caf0), ["03 41 05 46 00 00 00 00 "]);
        let dlc = Style {
            show_dlc: true,
            ..style(true, true)
        };
        assert_eq!(frame_lines(&f, dlc), ["7E8 8 03 41 05 46 00 00 00 00 "]);
    }

    #[test]
    fn twenty_nine_bit_ids_print_as_four_bytes() {
        let f = single(
            EcuAddress::Can29(0x18DA_F110),
            &[3, 0x41, 0x0D, 0x53, 0, 0, 0, 0],
        );
        assert_eq!(
            frame_lines(&f, style(true, true)),
            ["18 DA F1 10 03 41 0D 53 00 00 00 00 "]
        );
        assert_eq!(
            frame_lines(&f, style(false, true)),
            ["18DAF11003410D5300000000"]
        );
    }
}
