//! Service 01/02 parameter IDs (SAE J1979 / J1979-DA): the definitions and their decoders.
//!
//! The definitions live in one table (`table.rs`); the formulas that need more than a linear
//! scale live in `decoders.rs`. Decoding is tolerant of trailing bytes, because cheap adapters
//! pass CAN padding through, but never guesses at bytes it has not received.

mod decoders;
mod layouts;
mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ext;

use serde::Serialize;

pub(crate) use decoders::hex as hex_bytes;

use super::DecodeError;

/// How a PID's data bytes become values.
#[derive(Clone, Copy)]
pub(crate) enum Formula {
    /// `raw * mul / div + offset`, `raw` being the big-endian number in the PID's `len` bytes
    /// (1, 2 or 4), read as two's complement when `signed`. Dividing last keeps results such
    /// as 100/255 as close to the exact value as an f64 allows.
    Linear {
        signed: bool,
        mul: f64,
        div: f64,
        offset: f64,
    },
    /// Anything else: several values, enumerations, bit fields.
    Custom(fn(&PidDef, &[u8]) -> Vec<Value>),
}

/// One service 01 PID as the standard defines it.
#[derive(Clone, Copy)]
pub struct PidDef {
    pub pid: u8,
    /// Short snake_case name for the command line and JSON, e.g. `rpm`.
    pub key: &'static str,
    pub name: &'static str,
    /// Data bytes after the PID byte. 0 means the length is not published: such a PID takes
    /// every remaining byte of the response.
    pub len: usize,
    /// Unit of a single-valued PID; multi-valued PIDs carry a unit per value.
    pub unit: &'static str,
    formula: Formula,
}

impl std::fmt::Debug for PidDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PidDef")
            .field("pid", &format_args!("{:02X}", self.pid))
            .field("key", &self.key)
            .field("name", &self.name)
            .field("len", &self.len)
            .field("unit", &self.unit)
            .finish()
    }
}

/// Serializes the definition, not the formula, e.g. for listing PIDs on the command line.
impl Serialize for PidDef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("PidDef", 5)?;
        s.serialize_field("pid", &self.pid)?;
        s.serialize_field("key", self.key)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("len", &self.len)?;
        s.serialize_field("unit", self.unit)?;
        s.end()
    }
}

impl PartialEq for PidDef {
    fn eq(&self, other: &Self) -> bool {
        self.pid == other.pid
    }
}

impl PidDef {
    /// Whether the standard fixes this PID's length (see [`PidDef::len`]).
    pub fn has_fixed_len(&self) -> bool {
        self.len > 0
    }
}

/// One decoded PID.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PidReading {
    pub pid: u8,
    pub key: &'static str,
    pub name: &'static str,
    pub values: Vec<Value>,
}

impl PidReading {
    /// The value with the given key, e.g. `reading.value("rpm")`.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.key == key)
    }

    /// The number under `key`, if there is one.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.value(key)?.value {
            ValueKind::Number(n) => Some(n),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    pub key: &'static str,
    pub value: ValueKind,
    pub unit: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ValueKind {
    Number(f64),
    Text(String),
    Flag(bool),
}

impl Value {
    pub(crate) fn number(key: &'static str, n: f64, unit: &'static str) -> Value {
        Value {
            key,
            value: ValueKind::Number(n),
            unit,
        }
    }

    pub(crate) fn text(key: &'static str, text: impl Into<String>) -> Value {
        Value {
            key,
            value: ValueKind::Text(text.into()),
            unit: "",
        }
    }

    pub(crate) fn flag(key: &'static str, on: bool) -> Value {
        Value {
            key,
            value: ValueKind::Flag(on),
            unit: "",
        }
    }
}

/// Every PID this crate knows, in PID order.
pub fn all_pids() -> &'static [PidDef] {
    table::PIDS
}

pub fn pid_def(pid: u8) -> Option<&'static PidDef> {
    table::PIDS.iter().find(|d| d.pid == pid)
}

/// Looks a PID up by its key (case-insensitive) or by its number in hex (`0C`, `0x0C`).
pub fn pid_by_key(key: &str) -> Option<&'static PidDef> {
    let key = key.trim();
    if let Some(def) = table::PIDS.iter().find(|d| d.key.eq_ignore_ascii_case(key)) {
        return Some(def);
    }
    let digits = key
        .strip_prefix("0x")
        .or_else(|| key.strip_prefix("0X"))
        .unwrap_or(key);
    if digits.is_empty() || digits.len() > 2 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    pid_def(u8::from_str_radix(digits, 16).ok()?)
}

/// Decodes `data`, the bytes after the PID byte. Bytes beyond the PID's length are ignored.
pub fn decode_pid(pid: u8, data: &[u8]) -> Result<PidReading, DecodeError> {
    let def = pid_def(pid).ok_or(DecodeError::UnknownPid(pid))?;
    let expected = def.len.max(1);
    if data.len() < expected {
        return Err(DecodeError::Length {
            pid,
            expected,
            got: data.len(),
        });
    }
    let data = if def.has_fixed_len() {
        data.get(..def.len).unwrap_or(data)
    } else {
        data
    };
    let values = match def.formula {
        Formula::Linear {
            signed,
            mul,
            div,
            offset,
        } => {
            let raw = decoders::be_number(data, signed);
            vec![Value::number(def.key, raw * mul / div + offset, def.unit)]
        }
        Formula::Custom(decode) => decode(def, data),
    };
    Ok(PidReading {
        pid,
        key: def.key,
        name: def.name,
        values,
    })
}

/// Decodes the bitmap answered to PID `base` (00, 20, ... E0): the PIDs `base+1..=base+0x20`
/// whose bit is set, the first byte's MSB standing for `base+1`.
pub fn decode_supported(base: u8, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let bitmap = data.get(..4).ok_or(DecodeError::Length {
        pid: base,
        expected: 4,
        got: data.len(),
    })?;
    let mut pids = Vec::new();
    for (i, byte) in bitmap.iter().enumerate() {
        for bit in 0..8u8 {
            if byte & (0x80 >> bit) != 0 {
                // base + 1 + i*8 + bit can pass 0xFF only for base E0's last bit (PID 0x100).
                let offset = 1 + i as u16 * 8 + u16::from(bit);
                if let Ok(pid) = u8::try_from(u16::from(base) + offset) {
                    pids.push(pid);
                }
            }
        }
    }
    Ok(pids)
}
