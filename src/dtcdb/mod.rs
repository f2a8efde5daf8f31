//! Trouble-code knowledge, embedded from dtc-db/ at build time.
//!
//! Two reviewed files make the database: `codes.csv` (every SAE J2012 generic code we could
//! confirm, with its standard title) and `ranges.csv` (for every range of codes: subsystem,
//! default urgency, plain-language meaning, next step, workshop skill, labour). A code's
//! knowledge is its title plus its narrowest range row, so a lookup never fails: a generic
//! code missing from `codes.csv` still gets its range's knowledge and says it is not in the
//! database, and a manufacturer code says it is manufacturer-specific unless a per-make
//! overlay (`dtc-db/makes/<make>.csv`) describes it.
//!
//! Invariants checked at load (and by `tests/dtcdb_data.rs` for the embedded files): codes are
//! sorted, unique and SAE-controlled; range rows nest (never partly overlap) and together
//! cover every code. The text is borrowed from the embedded files, so the database costs
//! little more than its index.

mod csv;
mod load;
mod types;

use std::borrow::Cow;
use std::sync::OnceLock;

pub use load::{DbError, MakeOverlay};
pub use types::{CodeInfo, Labour, Skill, Source, Subsystem, Urgency, system_label};

use load::RangeRow;

use crate::obd::dtc::Dtc;

const CODES_CSV: &str = include_str!("../../dtc-db/codes.csv");
const RANGES_CSV: &str = include_str!("../../dtc-db/ranges.csv");

/// Description of a generic-range code that is not in codes.csv.
pub const NOT_IN_DATABASE: &str = "not in the database";
/// Description of a manufacturer-range code without an overlay entry.
pub const MANUFACTURER_SPECIFIC: &str = "manufacturer-specific";

/// Used only if ranges.csv were broken in a release (which the data tests prevent): lookups
/// still answer, cautiously, instead of the daemon failing.
const FALLBACK_ROW: RangeRow = RangeRow {
    from: Dtc::from_raw(1),
    to: Dtc::from_raw(u16::MAX),
    subsystem: Subsystem::SaeReserved,
    urgency: Urgency::High,
    skill: Skill::Electrical,
    labour: Labour::OneToTwoHours,
    meaning: Cow::Borrowed(
        "The trouble-code database could not be loaded, so this code is not explained.",
    ),
    action: Cow::Borrowed("Have the code read by a workshop within 48 hours."),
};

/// The code knowledge base. Get the embedded one with [`DtcDb::embedded`].
#[derive(Debug)]
pub struct DtcDb {
    /// Generic codes with their standard titles, sorted for binary search.
    codes: Vec<(Dtc, Cow<'static, str>)>,
    /// Range rows, narrowest first.
    ranges: Vec<RangeRow>,
}

static EMBEDDED: OnceLock<DtcDb> = OnceLock::new();

impl DtcDb {
    /// The database built into the binary, parsed on first use.
    pub fn embedded() -> &'static DtcDb {
        EMBEDDED.get_or_init(|| {
            Self::load_embedded().unwrap_or_else(|e| {
                tracing::error!("embedded trouble-code database is broken: {e}");
                DtcDb {
                    codes: Vec::new(),
                    ranges: Vec::new(),
                }
            })
        })
    }

    /// Parses the embedded files afresh; tests and the load bench use it to see errors.
    pub fn load_embedded() -> Result<DtcDb, DbError> {
        Self::from_sources(CODES_CSV, RANGES_CSV)
    }

    /// Builds a database from the text of codes.csv and ranges.csv.
    pub fn from_sources(codes: &'static str, ranges: &'static str) -> Result<DtcDb, DbError> {
        Ok(DtcDb {
            codes: load::parse_codes("codes.csv", codes)?,
            ranges: load::parse_ranges("ranges.csv", ranges)?,
        })
    }

