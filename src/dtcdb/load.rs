//! Parsing and validating the dtc-db/ files. Every check that a reviewer would otherwise have
//! to do by eye (sorted, no duplicates, codes in a generic range, ranges nested and covering
//! every code) happens here, so a bad edit fails the embedded-data test, not a vehicle.

use std::borrow::Cow;

use super::csv::{self, SplitError};
use super::types::{Labour, Skill, Subsystem, Urgency};
use crate::obd::dtc::Dtc;

/// What is wrong with a dtc-db/ file, with the file and line so the fix is easy to find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("{file}:{line}: {problem}")]
    Line {
        file: &'static str,
        line: usize,
        problem: String,
    },
    #[error("ranges.csv: no row covers {0}")]
    Gap(Dtc),
    #[error("ranges.csv: rows {0} and {1} overlap without one containing the other")]
    Overlap(String, String),
}

/// One row of ranges.csv: what every code between `from` and `to` (inclusive) defaults to.
#[derive(Debug, Clone)]
pub(crate) struct RangeRow {
    pub from: Dtc,
    pub to: Dtc,
    pub subsystem: Subsystem,
    pub urgency: Urgency,
    pub skill: Skill,
    pub labour: Labour,
    pub meaning: Cow<'static, str>,
    pub action: Cow<'static, str>,
}

impl RangeRow {
    pub fn contains(&self, code: Dtc) -> bool {
        self.from <= code && code <= self.to
    }

    fn span(&self) -> u16 {
        self.to.raw() - self.from.raw()
    }

    fn name(&self) -> String {
        format!("{}-{}", self.from, self.to)
    }
}

fn line_error(file: &'static str, line: usize, problem: impl Into<String>) -> DbError {
    DbError::Line {
        file,
        line,
        problem: problem.into(),
    }
}

fn split_error(e: SplitError) -> &'static str {
    match e {
        SplitError::UnterminatedQuote => "a quoted field is not closed",
        SplitError::JunkAfterQuote => "text after a closing quote",
    }
}

fn parse_code(file: &'static str, line: usize, text: &str) -> Result<Dtc, DbError> {
    text.parse()
        .map_err(|e| line_error(file, line, format!("{e}")))
}

/// Splits a record and checks its field count.
fn fields<'a>(
    file: &'static str,
    line: usize,
    text: &'a str,
    want: usize,
) -> Result<Vec<Cow<'a, str>>, DbError> {
    let fields = csv::split(text).map_err(|e| line_error(file, line, split_error(e)))?;
    if fields.len() != want {
        return Err(line_error(
            file,
            line,
            format!("expected {want} fields, found {}", fields.len()),
        ));
    }
    if fields.iter().any(|f| f.trim().is_empty()) {
        return Err(line_error(file, line, "a field is empty"));
    }
    Ok(fields)
}

/// Whether SAE (not the maker) assigns the codes of this number: P0, P2, P34-P3F; C0, C3;
/// B0, B3; U0, U3.
pub(crate) fn is_sae_controlled(code: Dtc) -> bool {
    let digit = code.first_digit();
    match code.system() {
        crate::obd::dtc::DtcSystem::Powertrain => {
            digit == 0 || digit == 2 || (digit == 3 && code.number() >= 0x3400)
        }
        _ => digit == 0 || digit == 3,
    }
}

