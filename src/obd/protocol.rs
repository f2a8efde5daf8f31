//! The OBD-II bus protocols, numbered as the ELM327 numbers them (`ATSP n`, `ATDPN`).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// 1: SAE J1850 PWM (41.6 kbaud), mostly Ford before 2008.
    J1850Pwm,
    /// 2: SAE J1850 VPW (10.4 kbaud), mostly GM before 2008.
    J1850Vpw,
    /// 3: ISO 9141-2 (5 baud init, 10.4 kbaud).
    Iso9141,
    /// 4: ISO 14230-4 KWP2000, 5 baud init.
    Kwp5Baud,
    /// 5: ISO 14230-4 KWP2000, fast init.
    KwpFast,
    /// 6: ISO 15765-4 CAN, 11-bit identifiers, 500 kbit/s.
    Can11_500,
    /// 7: ISO 15765-4 CAN, 29-bit identifiers, 500 kbit/s.
    Can29_500,
    /// 8: ISO 15765-4 CAN, 11-bit identifiers, 250 kbit/s.
    Can11_250,
    /// 9: ISO 15765-4 CAN, 29-bit identifiers, 250 kbit/s.
    Can29_250,
    /// A: SAE J1939 CAN (29-bit, 250 kbit/s), heavy trucks.
    J1939,
    /// B: user-defined CAN 1 (ATPB), default 11-bit 125 kbit/s.
    User1Can,
    /// C: user-defined CAN 2 (ATPB), default 11-bit 50 kbit/s.
    User2Can,
}

impl Protocol {
    pub const ALL: [Protocol; 12] = [
        Protocol::J1850Pwm,
        Protocol::J1850Vpw,
        Protocol::Iso9141,
        Protocol::Kwp5Baud,
        Protocol::KwpFast,
        Protocol::Can11_500,
        Protocol::Can29_500,
        Protocol::Can11_250,
        Protocol::Can29_250,
        Protocol::J1939,
        Protocol::User1Can,
        Protocol::User2Can,
    ];

    /// The ELM327 protocol number, 1..=12 (shown as hex digit 1-C).
    pub fn elm_number(self) -> u8 {
        Protocol::ALL.iter().position(|&p| p == self).map_or(0, |i| i as u8 + 1)
    }

    pub fn from_elm_number(n: u8) -> Option<Protocol> {
        Protocol::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    pub fn is_can(self) -> bool {
        self.elm_number() >= 6
    }

    /// Whether CAN identifiers are 29 bits long.
    pub fn is_extended_can(self) -> bool {
        matches!(
            self,
            Protocol::Can29_500 | Protocol::Can29_250 | Protocol::J1939
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::J1850Pwm => "SAE J1850 PWM",
            Protocol::J1850Vpw => "SAE J1850 VPW",
            Protocol::Iso9141 => "ISO 9141-2",
            Protocol::Kwp5Baud => "ISO 14230-4 (KWP 5BAUD)",
            Protocol::KwpFast => "ISO 14230-4 (KWP FAST)",
            Protocol::Can11_500 => "ISO 15765-4 (CAN 11/500)",
            Protocol::Can29_500 => "ISO 15765-4 (CAN 29/500)",
            Protocol::Can11_250 => "ISO 15765-4 (CAN 11/250)",
            Protocol::Can29_250 => "ISO 15765-4 (CAN 29/250)",
            Protocol::J1939 => "SAE J1939 (CAN 29/250)",
            Protocol::User1Can => "USER1 (CAN 11/125)",
            Protocol::User2Can => "USER2 (CAN 11/50)",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elm_numbers_round_trip() {
        for (i, p) in Protocol::ALL.iter().enumerate() {
            assert_eq!(p.elm_number(), i as u8 + 1);
            assert_eq!(Protocol::from_elm_number(i as u8 + 1), Some(*p));
        }
        assert_eq!(Protocol::from_elm_number(0), None);
        assert_eq!(Protocol::from_elm_number(13), None);
        assert!(Protocol::Can11_500.is_can() && !Protocol::KwpFast.is_can());
        assert!(Protocol::Can29_500.is_extended_can() && !Protocol::Can11_250.is_extended_can());
    }
}
