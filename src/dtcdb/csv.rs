//! The small subset of CSV that dtc-db/ uses: one record per line, `,` between fields, fields
//! with a comma or quote wrapped in `"` with `""` for a quote inside. Lines starting with `#`
//! are comments so that a reviewer can read why a row exists. Written by hand because the
//! files are small and a borrowed, allocation-free parse keeps the daemon's start cheap.

use std::borrow::Cow;

/// Why one line could not be split into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    UnterminatedQuote,
    JunkAfterQuote,
}

/// Iterates over the data lines of a file with their 1-based line numbers, skipping blank
/// lines, comments and the header.
pub(crate) fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .skip(1)
}

/// Splits one record into its fields, borrowing from the line where no unescaping is needed.
pub(crate) fn split(line: &str) -> Result<Vec<Cow<'_, str>>, SplitError> {
    let mut fields = Vec::with_capacity(8);
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (field, after) = quoted_field(quoted)?;
            fields.push(field);
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(fields),
                None => return Err(SplitError::JunkAfterQuote),
            }
        } else {
            match rest.split_once(',') {
                Some((field, next)) => {
                    fields.push(Cow::Borrowed(field));
                    rest = next;
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

/// Reads a quoted field (after its opening quote); returns it and what follows the closing one.
fn quoted_field(text: &str) -> Result<(Cow<'_, str>, &str), SplitError> {
    let mut owned: Option<String> = None;
    let mut start = 0;
    let mut search = 0;
    loop {
        let close = text[search..]
            .find('"')
            .map(|i| search + i)
            .ok_or(SplitError::UnterminatedQuote)?;
        if text[close + 1..].starts_with('"') {
            // An escaped quote: keep one and go on past both.
            let buf = owned.get_or_insert_with(String::new);
            buf.push_str(&text[start..=close]);
            start = close + 2;
            search = close + 2;
            continue;
        }
        let field = match owned {
            Some(mut buf) => {
                buf.push_str(&text[start..close]);
                Cow::Owned(buf)
            }
            None => Cow::Borrowed(&text[..close]),
        };
        return Ok((field, &text[close + 1..]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_quoted_fields() {
        let fields = split(r#"P0001,"a, b","say ""hi""",,last"#).unwrap();
        assert_eq!(fields, vec!["P0001", "a, b", r#"say "hi""#, "", "last"]);
        assert!(matches!(fields[1], Cow::Borrowed(_)));
    }

    #[test]
    fn broken_quotes_are_errors() {
        assert_eq!(split(r#"a,"open"#), Err(SplitError::UnterminatedQuote));
        assert_eq!(split(r#"a,"x"y"#), Err(SplitError::JunkAfterQuote));
    }

    #[test]
    fn comments_blank_lines_and_header_are_skipped() {
        let lines: Vec<_> = data_lines("# why\nh1,h2\n\n1,2\r\n# more\n3,4").collect();
        assert_eq!(lines, vec![(4, "1,2"), (6, "3,4")]);
    }
}