/// Parses codes.csv: `code,description`, sorted by code, each code SAE-controlled and once.
pub(crate) fn parse_codes(
    file: &'static str,
    text: &'static str,
) -> Result<Vec<(Dtc, Cow<'static, str>)>, DbError> {
    let mut codes: Vec<(Dtc, Cow<'static, str>)> = Vec::with_capacity(text.len() / 48);
    for (line, record) in csv::data_lines(text) {
        let [code, description]: [Cow<'static, str>; 2] = fields(file, line, record, 2)?
            .try_into()
            .map_err(|_| line_error(file, line, "expected 2 fields"))?;
        let code = parse_code(file, line, &code)?;
        if !is_sae_controlled(code) {
            return Err(line_error(
                file,
                line,
                format!("{code} is in a manufacturer range; put it in makes/<make>.csv"),
            ));
        }
        if let Some((last, _)) = codes.last()
            && *last >= code
        {
            return Err(line_error(
                file,
                line,
                format!("{code} is out of order or repeated (after {last})"),
            ));
        }
        codes.push((code, description));
    }
    Ok(codes)
}

fn parse_vocab<T: std::str::FromStr>(
    file: &'static str,
    line: usize,
    what: &str,
    text: &str,
) -> Result<T, DbError> {
    text.parse()
        .map_err(|_| line_error(file, line, format!("'{text}' is not a known {what}")))
}

/// Parses ranges.csv and checks that the rows nest and cover every code. Returns the rows
/// narrowest first, so the first row that contains a code is the one that applies to it.
pub(crate) fn parse_ranges(
    file: &'static str,
    text: &'static str,
) -> Result<Vec<RangeRow>, DbError> {
    let mut rows = Vec::new();
    for (line, record) in csv::data_lines(text) {
        let f = fields(file, line, record, 8)?;
        let from = parse_code(file, line, &f[0])?;
        let to = parse_code(file, line, &f[1])?;
        if to < from || to.system() != from.system() {
            return Err(line_error(
                file,
                line,
                format!("{from}-{to} is not a range"),
            ));
        }
        let urgency = match f[3].as_ref() {
            "low" => Urgency::Low,
            "medium" => Urgency::Medium,
            "high" => Urgency::High,
            "critical" => Urgency::Critical,
            other => {
                return Err(line_error(
                    file,
                    line,
                    format!("'{other}' is not an urgency"),
                ));
            }
        };
        let mut f = f.into_iter().skip(2);
        let (Some(subsystem), _, Some(skill), Some(labour), Some(meaning), Some(action)) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return Err(line_error(file, line, "expected 8 fields"));
        };
        rows.push(RangeRow {
            from,
            to,
            subsystem: parse_vocab(file, line, "subsystem", &subsystem)?,
            urgency,
            skill: parse_vocab(file, line, "skill", &skill)?,
            labour: parse_vocab(file, line, "labour bucket", &labour)?,
            meaning,
            action,
        });
    }
    check_nesting(&rows)?;
    check_coverage(&rows)?;
    rows.sort_by_key(RangeRow::span);
    Ok(rows)
}

fn check_nesting(rows: &[RangeRow]) -> Result<(), DbError> {
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            let disjoint = a.to < b.from || b.to < a.from;
            let nested = (a.contains(b.from) && a.contains(b.to))
                || (b.contains(a.from) && b.contains(a.to));
            let same = a.from == b.from && a.to == b.to;
            if same || !(disjoint || nested) {
                return Err(DbError::Overlap(a.name(), b.name()));
            }
        }
    }
    Ok(())
}

/// Sweeps the rows in order of their start; a code past the furthest end seen so far is a gap.
fn check_coverage(rows: &[RangeRow]) -> Result<(), DbError> {
    let mut spans: Vec<(u16, u16)> = rows.iter().map(|r| (r.from.raw(), r.to.raw())).collect();
    spans.sort_unstable();
    // 0x0000 is padding, never a code, so coverage starts at P0001.
    let mut next: u32 = 1;
    for (from, to) in spans {
        if u32::from(from) > next {
            return Err(DbError::Gap(Dtc::from_raw(next as u16)));
        }
        next = next.max(u32::from(to) + 1);
    }
    if next <= u32::from(u16::MAX) {
        return Err(DbError::Gap(Dtc::from_raw(next as u16)));
    }
    Ok(())
}

/// A make's descriptions for its own codes (dtc-db/makes/<make>.csv, `code,description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeOverlay {
    make: String,
    codes: Vec<(Dtc, String)>,
}

impl MakeOverlay {
    /// Parses an overlay. Codes may be in any range (a make may also describe a generic
    /// code more precisely); duplicates are an error, order is not.
    pub fn parse(make: &str, text: &str) -> Result<Self, DbError> {
        const FILE: &str = "makes/<make>.csv";
        let mut codes = Vec::new();
        for (line, record) in csv::data_lines(text) {
            let f = fields(FILE, line, record, 2)?;
            let code = parse_code(FILE, line, &f[0])?;
            codes.push((code, line, f[1].trim().to_string()));
        }
        codes.sort_by_key(|(code, line, _)| (*code, *line));
        if let Some(pair) = codes.windows(2).find(|w| w[0].0 == w[1].0) {
            let (code, first, _) = &pair[0];
            return Err(line_error(
                FILE,
                pair[1].1,
                format!("{code} already on line {first}"),
            ));
        }
        Ok(MakeOverlay {
            make: make.to_string(),
            codes: codes.into_iter().map(|(c, _, d)| (c, d)).collect(),
        })
    }

    pub fn make(&self) -> &str {
        &self.make
    }

    pub fn description(&self, code: Dtc) -> Option<&str> {
        self.codes
            .binary_search_by_key(&code, |(c, _)| *c)
            .ok()
            .and_then(|i| self.codes.get(i))
            .map(|(_, d)| d.as_str())
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}
