//! Parsers for btrfs-progs output. Columns are found by their header names, never by
//! position, because the layout changed in btrfs-progs 6.0 (`rfer` became `Referenced`, a
//! `Path` column appeared). Golden outputs of both layouts live in `testdata/`.

use super::Qgroup;
use crate::error::{Error, Result};

/// One line of `btrfs subvolume list -a`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubvolumeRow {
    /// Subvolume id.
    pub id: u64,
    /// The id of the subvolume containing it (`top level`).
    pub parent_id: u64,
    /// Path from the filesystem's top level (the `<FS_TREE>/` marker removed).
    pub path: String,
}

/// One level-0 row of `btrfs qgroup show --raw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QgroupRow {
    /// The subvolume id (the `<id>` of `0/<id>`).
    pub id: u64,
    /// The figures.
    pub qgroup: Qgroup,
}

fn number(what: &str, text: &str) -> Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| Error::parse(what, format!("{text:?} is not a number")))
}

/// Parses `btrfs subvolume list -a <path>`: lines `ID <id> gen <gen> top level <parent> path
/// <path>`. Lines of another shape are skipped (a path with a newline in it would otherwise
/// make one), so the result is only ever the well-formed rows.
pub fn parse_subvolume_list(stdout: &str) -> Result<Vec<SubvolumeRow>> {
    let mut rows = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("ID ") else {
            continue;
        };
        let Some((id, rest)) = rest.split_once(" gen ") else {
            continue;
        };
        let Some((_generation, rest)) = rest.split_once(" top level ") else {
            continue;
        };
        let Some((parent, path)) = rest.split_once(" path ") else {
            continue;
        };
        let id = number("subvolume id", id)?;
        let path = path.strip_prefix("<FS_TREE>/").unwrap_or(path);
        rows.push(SubvolumeRow {
            id,
            parent_id: number("subvolume top level", parent)?,
            path: path.to_string(),
        });
    }
    Ok(rows)
}

/// The columns of `btrfs qgroup show` the agent reads, by their names in both layouts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Referenced,
    Exclusive,
    MaxReferenced,
    MaxExclusive,
}

fn column(header: &str) -> Option<Column> {
    match header.to_ascii_lowercase().as_str() {
        "qgroupid" => Some(Column::Id),
        "rfer" | "referenced" => Some(Column::Referenced),
        "excl" | "exclusive" => Some(Column::Exclusive),
        "max_rfer" | "max referenced" => Some(Column::MaxReferenced),
        "max_excl" | "max exclusive" => Some(Column::MaxExclusive),
        _ => None,
    }
}

/// The byte ranges of the runs of `-` in the separator line under the header: one per column.
fn dash_runs(line: &str) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, b) in line.bytes().chain(std::iter::once(b' ')).enumerate() {
        match (b == b'-', start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    runs
}

fn limit(text: &str) -> Result<Option<u64>> {
    if text == "none" {
        Ok(None)
    } else {
        number("qgroup limit", text).map(Some)
    }
}

/// Parses `btrfs qgroup show --raw [-re]` in the pre-6.0 layout (`qgroupid rfer excl
/// max_rfer max_excl`) or the 6.x one (`Qgroupid Referenced Exclusive Max referenced Max
/// exclusive Path`). The separator line of dashes gives each column's extent, the header text
/// above it its name; data cells are the whitespace-separated fields in column order (only
/// the last column, the path, may hold spaces). Returns the level-0 qgroups.
pub fn parse_qgroup_show(stdout: &str) -> Result<Vec<QgroupRow>> {
    let lines: Vec<&str> = stdout.lines().collect();
    let Some(sep) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("---"))
        .filter(|&i| i > 0)
    else {
        return Err(Error::parse("qgroup show", "no header"));
    };
    let header = lines[sep - 1];
    let columns: Vec<Option<Column>> = dash_runs(lines[sep])
        .into_iter()
        .map(|(s, e)| column(header.get(s..e.min(header.len())).unwrap_or("").trim()))
        .collect();
    let index = |c: Column| {
        columns
            .iter()
            .position(|&x| x == Some(c))
            .ok_or_else(|| Error::parse("qgroup show", "missing a column"))
    };
    let (id, rfer, excl, max_rfer, max_excl) = (
        index(Column::Id)?,
        index(Column::Referenced)?,
        index(Column::Exclusive)?,
        index(Column::MaxReferenced)?,
        index(Column::MaxExclusive)?,
    );
    let mut rows = Vec::new();
    for line in &lines[sep + 1..] {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let Some(qgroupid) = cells.get(id) else {
            continue;
        };
        let Some(subvol) = qgroupid.strip_prefix("0/") else {
            continue;
        };
        let cell = |i: usize| {
            cells
                .get(i)
                .copied()
                .ok_or_else(|| Error::parse("qgroup show", format!("short row {line:?}")))
        };
        rows.push(QgroupRow {
            id: number("qgroup id", subvol)?,
            qgroup: Qgroup {
                referenced: number("referenced", cell(rfer)?)?,
                exclusive: number("exclusive", cell(excl)?)?,
                max_referenced: limit(cell(max_rfer)?)?,
                max_exclusive: limit(cell(max_excl)?)?,
            },
        });
    }
    Ok(rows)
}

/// Parses `btrfs filesystem usage -b`: capacity is the device size divided by the data
/// ratio, free the estimated free space.
pub fn parse_usage(stdout: &str) -> Result<super::Usage> {
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(key)?.split_whitespace().next())
            .ok_or_else(|| Error::parse("filesystem usage", format!("no {key}")))
    };
    let size = number("device size", field("Device size:")?)?;
    let free = number("free space", field("Free (estimated):")?)?;
    let ratio = ratio_hundredths(field("Data ratio:")?)?;
    let capacity = u64::try_from(u128::from(size) * 100 / u128::from(ratio.max(1)))
        .map_err(|_| Error::parse("filesystem usage", "capacity overflows"))?;
    Ok(super::Usage {
        capacity_bytes: capacity,
        used_bytes: capacity.saturating_sub(free),
        free_bytes: free,
    })
}

/// `"2.00"` → 200, in integer arithmetic.
fn ratio_hundredths(text: &str) -> Result<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    Ok(number("data ratio", int)? * 100 + number("data ratio", &frac)?)
}

/// The `uuid:` of `btrfs filesystem show <path>`.
pub fn parse_fsid(stdout: &str) -> Result<String> {
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "uuid:")
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| Error::parse("filesystem show", "no uuid"))
}

/// Whether `btrfs quota rescan -s` reports a running rescan.
pub fn parse_rescan_running(stdout: &str) -> Result<bool> {
    if stdout.contains("no rescan operation in progress") {
        Ok(false)
    } else if stdout.contains("rescan operation running") {
        Ok(true)
    } else {
        Err(Error::parse(
            "quota rescan status",
            stdout.trim().to_string(),
        ))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
