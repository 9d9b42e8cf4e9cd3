//! Fractional positions: byte strings in lexicographic order with room between any two, the
//! sort keys of [`crate::FracArray`].
//!
//! # Encoding
//!
//! A position generated here is a sequence of *levels*, each a signed integer in a
//! self-delimiting, order-preserving encoding, so comparing the bytes compares the level
//! sequences lexicographically (a proper prefix sorts first):
//!
//! | head byte      | level value                   | bytes |
//! |----------------|-------------------------------|-------|
//! | `0x09..=0xF7`  | `head - 0x80`, so −119..=119  | 1     |
//! | `0xF8..=0xFF`  | above 119, with 1..=8 digits  | 2..=9 |
//! | `0x01..=0x08`  | below −119, with 8..=1 digits | 9..=2 |
//!
//! Digits are base 255, stored as `digit + 1`, so a generated position never holds a `0x00`
//! byte: in particular it never ends in one, and a position ending in `0x00` (below which
//! nothing else with its prefix fits) is rejected by [`Position::validate`].
//!
//! # Allocation
//!
//! * At an unbounded end (append after `lo`, prepend before `hi`) the first level moves by a
//!   small random step. The head grows the integer's length, so `n` appends cost
//!   O(log n) bytes rather than O(n).
//! * Between two bounds, at the first level where they differ: if a whole integer fits
//!   between them, take one near one bound (LSEQ "boundary" allocation: near the lower bound
//!   at even depths, near the upper one at odd depths, at most 16 away). If the two
//!   integers are adjacent, descend one level below one of the bounds and step away from it
//!   there, which is again an unbounded end. Typing forwards or backwards from one spot
//!   therefore also grows logarithmically (see docs/PERFORMANCE.md for measurements).
//! * Every position ends with one random *jitter* level (−64..=63), so two replicas that
//!   allocate at the same spot concurrently rarely produce the same bytes; when they do, the
//!   array breaks the tie by element id.
//!
//! A valid position need not be made of levels (another implementation may have written it,
//! or a level may have run out of range): for such bounds the allocator falls back to a plain
//! byte-string rule that is always correct, only longer.