    /// Everything known about a code. Never fails; see the module docs.
    pub fn lookup(&self, code: Dtc) -> CodeInfo<'_> {
        self.lookup_with(code, None)
    }

    /// Like [`lookup`](Self::lookup), with a make's overlay consulted first for the description.
    pub fn lookup_with<'a>(&'a self, code: Dtc, overlay: Option<&'a MakeOverlay>) -> CodeInfo<'a> {
        let row = self.range_row(code);
        let (description, source) = match (
            overlay.and_then(|o| o.description(code).map(|d| (o, d))),
            self.title(code),
        ) {
            (Some((o, d)), _) => (d, Source::Manufacturer { make: o.make() }),
            (None, Some(title)) => (title, Source::Generic),
            (None, None) if load::is_sae_controlled(code) => (NOT_IN_DATABASE, Source::RangeOnly),
            (None, None) => (MANUFACTURER_SPECIFIC, Source::RangeOnly),
        };
        CodeInfo {
            code,
            description,
            system: code.system(),
            subsystem: row.subsystem,
            urgency: row.urgency,
            meaning: &row.meaning,
            action: &row.action,
            skill: row.skill,
            labour: row.labour,
            source,
        }
    }

    /// The standard title of a generic code, if the database has it.
    pub fn title(&self, code: Dtc) -> Option<&str> {
        self.codes
            .binary_search_by_key(&code, |(c, _)| *c)
            .ok()
            .and_then(|i| self.codes.get(i))
            .map(|(_, t)| t.as_ref())
    }

    /// Every generic code with its title, in code order.
    pub fn generic_codes(&self) -> impl Iterator<Item = (Dtc, &str)> {
        self.codes.iter().map(|(c, t)| (*c, t.as_ref()))
    }

    /// The range rows as (from, to, subsystem, urgency), narrowest first, for tests and docs.
    pub fn ranges(&self) -> impl Iterator<Item = (Dtc, Dtc, Subsystem, Urgency)> + '_ {
        self.ranges
            .iter()
            .map(|r| (r.from, r.to, r.subsystem, r.urgency))
    }

    fn range_row(&self, code: Dtc) -> &RangeRow {
        self.ranges
            .iter()
            .find(|r| r.contains(code))
            .unwrap_or(&FALLBACK_ROW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtc(s: &str) -> Dtc {
        s.parse().unwrap()
    }

    #[test]
    fn embedded_database_loads() {
        let db = DtcDb::load_embedded().unwrap();
        assert!(db.codes.len() > 2000);
    }

    #[test]
    fn generic_manufacturer_and_unknown_codes() {
        let db = DtcDb::embedded();
        let p0300 = db.lookup(dtc("P0300"));
        assert_eq!(
            p0300.description,
            "Random/Multiple Cylinder Misfire Detected"
        );
        assert_eq!(p0300.source, Source::Generic);
        assert_eq!(p0300.subsystem, Subsystem::IgnitionMisfire);

        let b1234 = db.lookup(dtc("B1234"));
        assert_eq!(b1234.description, MANUFACTURER_SPECIFIC);
        assert_eq!(b1234.subsystem, Subsystem::ManufacturerSpecific);
        assert_eq!(b1234.source, Source::RangeOnly);

        let unknown = db.lookup(dtc("C0999"));
        assert_eq!(unknown.description, NOT_IN_DATABASE);
    }

    #[test]
    fn an_overlay_describes_manufacturer_codes() {
        let overlay =
            MakeOverlay::parse("acme", "code,description\nP1234,Acme pump relay\n").unwrap();
        let db = DtcDb::embedded();
        let info = db.lookup_with(dtc("P1234"), Some(&overlay));
        assert_eq!(info.description, "Acme pump relay");
        assert_eq!(info.source, Source::Manufacturer { make: "acme" });
        assert_eq!(
            db.lookup_with(dtc("P1235"), Some(&overlay)).description,
            MANUFACTURER_SPECIFIC
        );
    }

    #[test]
    fn broken_files_are_reported_with_their_line() {
        let header = "from,to,subsystem,urgency,skill,labour,meaning,action\n";
        let err = DtcDb::from_sources("code,description\nP0301,x\nP0300,y\n", header).unwrap_err();
        assert!(err.to_string().contains("codes.csv:3"), "{err}");
        let err = DtcDb::from_sources("code,description\nP1301,x\n", header).unwrap_err();
        assert!(err.to_string().contains("manufacturer range"), "{err}");
        let err = DtcDb::from_sources("code,description\n", header).unwrap_err();
        assert_eq!(err, DbError::Gap(dtc("P0001")));
    }
}
