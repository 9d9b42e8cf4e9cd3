//! The bounds file: one line per instance, `name lower upper`, separated by tabs or spaces.

use std::collections::HashMap;
use std::path::Path;

use crate::instance::InputError;

/// Known bounds of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownBounds {
    /// The best known lower bound.
    pub lower: u64,
    /// The best known upper bound (a solution with this many bins exists).
    pub upper: u64,
}

/// Bounds by instance name (file name without extension).
pub type BoundsTable = HashMap<String, KnownBounds>;

/// Parses the text of a bounds file; blank lines and lines starting with `#` are skipped.
pub fn parse_bounds(path: &Path, text: &str) -> Result<BoundsTable, InputError> {
    let mut table = BoundsTable::new();
    for (index, line) in text.lines().enumerate() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.is_empty() || tokens[0].starts_with('#') {
            continue;
        }
        let error = |message: String| InputError {
            path: path.to_owned(),
            line: Some(index + 1),
            message,
        };
        let [name, lower, upper] = tokens[..] else {
            return Err(error(format!(
                "expected `name lower upper`, found {} field(s)",
                tokens.len()
            )));
        };
        let number = |token: &str| {
            token
                .parse::<u64>()
                .map_err(|_| error(format!("{token:?} is not a non-negative integer")))
        };
        let (lower, upper) = (number(lower)?, number(upper)?);
        if lower > upper {
            return Err(error(format!(
                "lower bound {lower} exceeds upper bound {upper}"
            )));
        }
        table.insert(name.to_owned(), KnownBounds { lower, upper });
    }
    Ok(table)
}

/// Reads and parses a bounds file.
pub fn read_bounds(path: &Path) -> Result<BoundsTable, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        path: path.to_owned(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    parse_bounds(path, &text)
}