use crate::error::{Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest position accepted, in bytes. Common insert patterns stay far below it (a few
/// tens of bytes after tens of thousands of inserts); only deliberately nested inserts (each
/// new element placed between the two previous ones) approach it, and then
/// [`Position::between`] returns [`Error::NoPosition`] instead of growing further.
pub const MAX_POSITION_LEN: usize = 1024;

/// The widest distance from a bound at which an allocation inside a bounded gap lands; the
/// random choice within it is the jitter of that level.
const BOUNDARY: i128 = 16;

/// The largest step away from a bound at an unbounded end.
const STEP: i128 = 8;

/// Lowest head of a multi-byte negative level (8 digits); heads up to `NEG_HEAD_MAX` have
/// 8 down to 1 digits.
const NEG_HEAD_MAX: u8 = 0x08;
/// Lowest head of a multi-byte positive level (1 digit); heads up to 0xFF have 1..=8 digits.
const POS_HEAD_MIN: u8 = 0xF8;
/// Bias of one-byte levels: value = head − bias.
const SMALL_BIAS: i128 = 0x80;
/// Largest one-byte level.
const SMALL_MAX: i128 = POS_HEAD_MIN as i128 - 1 - SMALL_BIAS;
/// Smallest one-byte level.
const SMALL_MIN: i128 = NEG_HEAD_MAX as i128 + 1 - SMALL_BIAS;
/// Most digits in one level.
const MAX_DIGITS: u32 = 8;
/// Digits are base 255 (byte = digit + 1, never 0).
const BASE: i128 = 255;
/// Range of the jitter level appended to every generated position.
const JITTER: std::ops::RangeInclusive<i128> = -64..=63;

/// A fractional position: a non-empty byte string, ordered lexicographically, that never
/// ends in `0x00`, so another position fits between any two different ones.
///
/// Build positions with [`Position::between`] (or [`Position::from_bytes`] for stored ones);
/// decoding through serde validates, so a `Position` is always valid.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<u8>", into = "Vec<u8>")]
pub struct Position(Vec<u8>);

impl Position {
    /// A position strictly between `lo` and `hi`; `None` stands for the start (respectively
    /// the end) of the order, so `between(None, None, ..)` is a first position.
    ///
    /// The result depends only on the bounds and on the values drawn from `rng`, so the same
    /// seed gives the same position. Errors with [`Error::NoPosition`] (and never panics) when
    /// `lo >= hi`, or when the result would be longer than [`MAX_POSITION_LEN`].
    pub fn between(
        lo: Option<&Position>,
        hi: Option<&Position>,
        rng: &mut impl Rng,
    ) -> Result<Position> {
        if let (Some(l), Some(h)) = (lo, hi) {
            if l >= h {
                return Err(Error::NoPosition(format!(
                    "lower bound {l} is not below upper bound {h}"
                )));
            }
        }
        let parse = |p: Option<&Position>| match p {
            None => Some(None),
            Some(p) => decode_levels(&p.0).map(Some),
        };
        let structured = match (parse(lo), parse(hi)) {
            (Some(l), Some(h)) => between_levels(l.as_deref(), h.as_deref(), rng)
                .and_then(|levels| encode_levels(&levels)),
            _ => None,
        };
        let bytes = match structured {
            Some(bytes) => bytes,
            None => between_bytes(lo.map(|p| &p.0[..]), hi.map(|p| &p.0[..]), rng)?,
        };
        if bytes.len() > MAX_POSITION_LEN {
            return Err(Error::NoPosition(format!(
                "a position between these bounds needs {} bytes, over the limit of {}",
                bytes.len(),
                MAX_POSITION_LEN
            )));
        }
        Ok(Position(bytes))
    }

    /// A position from stored bytes, validated.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Position> {
        let p = Position(bytes);
        p.validate()?;
        Ok(p)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Checks the invariants: non-empty, no trailing `0x00`, at most [`MAX_POSITION_LEN`]
    /// bytes.
    pub fn validate(&self) -> Result<()> {
        let why = match self.0.last() {
            None => "empty",
            Some(0) => "ends in 0x00",
            Some(_) if self.0.len() > MAX_POSITION_LEN => "too long",
            Some(_) => return Ok(()),
        };
        Err(Error::Invalid {
            what: "position",
            why: format!("{why} ({} bytes)", self.0.len()),
        })
    }
}

impl TryFrom<Vec<u8>> for Position {
    type Error = Error;

    fn try_from(bytes: Vec<u8>) -> Result<Self> {
        Position::from_bytes(bytes)
    }
}

impl From<Position> for Vec<u8> {
    fn from(p: Position) -> Self {
        p.0
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Position({self})")
    }
}

/// 255^n.
fn span(n: u32) -> i128 {
    BASE.pow(n)
}

/// The smallest value of a positive level with `n` digits.
fn pos_start(n: u32) -> i128 {
    (1..n).fold(SMALL_MAX + 1, |start, k| start + span(k))
}

/// The largest value of a negative level with `n` digits.
fn neg_top(n: u32) -> i128 {
    (1..n).fold(SMALL_MIN - 1, |top, k| top - span(k))
}

/// Largest level value that has an encoding.
fn max_level() -> i128 {
    pos_start(MAX_DIGITS) + span(MAX_DIGITS) - 1
}

/// Smallest level value that has an encoding.
fn min_level() -> i128 {
    neg_top(MAX_DIGITS) - span(MAX_DIGITS) + 1
}

fn push_digits(out: &mut Vec<u8>, offset: i128, n: u32) {
    for k in (0..n).rev() {
        let digit = (offset / span(k)) % BASE;
        // A base-255 digit plus one is in 1..=255.
        out.push(u8::try_from(digit + 1).unwrap_or(u8::MAX));
    }
}

/// Appends the encoding of one level; false when `v` is out of range.
fn encode_level(v: i128, out: &mut Vec<u8>) -> bool {
    if (SMALL_MIN..=SMALL_MAX).contains(&v) {
        // In range, so the byte is in 0x09..=0xF7.
        out.push(u8::try_from(v + SMALL_BIAS).unwrap_or(0x80));
        return true;
    }
    for n in 1..=MAX_DIGITS {
        let nb = u8::try_from(n).unwrap_or(1);
        if v > SMALL_MAX {
            let start = pos_start(n);
            if v < start + span(n) {
                out.push(POS_HEAD_MIN - 1 + nb);
                push_digits(out, v - start, n);
                return true;
            }
        } else {
            let low = neg_top(n) - span(n) + 1;
            if v >= low {
                out.push(NEG_HEAD_MAX + 1 - nb);
                push_digits(out, v - low, n);
                return true;
            }
        }
    }
    false
}

fn encode_levels(levels: &[i128]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(levels.len() * 2);
    levels
        .iter()
        .all(|&v| encode_level(v, &mut out))
        .then_some(out)
}

/// Decodes a byte string into levels; `None` when it is not a well-formed level sequence.
fn decode_levels(bytes: &[u8]) -> Option<Vec<i128>> {
    let mut levels = Vec::with_capacity(bytes.len() / 2 + 1);
    let mut rest = bytes;
    while let Some((&head, tail)) = rest.split_first() {
        let (n, base) = match head {
            0 => return None,
            h if h <= NEG_HEAD_MAX => {
                let n = u32::from(NEG_HEAD_MAX + 1 - h);
                (n, neg_top(n) - span(n) + 1)
            }
            h if h >= POS_HEAD_MIN => {
                let n = u32::from(h - POS_HEAD_MIN + 1);
                (n, pos_start(n))
            }
            h => {
                levels.push(i128::from(h) - SMALL_BIAS);
                rest = tail;
                continue;
            }
        };
        let len = usize::try_from(n).ok()?;
        let digits = tail.get(..len)?;
        let mut offset = 0i128;
        for &d in digits {
            if d == 0 {
                return None;
            }
            offset = offset * BASE + i128::from(d - 1);
        }
        levels.push(base + offset);
        rest = &tail[len..];
    }
    Some(levels)
}

/// A random jitter level.
fn jitter(rng: &mut impl Rng) -> i128 {
    rng.random_range(JITTER)
}

/// A random step in 1..=max.
fn step(max: i128, rng: &mut impl Rng) -> i128 {
    rng.random_range(1..=max.max(1))
}

/// `v + d` when it stays encodable.
fn shifted(v: i128, d: i128) -> Option<i128> {
    let w = v + d;
    (min_level()..=max_level()).contains(&w).then_some(w)
}

/// Level sequence strictly between `lo` and `hi` (which are non-empty and ordered), or `None`
/// when the integers run out of range (the caller then uses the byte rule).
fn between_levels(
    lo: Option<&[i128]>,
    hi: Option<&[i128]>,
    rng: &mut impl Rng,
) -> Option<Vec<i128>> {
    let mut out = match (lo, hi) {
        (None, None) => vec![jitter(rng)],
        (Some(lo), None) => after(lo, 0, rng),
        (None, Some(hi)) => vec![shifted(*hi.first()?, -step(STEP, rng))?],
        (Some(lo), Some(hi)) => {
            let k = lo.iter().zip(hi).take_while(|(a, b)| a == b).count();
            match (lo.get(k), hi.get(k)) {
                // `lo` is a proper prefix of `hi`: step down from `hi` at level k.
                (None, Some(&h)) => {
                    let mut out = hi[..k].to_vec();
                    out.push(shifted(h, -step(STEP, rng))?);
                    out
                }
                (Some(&l), Some(&h)) if h - l >= 2 => {
                    let d = step((h - l - 1).min(BOUNDARY), rng);
                    let mut out = lo[..k].to_vec();
                    out.push(if k % 2 == 0 { l + d } else { h - d });
                    out
                }
                (Some(_), Some(_)) => {
                    // Adjacent integers at level k: descend below one bound.
                    let below_hi = (k % 2 == 1)
                        .then(|| hi.get(k + 1))
                        .flatten()
                        .and_then(|&h| shifted(h, -step(STEP, rng)));
                    match below_hi {
                        Some(v) => {
                            let mut out = hi[..=k].to_vec();
                            out.push(v);
                            out
                        }
                        None => after(lo, k + 1, rng),
                    }
                }
                // `lo >= hi`: ruled out by the caller.
                (_, None) => return None,
            }
        }
    };
    out.push(jitter(rng));
    Some(out)
}

/// Levels above `lo` that keep `lo[..k]` and step up at level `k` (or extend `lo` when it has
/// no level `k`, or when the step would overflow).
fn after(lo: &[i128], k: usize, rng: &mut impl Rng) -> Vec<i128> {
    match lo.get(k).and_then(|&l| shifted(l, step(STEP, rng))) {
        Some(v) => {
            let mut out = lo[..k].to_vec();
            out.push(v);
            out
        }
        None => {
            let mut out = lo.to_vec();
            out.push(jitter(rng));
            out
        }
    }
}

/// The plain byte-string rule, correct for any valid bounds: extend `lo`, or go below the
/// part of `hi` that extends `lo`.
fn between_bytes(lo: Option<&[u8]>, hi: Option<&[u8]>, rng: &mut impl Rng) -> Result<Vec<u8>> {
    let tail: u8 = rng.random_range(1..=u8::MAX);
    match (lo, hi) {
        (None, None) => Ok(vec![tail]),
        (Some(lo), None) => Ok([lo, &[tail]].concat()),
        (None, Some(hi)) => below(hi, rng),
        (Some(lo), Some(hi)) => match hi.strip_prefix(lo) {
            Some(rest) => Ok([lo, &below(rest, rng)?].concat()),
            None => Ok([lo, &[tail]].concat()),
        },
    }
}

/// A non-empty byte string below `t` that does not end in `0x00`.
fn below(t: &[u8], rng: &mut impl Rng) -> Result<Vec<u8>> {
    let Some(i) = t.iter().position(|&b| b != 0) else {
        return Err(Error::NoPosition(
            "nothing fits below an upper bound made of zero bytes".into(),
        ));
    };
    let mut out = t[..i].to_vec();
    match t[i] {
        1 => out.extend_from_slice(&[0, 0x80]),
        b => out.push(rng.random_range(1..b)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_encoding_round_trips_and_preserves_order() {
        let mut samples = vec![min_level(), max_level(), 0, SMALL_MIN, SMALL_MAX];
        for n in 1..=MAX_DIGITS {
            for v in [pos_start(n), neg_top(n)] {
                samples.extend([v - 1, v, v + 1]);
            }
        }
        samples.retain(|v| (min_level()..=max_level()).contains(v));
        samples.sort_unstable();
        samples.dedup();
        let encoded: Vec<Vec<u8>> = samples
            .iter()
            .map(|&v| encode_levels(&[v]).unwrap_or_default())
            .collect();
        for (v, e) in samples.iter().zip(&encoded) {
            assert!(!e.contains(&0), "{v} encodes with a zero byte");
            assert_eq!(decode_levels(e), Some(vec![*v]));
        }
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
        assert!(encode_levels(&[max_level() + 1]).is_none());
        assert!(encode_levels(&[min_level() - 1]).is_none());
    }

    #[test]
    fn malformed_levels_do_not_decode() {
        assert_eq!(decode_levels(&[0x80, 0]), None);
        assert_eq!(decode_levels(&[0xF9, 5]), None);
        assert_eq!(decode_levels(&[0x01]), None);
    }
}
