//! Instance files: BPPLIB one-dimensional files and VPSolver `.vbp` vector files.
//!
//! BPPLIB: line 1 the item count n, line 2 the capacity, then n lines with one integer weight.
//! `.vbp`: line 1 the number of dimensions d, line 2 the d capacities, line 3 the number of
//! item types m, then m lines of d weights followed by a demand count. Both accept LF or CRLF
//! line endings and trailing blank lines. Every error names the file and the line.

use std::fmt;
use std::path::{Path, PathBuf};

use horao_sched::vector::{VectorInstance, VectorItem};

/// What went wrong with one input file: the file, the 1-based line if any, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// The contents of an instance file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A one-dimensional instance.
    OneD {
        /// Bin capacity.
        capacity: u64,
        /// Item weights in file order.
        items: Vec<u64>,
    },
    /// A vector instance.
    Vector(VectorInstance),
}

/// A parsed instance file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The file name without extension (the key of the bounds file).
    pub name: String,
    /// The instance class for summaries (see [`crate::class::class_of`]).
    pub class: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// What to pack.
    pub problem: Problem,
}

impl Instance {
    /// Total number of items (vector item types count once per copy).
    pub fn item_count(&self) -> u64 {
        match &self.problem {
            Problem::OneD { items, .. } => items.len() as u64,
            Problem::Vector(v) => v.item_count(),
        }
    }
}

/// The file name without its extension.
pub fn instance_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// True when the file is a VPSolver `.vbp` file (by extension).
pub fn is_vbp(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vbp"))
}

/// Non-blank lines with their 1-based line numbers (CR stripped).
fn lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split_whitespace().collect::<Vec<_>>()))
        .filter(|(_, tokens)| !tokens.is_empty())
}

/// Parses `path`'s already-read `text`, choosing the format by extension.
pub fn parse(path: &Path, text: &str) -> Result<Instance, InputError> {
    let problem = if is_vbp(path) {
        parse_vbp(path, text)?
    } else {
        parse_bpplib(path, text)?
    };
    Ok(Instance {
        name: instance_name(path),
        class: crate::class::class_of(path),
        path: path.to_owned(),
        problem,
    })
}

/// Reads and parses one file.
pub fn read(path: &Path) -> Result<Instance, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        path: path.to_owned(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(path, &text)
}

struct Reader<'a> {
    path: &'a Path,
    lines: Vec<(usize, Vec<&'a str>)>,
    next: usize,
    last_line: usize,
}

impl<'a> Reader<'a> {
    fn new(path: &'a Path, text: &'a str) -> Self {
        Self {
            path,
            lines: lines(text).collect(),
            next: 0,
            last_line: text.lines().count(),
        }
    }

    fn error(&self, line: Option<usize>, message: String) -> InputError {
        InputError {
            path: self.path.to_owned(),
            line,
            message,
        }
    }

    /// The next non-blank line with exactly `count` integers (`count == 0`: any positive count).
    fn numbers(&mut self, what: &str, count: usize) -> Result<(usize, Vec<u64>), InputError> {
        let Some((line, tokens)) = self.lines.get(self.next) else {
            let line = Some(self.last_line.max(1));
            return Err(self.error(line, format!("file ends where {what} was expected")));
        };
        let (line, tokens) = (*line, tokens.clone());
        self.next += 1;
        if count > 0 && tokens.len() != count {
            let message = format!(
                "expected {count} number(s) for {what}, found {}",
                tokens.len()
            );
            return Err(self.error(Some(line), message));
        }
        let mut values = Vec::with_capacity(tokens.len());
        for token in tokens {
            let value = token.parse::<u64>().map_err(|_| {
                self.error(
                    Some(line),
                    format!("{what}: {token:?} is not a non-negative integer"),
                )
            })?;
            values.push(value);
        }
        Ok((line, values))
    }

    fn number(&mut self, what: &str) -> Result<(usize, u64), InputError> {
        let (line, values) = self.numbers(what, 1)?;
        Ok((line, values[0]))
    }

    fn expect_end(&self, expected: String) -> Result<(), InputError> {
        match self.lines.get(self.next) {
            Some((line, _)) => Err(self.error(
                Some(*line),
                format!("unexpected extra data: the header announced {expected}"),
            )),
            None => Ok(()),
        }
    }
}

fn to_usize(value: u64, line: usize, reader: &Reader<'_>) -> Result<usize, InputError> {
    usize::try_from(value).map_err(|_| reader.error(Some(line), format!("count {value} too large")))
}

/// Parses a BPPLIB one-dimensional instance.
pub fn parse_bpplib(path: &Path, text: &str) -> Result<Problem, InputError> {
    let mut reader = Reader::new(path, text);
    let (n_line, n) = reader.number("the item count")?;
    let n = to_usize(n, n_line, &reader)?;
    let (c_line, capacity) = reader.number("the capacity")?;
    if capacity == 0 {
        return Err(reader.error(Some(c_line), "the capacity must be positive".into()));
    }
    let mut items = Vec::with_capacity(n.min(1 << 24));
    for k in 0..n {
        let what = format!("weight {} of {n}", k + 1);
        let (line, weight) = reader.number(&what).map_err(|mut e| {
            if e.message.starts_with("file ends") {
                e.message = format!("n = {n} (line {n_line}) but only {k} weights follow");
            }
            e
        })?;
        if weight > capacity {
            let message = format!("weight {weight} is larger than the capacity {capacity}");
            return Err(reader.error(Some(line), message));
        }
        items.push(weight);
    }
    reader.expect_end(format!("n = {n} weights on line {n_line}"))?;
    Ok(Problem::OneD { capacity, items })
}

/// Parses a VPSolver `.vbp` vector instance.
pub fn parse_vbp(path: &Path, text: &str) -> Result<Problem, InputError> {
    let mut reader = Reader::new(path, text);
    let (d_line, d) = reader.number("the number of dimensions")?;
    let d = to_usize(d, d_line, &reader)?;
    if d == 0 {
        return Err(reader.error(
            Some(d_line),
            "the number of dimensions must be positive".into(),
        ));
    }
    let (_, capacity) = reader.numbers("the bin capacities", d)?;
    let (m_line, m) = reader.number("the number of item types")?;
    let m = to_usize(m, m_line, &reader)?;
    let mut items = Vec::with_capacity(m.min(1 << 20));
    for k in 0..m {
        let what = format!("item type {} of {m} (d weights and a demand)", k + 1);
        let (line, mut values) = reader.numbers(&what, d + 1)?;
        let count = values.pop().unwrap_or(0);
        if let Some(dim) = (0..d).find(|&j| values[j] > capacity[j]) {
            let message = format!(
                "weight {} in dimension {} is larger than the capacity {}",
                values[dim],
                dim + 1,
                capacity[dim]
            );
            return Err(reader.error(Some(line), message));
        }
        items.push(VectorItem {
            size: values,
            count,
        });
    }
    reader.expect_end(format!("m = {m} item types on line {m_line}"))?;
    Ok(Problem::Vector(VectorInstance { capacity, items }))
}

/// Expands `paths` into instance files: files as given, directories recursively (files with
/// the extensions `txt`, `bpp` or `vbp`), in sorted order. Unreadable paths become errors.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut errors);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            errors.push(InputError {
                path: path.clone(),
                line: None,
                message: "no such file or directory".into(),
            });
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(InputError {
                path: dir.to_owned(),
                line: None,
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files, errors);
        } else if path.extension().is_some_and(|e| {
            let e = e.to_string_lossy().to_ascii_lowercase();
            e == "txt" || e == "bpp" || e == "vbp"
        }) {
            files.push(path);
        }
    }
}
