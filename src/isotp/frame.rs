//! Protocol control information (the first bytes of every ISO-TP frame), both ways.
//!
//! Parsing is lenient (short frames, trailing garbage, length fields that overrun the frame are
//! taken for what they carry); encoding always yields a padded 8-byte frame.

use std::time::Duration;

/// Largest payload of a classic-CAN single frame.
pub(crate) const SF_MAX: usize = 7;
/// Payload bytes in a classic-CAN first frame with a 12-bit length.
pub(crate) const FF_DATA: usize = 6;
/// Payload bytes in a classic-CAN consecutive frame.
pub(crate) const CF_DATA: usize = 7;
/// The 12-bit first-frame length field; longer messages use the 32-bit escape form.
pub(crate) const FF_DL_12_MAX: usize = 0xFFF;

/// One decoded ISO-TP frame; payload slices borrow from the received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pci<'a> {
    /// A whole message in one frame.
    Single { data: &'a [u8] },
    /// The start of a segmented message of `len` bytes.
    First { len: usize, data: &'a [u8] },
    /// The next segment; `sn` counts 1, 2, .. F, 0, 1 ..
    Consecutive { sn: u8, data: &'a [u8] },
    /// The receiver's instructions to the sender.
    FlowControl {
        status: FlowStatus,
        block_size: u8,
        st_min: StMin,
    },
}

/// The flow status nibble of a flow control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    ContinueToSend,
    Wait,
    Overflow,
    /// 3-F: ISO 15765-2 says abort the transmission.
    Reserved(u8),
}

impl FlowStatus {
    fn nibble(self) -> u8 {
        match self {
            FlowStatus::ContinueToSend => 0,
            FlowStatus::Wait => 1,
            FlowStatus::Overflow => 2,
            FlowStatus::Reserved(n) => n & 0x0F,
        }
    }
}

impl<'a> Pci<'a> {
    /// Decodes a received frame's data field, or `None` when it is not a valid ISO-TP frame
    /// (empty, unknown frame type, single frame longer than its frame).
    pub fn parse(frame: &'a [u8]) -> Option<Pci<'a>> {
        let (&first, rest) = frame.split_first()?;
        let nibble = first & 0x0F;
        match first >> 4 {
            0 => {
                let (len, data) = if nibble == 0 {
                    // CAN FD escape: the length is in the second byte.
                    let (&len, data) = rest.split_first()?;
                    (usize::from(len), data)
                } else {
                    (usize::from(nibble), rest)
                };
                // A length beyond the bytes present means a truncated or bogus frame.
                let data = data.get(..len).filter(|d| !d.is_empty())?;
                Some(Pci::Single { data })
            }
            1 => {
                let (&low, rest) = rest.split_first()?;
                let short = (usize::from(nibble) << 8) | usize::from(low);
                if short != 0 {
                    return Some(Pci::First {
                        len: short,
                        data: &rest[..rest.len().min(short)],
                    });
                }
                let (len, data) = rest.split_first_chunk::<4>()?;
                let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
                Some(Pci::First {
                    len,
                    data: &data[..data.len().min(len)],
                })
            }
            2 => Some(Pci::Consecutive {
                sn: nibble,
                data: rest,
            }),
            3 => {
                let status = match nibble {
                    0 => FlowStatus::ContinueToSend,
                    1 => FlowStatus::Wait,
                    2 => FlowStatus::Overflow,
                    n => FlowStatus::Reserved(n),
                };
                // Some ECUs send FC with DLC 3 or less; missing fields mean "no limit".
                Some(Pci::FlowControl {
                    status,
                    block_size: rest.first().copied().unwrap_or(0),
                    st_min: StMin::from_byte(rest.get(1).copied().unwrap_or(0)),
                })
            }
            _ => None,
        }
    }
}

/// Copies `payload` after `pci` into an 8-byte frame and pads the rest.
fn padded(pci: &[u8], payload: &[u8], padding: u8) -> [u8; 8] {
    let mut out = [padding; 8];
    let pci_len = pci.len().min(8);
    out[..pci_len].copy_from_slice(&pci[..pci_len]);
    let n = payload.len().min(8 - pci_len);
    out[pci_len..pci_len + n].copy_from_slice(&payload[..n]);
    out
}

/// A single frame; `payload` holds at most [`SF_MAX`] bytes (the caller checks).
pub(crate) fn single(payload: &[u8], padding: u8) -> [u8; 8] {
    // Lengths above 7 cannot occur from the callers; masking keeps the PCI well-formed anyway.
    let len = u8::try_from(payload.len().min(SF_MAX)).unwrap_or(7);
    padded(&[len], payload, padding)
}

/// A first frame announcing `total` bytes and carrying the first of them.
pub(crate) fn first(total: usize, payload: &[u8], padding: u8) -> [u8; 8] {
    if total <= FF_DL_12_MAX {
        let pci = [0x10 | (total >> 8) as u8, (total & 0xFF) as u8];
        padded(&pci, payload, padding)
    } else {
        let long = u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes();
        padded(
            &[0x10, 0, long[0], long[1], long[2], long[3]],
            payload,
            padding,
        )
    }
}

/// Payload bytes the first frame for a message of `total` bytes carries.
pub(crate) fn first_frame_capacity(total: usize) -> usize {
    if total <= FF_DL_12_MAX { FF_DATA } else { 2 }
}

pub(crate) fn consecutive(sn: u8, payload: &[u8], padding: u8) -> [u8; 8] {
    padded(&[0x20 | (sn & 0x0F)], payload, padding)
}

pub(crate) fn flow_control(
    status: FlowStatus,
    block_size: u8,
    st_min: StMin,
    padding: u8,
) -> [u8; 8] {
    padded(
        &[0x30 | status.nibble(), block_size, st_min.byte()],
        &[],
        padding,
    )
}

/// Minimum separation time between consecutive frames, as coded on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StMin(u8);

impl StMin {
    pub const ZERO: StMin = StMin(0);

    /// Takes the byte as received; reserved codes are kept and read as 127 ms.
    pub fn from_byte(byte: u8) -> StMin {
        StMin(byte)
    }

    pub fn byte(self) -> u8 {
        self.0
    }

    /// 0x00-0x7F are milliseconds, 0xF1-0xF9 are 100-900 µs; ISO 15765-2 says to treat the
    /// reserved codes as the longest valid value, 127 ms.
    pub fn duration(self) -> Duration {
        match self.0 {
            ms @ 0x00..=0x7F => Duration::from_millis(u64::from(ms)),
            us @ 0xF1..=0xF9 => Duration::from_micros(u64::from(us - 0xF0) * 100),
            _ => Duration::from_millis(127),
        }
    }

    /// The shortest code that is at least `d` (capped at 127 ms), so a peer honouring it is
    /// never faster than asked.
    pub fn at_least(d: Duration) -> StMin {
        if d.is_zero() {
            StMin(0)
        } else if d < Duration::from_millis(1) {
            let hundreds = d.as_micros().div_ceil(100).clamp(1, 9) as u8;
            StMin(0xF0 + hundreds)
        } else {
            StMin(d.as_micros().div_ceil(1000).min(127) as u8)
        }
    }
}
